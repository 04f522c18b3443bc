"""Sixty-two feeds, too many for the functions' environment: the deployed functions read them from S3."""

from __future__ import annotations

from tests.emulator.conftest import assert_nothing_lost, demo, explain

DEV_FEEDS = [
    {"name": "orders", "match": "orders_*", "mergeKeys": ["order_id"],
     "schema": ["order_id:string", "customer_id:string", "amount:double", "order_ts:timestamp"]},
    {"name": "customers", "match": "customers_*", "mergeKeys": ["customer_id"],
     "schema": ["customer_id:string", "name:string", "country:string", "updated_at:timestamp"]},
]
FILLER = [{"name": f"feed_{n:03d}", "match": f"feed{n:03d}_*", "schema": ["id:string"]} for n in range(60)]


def test_functions_take_their_feeds_from_the_document_and_apply_them() -> None:
    result = demo(overrides={"feeds": DEV_FEEDS + FILLER})
    assert_nothing_lost(result)
    assert result.report["summary"]["succeeded"] == 6, explain(result)
    tables = {t["table"]: t for t in result.report["tables"]}
    assert len(tables) == 64
    # the completion function registered each group's partition: it knew the runs' feeds, which only the
    # document in S3 told it (its environment has no LANDING_FEEDS)
    assert {p["value"] for p in tables["orders"]["partitions"]} == {"orders_20250915", "orders_20250916"}
    assert {p["value"] for p in tables["customers"]["partitions"]} == {"customers_20250915"}
