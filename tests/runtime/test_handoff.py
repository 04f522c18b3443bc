"""The Glue-slot handoff: a file refused for want of a slot sleeps, and the run that frees a slot wakes it.

Glue's MaxConcurrentRuns is played by ``GlueFaults.slots`` (a run's slot frees when it ends); visibility
timeouts follow the handlers' fake clock through ``Pipeline.tick``, so a message whose fallback ran out
comes back exactly as it would in SQS.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from landing_pipeline.runtime.ledger import WAIT_INDEX, WAIT_POOL, FileRecord, Status
from landing_pipeline.runtime.queues import waiting_visibility_s
from tests.runtime.conftest import JOB, REGION, Pipeline, metric_total

A1, A2 = "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"
B1 = "landing/customers_20250915_101500.csv"
C1 = "landing/invoices_20250915_101500.csv"


def _land_all(pipeline: Pipeline, *keys: str) -> list[str]:
    pipeline.route(*[pipeline.land(key) for key in keys])
    return [pipeline.file_id_of(key) for key in keys]


def _key_of(result: tuple[dict[str, Any], dict[str, Any]] | None) -> str | None:
    return None if result is None else str(json.loads(result[1]["Body"])["key"])


def _record(pipeline: Pipeline, file_id: str) -> FileRecord:
    record = pipeline.ctx.ledger.get(file_id)
    assert record is not None
    return record


def _run_of(pipeline: Pipeline, file_id: str) -> str:
    run_id = _record(pipeline, file_id).current_run_id
    assert run_id
    return run_id


def _waiting_in_index(pipeline: Pipeline) -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName="ledger", IndexName=WAIT_INDEX, KeyConditionExpression="wait_pool = :p",
        ExpressionAttributeValues={":p": {"S": WAIT_POOL}})["Items"]
    return [item["file_id"]["S"] for item in items]


def _wait_in_line(pipeline: Pipeline, *keys: str) -> list[str]:
    """Land A1 and ``keys`` (other groups); A1 takes the one slot, each of ``keys`` is refused and waits,
    a minute apart. Returns the file ids, A1 first."""
    ids = _land_all(pipeline, A1, *keys)
    assert _key_of(pipeline.dispatch_next()) == A1
    for key in keys:
        pipeline.clock.advance(60)
        assert _key_of(pipeline.dispatch_next()) == key
    return ids


def test_a_start_refused_for_want_of_a_slot_waits_without_an_attempt(one_slot: Pipeline) -> None:
    _, b1 = _land_all(one_slot, A1, B1)
    one_slot.dispatch_next()

    result = one_slot.dispatch_next()

    assert result is not None and _key_of(result) == B1
    handle = result[1]["ReceiptHandle"]
    assert [f["itemIdentifier"] for f in result[0]["batchItemFailures"]] == [result[1]["MessageId"]]  # in flight
    record = _record(one_slot, b1)
    assert record.status == Status.RECEIVED and record.attempts == 0 and record.run_ids == ()
    assert record.wait_pool == WAIT_POOL and record.wait_handle == handle and record.waiting_since
    assert record.waiting_since.split("#")[1] == b1[:8]
    fallback = waiting_visibility_s(one_slot.ctx.spec)
    assert fallback == one_slot.ctx.spec.hold_visibility_s
    assert one_slot.sqs_faults.visibility[-1] == (handle, fallback)
    assert _waiting_in_index(one_slot) == [b1]
    assert len(one_slot.glue.starts) == 1 and metric_total("StartsThrottled") == 1
    assert one_slot.dispatch_next() is None  # asleep: no retry loop burning receives


@pytest.mark.parametrize("code", ["ConcurrentRunsExceededException", "ResourceNumberLimitExceededException"])
def test_every_no_free_slot_refusal_waits_for_the_handoff(pipeline: Pipeline, code: str) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.glue.refuse_next = [code]
    pipeline.dispatch_next()
    assert _record(pipeline, a1).wait_pool == WAIT_POOL


def test_a_request_rate_throttle_retries_on_the_short_backoff_and_does_not_wait(pipeline: Pipeline) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.glue.refuse_next = ["ThrottlingException"]

    result = pipeline.dispatch_next()

    assert result is not None
    record = _record(pipeline, a1)
    assert record.wait_pool is None and record.waiting_since is None and record.attempts == 0
    [(handle, seconds)] = pipeline.sqs_faults.visibility
    assert handle == result[1]["ReceiptHandle"] and 15 <= seconds <= 30  # throttleBackoffS=30, jittered
    assert _waiting_in_index(pipeline) == []


def test_a_waiter_refused_again_keeps_its_place_in_line(one_slot: Pipeline) -> None:
    _, b1, c1 = _wait_in_line(one_slot, B1, C1)
    first = _record(one_slot, b1)

    one_slot.tick(waiting_visibility_s(one_slot.ctx.spec))  # the fallback ends; the slot is still taken
    again = [one_slot.dispatch_next() for _ in range(3)]  # A1's hold ended too: it is re-held

    assert sorted(_key_of(r) or "" for r in again) == sorted([A1, B1, C1])
    record = _record(one_slot, b1)
    assert record.waiting_since == first.waiting_since  # not moved behind C1, which waited less
    assert record.wait_handle != first.wait_handle and record.wait_pool == WAIT_POOL
    assert record.attempts == 0
    assert _waiting_in_index(one_slot) == [b1, c1]


def test_a_run_that_ends_wakes_exactly_the_oldest_waiter(one_slot: Pipeline) -> None:
    a1, b1, c1 = _wait_in_line(one_slot, B1, C1)
    one_slot.tick(300)

    assert one_slot.complete(_run_of(one_slot, a1)) == {"batchItemFailures": []}

    assert metric_total("WaitersWoken") == 1
    woken = _record(one_slot, b1)
    assert woken.wait_handle is None and woken.wait_pool is None and woken.waiting_since  # out of line, place kept
    assert _waiting_in_index(one_slot) == [c1]
    [visible] = one_slot.receive()  # at once, not after a backoff
    assert json.loads(visible["Body"])["file_id"] == b1
    assert one_slot.receive() == []  # C1 sleeps on: one slot freed, one waiter woken


def test_a_woken_waiter_that_starts_leaves_no_wait_attributes(one_slot: Pipeline) -> None:
    a1, b1, _ = _wait_in_line(one_slot, B1, C1)
    one_slot.complete(_run_of(one_slot, a1))

    assert _key_of(one_slot.dispatch_next()) == B1

    record = _record(one_slot, b1)
    assert record.status == Status.RUNNING and record.attempts == 1
    item = boto3.client("dynamodb", region_name=REGION).get_item(TableName="ledger",
                                                                 Key={"pk": {"S": f"file#{b1}"}})["Item"]
    assert not {"wait_pool", "waiting_since", "wait_handle"} & set(item)


def test_a_stale_waiter_is_skipped_and_the_next_one_woken(one_slot: Pipeline) -> None:
    a1, b1, c1 = _wait_in_line(one_slot, B1, C1)
    stale = _record(one_slot, b1).wait_handle
    assert stale
    one_slot.sqs_faults.stale.add(stale)  # B1's delivery is gone (say, redelivered and being handled)

    one_slot.complete(_run_of(one_slot, a1))

    [visible] = one_slot.receive()
    assert json.loads(visible["Body"])["file_id"] == c1
    skipped = _record(one_slot, b1)
    assert skipped.wait_pool is None and skipped.wait_handle is None and skipped.waiting_since  # keeps its place
    assert _waiting_in_index(one_slot) == [] and metric_total("WaitersWoken") == 1


def test_a_failed_wake_up_does_not_fail_the_completion(one_slot: Pipeline) -> None:
    a1, b1 = _wait_in_line(one_slot, B1)
    handle = _record(one_slot, b1).wait_handle
    assert handle
    one_slot.sqs_faults.refuse[handle] = "AccessDenied"

    assert one_slot.complete(_run_of(one_slot, a1)) == {"batchItemFailures": []}

    assert _record(one_slot, a1).status == Status.SUCCEEDED
    assert metric_total("WakeupsFailed") == 1 and metric_total("WaitersWoken") == 0
    assert _waiting_in_index(one_slot) == [b1]  # still in line: a later run's end or its fallback wakes it


def test_a_ledger_error_during_the_wake_up_does_not_fail_the_completion(one_slot: Pipeline,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    a1, _, _ = _land_all(one_slot, A1, A2, B1)
    one_slot.dispatch_next()

    def unavailable(*_: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, "Query")

    monkeypatch.setattr(one_slot.ctx.ledger, "waiting_files", unavailable)
    assert one_slot.complete(_run_of(one_slot, a1)) == {"batchItemFailures": []}
    assert metric_total("WakeupsFailed") == 1
    assert _key_of(one_slot.dispatch_next()) == A2  # the group was still released


def test_a_repeated_completion_event_wakes_no_second_waiter(one_slot: Pipeline) -> None:
    a1, _, c1 = _wait_in_line(one_slot, B1, C1)
    run_id = _run_of(one_slot, a1)
    one_slot.complete(run_id)

    one_slot.complete(run_id)

    assert metric_total("WaitersWoken") == 1 and _waiting_in_index(one_slot) == [c1]


def test_a_failed_run_also_frees_its_slot_for_a_waiter(one_slot: Pipeline) -> None:
    a1, b1 = _wait_in_line(one_slot, B1)

    one_slot.complete(_run_of(one_slot, a1), "FAILED", "boom")

    assert _record(one_slot, a1).status == Status.FAILED
    assert _key_of(one_slot.dispatch_next()) == B1 and _record(one_slot, b1).status == Status.RUNNING


def test_the_dispatcher_finishing_a_lost_completion_wakes_a_waiter(one_slot: Pipeline) -> None:
    a1, b1 = _wait_in_line(one_slot, B1)
    one_slot.glue.end(_run_of(one_slot, a1), "SUCCEEDED")  # its completion event is lost
    one_slot.expire_hold(a1)

    recovered = one_slot.dispatch_next()

    assert _key_of(recovered) == A1 and _record(one_slot, a1).status == Status.SUCCEEDED
    assert metric_total("WaitersWoken") == 1
    assert _key_of(one_slot.dispatch_next()) == B1 and _record(one_slot, b1).status == Status.RUNNING


def test_the_end_of_a_run_started_by_hand_wakes_a_waiter(one_slot: Pipeline) -> None:
    [b1] = _land_all(one_slot, B1)
    by_hand = one_slot.glue.start_job_run(JobName=JOB, Arguments={"--input_uri": "s3://x/y.csv"})["JobRunId"]
    one_slot.dispatch_next()
    assert _record(one_slot, b1).wait_pool == WAIT_POOL  # the hand-started run holds the only slot

    one_slot.complete(by_hand)

    assert _key_of(one_slot.dispatch_next()) == B1 and _record(one_slot, b1).status == Status.RUNNING


def test_a_retry_refused_for_want_of_a_slot_starts_when_woken_not_after_a_new_backoff(one_slot: Pipeline) -> None:
    """The refused intent must not lose the end of the failed attempt: without it every later delivery
    would wait out a fresh backoff, and the file would ride its receives into the DLQ."""
    a1, b1 = _land_all(one_slot, A1, B1)
    one_slot.dispatch_next()
    one_slot.complete(_run_of(one_slot, a1), "FAILED", "boom")  # frees the slot: B1 takes it
    assert _key_of(one_slot.dispatch_next()) == B1
    failed = _record(one_slot, a1)

    one_slot.tick(one_slot.ctx.spec.retry_backoff_s(1))  # A1's backoff ends while B1 still runs
    assert _key_of(one_slot.dispatch_next()) == A1
    refused = _record(one_slot, a1)
    assert refused.status == Status.FAILED and refused.attempts == 1 and refused.wait_pool == WAIT_POOL
    assert refused.finished_at == failed.finished_at

    one_slot.tick(5)
    one_slot.complete(_run_of(one_slot, b1))
    retried = one_slot.dispatch_next()

    assert _key_of(retried) == A1 and _record(one_slot, a1).status == Status.RUNNING
    assert [args["--attempt"] for args in one_slot.glue.starts if args["--file_id"] == a1] == ["1", "2"]
