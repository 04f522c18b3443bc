"""The router: S3 events in, one ledger record per file version and at most one wake-up per group out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.runtime.events import dedup_id
from landing_pipeline.runtime.ledger import Status
from tests.runtime.conftest import LANDING, Pipeline, metric_total


def _ordered_messages(pipeline: Pipeline) -> list[dict[str, Any]]:
    return pipeline.receive(max_messages=10)


def test_a_landed_file_is_recorded_and_enqueued_in_its_group(pipeline: Pipeline) -> None:
    body = pipeline.land("landing/orders_20250915_101500.csv")

    response = pipeline.route(body)

    assert response == {"batchItemFailures": []}
    [message] = _ordered_messages(pipeline)
    assert json.loads(message["Body"]) == {"group": "orders_20250915"}   # a wake-up names only its group
    assert message["Attributes"]["MessageGroupId"] == "orders_20250915"
    file_id = pipeline.file_id_of("landing/orders_20250915_101500.csv")
    record = pipeline.ctx.ledger.get(file_id)
    assert record is not None and record.status == Status.RECEIVED and record.attempts == 0
    assert record.group == "orders_20250915" and record.sort_key.endswith(file_id)
    assert record.bucket == LANDING and record.version_id  # the landing bucket is versioned: the version is pinned
    assert file_id == dedup_id(LANDING, record.key, record.version_id, record.etag)
    assert metric_total("FilesReceived") == 1


def test_a_repeated_event_enqueues_the_file_once(pipeline: Pipeline) -> None:
    body = pipeline.land("landing/orders_20250915_101500.csv")
    pipeline.route(body)
    pipeline.route(body)  # S3 / EventBridge deliver at least once

    assert len(_ordered_messages(pipeline)) == 1
    assert metric_total("FilesReceived") == 1


def test_a_repeated_event_after_dispatch_is_a_duplicate_not_a_second_message(pipeline: Pipeline) -> None:
    body = pipeline.land("landing/orders_20250915_101500.csv")
    pipeline.route(body)
    pipeline.dispatch_next()  # now RUNNING and held

    pipeline.route(body)  # late duplicate, outside what FIFO dedup could catch

    assert pipeline.depth(pipeline.ctx.ordered_queue_url) == 1  # only the held message
    assert metric_total("FilesDuplicate") == 1


@pytest.mark.parametrize(("key", "size", "why"), [
    ("landing/folder/", 0, "folder marker"),
    ("landing/orders_20250915_101500.csv", 0, "zero-byte"),
    ("elsewhere/orders_20250915_101500.csv", 10, "outside keyPrefix"),
    ("landing/orders_20250915_101500.xml", 10, "keySuffixes"),
])
def test_objects_the_spec_excludes_are_ignored_with_success(make_pipeline: Any, key: str, size: int,
                                                            why: str) -> None:
    pipeline = make_pipeline(key_suffixes=(".csv",))
    from landing_pipeline.runtime.events import eventbridge_object_created

    body = json.dumps(eventbridge_object_created(LANDING, key, size=size, etag="abc"))
    response = pipeline.route(body)

    assert response == {"batchItemFailures": []}
    assert _ordered_messages(pipeline) == []
    assert list(pipeline.ctx.ledger.all_files()) == []
    assert metric_total("FilesIgnored") == 1


def test_a_malformed_event_goes_to_the_intake_dlq_with_its_reason_without_failing_the_batch(
        pipeline: Pipeline) -> None:
    good = pipeline.land("landing/orders_20250915_101500.csv")
    bad = json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {"bucket": {}}})

    response = pipeline.route("not json at all", bad, good)

    assert response == {"batchItemFailures": []}  # nothing retried forever, nothing blocked
    assert len(_ordered_messages(pipeline)) == 1
    parked = pipeline.receive(pipeline.ctx.intake_dlq_url, max_messages=10)
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in parked)
    assert len(reasons) == 2
    assert "detail.object is missing" in reasons[0]
    assert "message body is not JSON" in reasons[1]
    assert {m["Body"] for m in parked} == {"not json at all", bad}  # the original body is kept
    assert metric_total("FilesRejected") == 2


def test_without_an_intake_dlq_url_a_malformed_event_is_left_to_the_queue_redrive(pipeline: Pipeline) -> None:
    pipeline.ctx.intake_dlq_url = ""
    event_response = pipeline.route("{}")
    assert [f["itemIdentifier"] for f in event_response["batchItemFailures"]] != []


def test_a_key_the_rule_rejects_goes_to_the_intake_dlq(make_pipeline: Any) -> None:
    pipeline = make_pipeline(grouping_rule="regex", grouping_pattern=r"^(?P<group>orders)_\d+",
                             grouping_fallback="reject")
    ok = pipeline.land("landing/orders_1.csv")
    odd = pipeline.land("landing/customers_1.csv")

    assert pipeline.route(ok, odd) == {"batchItemFailures": []}

    [parked] = pipeline.receive(pipeline.ctx.intake_dlq_url)
    assert "does not fit grouping rule 'regex'" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert [json.loads(m["Body"])["group"] for m in _ordered_messages(pipeline)] == ["orders"]


@pytest.mark.parametrize("key", [
    "landing/orders 2025_20250915_101500.csv",
    "landing/orders+eu_20250915_101500.csv",
    "landing/bestellungen_straße_20250915_101500.csv",
    "landing/注文_20250915_101500.csv",
])
def test_keys_with_spaces_plus_and_unicode_keep_their_exact_key(pipeline: Pipeline, key: str) -> None:
    pipeline.route(pipeline.land(key))

    [message] = _ordered_messages(pipeline)
    record = pipeline.ctx.ledger.get(pipeline.file_id_of(key))
    assert record is not None and record.key == key
    group = message["Attributes"]["MessageGroupId"]
    assert group.isascii() and " " not in group
    # the object can be read back with exactly the key the ledger holds
    pipeline.ctx.s3.head_object(Bucket=LANDING, Key=record.key, VersionId=record.version_id)


def test_an_s3_notification_with_an_encoded_key_is_decoded_once(pipeline: Pipeline) -> None:
    key = "landing/orders+eu 2025_20250915_101500.csv"
    put = pipeline.ctx.s3.put_object(Bucket=LANDING, Key=key, Body=b"a\n1\n")
    notification = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": LANDING},
        "object": {"key": "landing/orders%2Beu+2025_20250915_101500.csv", "size": 4,
                   "eTag": put["ETag"].strip('"'), "versionId": put["VersionId"]}}}]}

    pipeline.route(json.dumps(notification))

    assert len(_ordered_messages(pipeline)) == 1
    assert pipeline.ctx.ledger.get(pipeline.file_id_of(key)) is not None


def test_files_of_different_groups_go_to_different_message_groups(pipeline: Pipeline) -> None:
    keys = ["landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv",
            "landing/customers_20250915_101500.csv"]
    pipeline.route(*[pipeline.land(k) for k in keys])

    groups = [pipeline.ctx.ledger.get(pipeline.file_id_of(k)).group for k in keys]  # type: ignore[union-attr]
    assert groups == ["orders_20250915", "orders_20250915", "customers_20250915"]


def test_with_unmatched_files_reject_a_file_no_feed_matches_is_parked_with_the_reason(make_pipeline: Any) -> None:
    from landing_pipeline.runtime.feeds import Feed

    pipeline = make_pipeline(feeds=(Feed("orders", "orders_*"),), unmatched_files="reject")
    ok = pipeline.land("landing/orders_20250915_101500.csv")
    odd = pipeline.land("landing/refunds_20250915_090000.csv")

    assert pipeline.route(ok, odd) == {"batchItemFailures": []}   # the batch goes on: nothing retried

    [parked] = pipeline.receive(pipeline.ctx.intake_dlq_url)
    reason = parked["MessageAttributes"]["reason"]["StringValue"]
    assert "no feed matches 'landing/refunds_20250915_090000.csv'" in reason and "feeds: orders" in reason
    assert [json.loads(m["Body"])["group"] for m in _ordered_messages(pipeline)] == ["orders_20250915"]
    assert not pipeline.ctx.ledger.load_group("refunds_20250915").files   # nothing recorded for it


def test_with_unmatched_files_default_a_file_no_feed_matches_is_recorded_as_any_other(make_pipeline: Any) -> None:
    from landing_pipeline.runtime.feeds import Feed

    pipeline = make_pipeline(feeds=(Feed("orders", "orders_*"),))
    pipeline.route(pipeline.land("landing/refunds_20250915_090000.csv"))
    assert [json.loads(m["Body"])["group"] for m in _ordered_messages(pipeline)] == ["refunds_20250915"]
