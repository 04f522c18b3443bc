"""Feeds that match on the file name: a group's files all go to the feed of its first file; a file reaching
another feed is parked with the reason, and the group's recorded feed supplies its ``onFailure``."""

from __future__ import annotations

from typing import Any

from landing_pipeline.runtime.acting import policy
from landing_pipeline.runtime.feeds import parse_feeds
from tests.runtime.conftest import Pipeline

FEEDS, _ = parse_feeds([
    {"name": "orders_csv", "match": "orders_*.csv", "matchOn": "file_name", "onFailure": "block"},
    {"name": "orders_json", "match": "orders_*.json", "matchOn": "file_name", "format": "jsonl"},
])


def _pipeline(make_pipeline: Any) -> Pipeline:
    return make_pipeline(feeds=FEEDS, key_suffixes=(".csv", ".json"))


def test_a_file_of_another_feed_than_its_groups_first_file_is_parked_naming_both(make_pipeline: Any) -> None:
    pipeline = _pipeline(make_pipeline)
    first = pipeline.land("landing/orders_20250915_101500.csv")
    other = pipeline.land("landing/orders_20250915_103000.json", b'{"order_id": 1}\n')
    same = pipeline.land("landing/orders_20250915_110000.csv")

    assert pipeline.route(first, other, same) == {"batchItemFailures": []}

    group = pipeline.ctx.ledger.load_group("orders_20250915")
    assert len(group.files) == 2 and group.group.feed == "orders_csv"   # the .json file is not the group's
    (parked,) = pipeline.receive(pipeline.ctx.intake_dlq_url, max_messages=10)
    reason = parked["MessageAttributes"]["reason"]["StringValue"]
    assert "orders_20250915_103000.json" in reason and "'orders_json'" in reason and "'orders_csv'" in reason
    assert parked["Body"] == other   # the event is kept, to be redriven once the feeds are corrected


def test_the_groups_recorded_feed_gives_its_on_failure(make_pipeline: Any) -> None:
    pipeline = _pipeline(make_pipeline)
    pipeline.route(pipeline.land("landing/orders_20250915_101500.csv"))
    view = pipeline.ctx.ledger.load_group("orders_20250915")
    assert policy(pipeline.ctx, "orders_20250915", view.group.feed).on_failure == "block"
    assert policy(pipeline.ctx, "orders_20250915").on_failure == pipeline.ctx.spec.on_failure == "continue"
