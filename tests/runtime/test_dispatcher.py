"""The dispatcher's hold and every way a held message comes back."""

from __future__ import annotations

import json
import random
from typing import Any

from landing_pipeline.runtime.dispatcher import BLOCKED_RECHECK_S
from landing_pipeline.runtime.job_args import JobInput, job_arguments
from landing_pipeline.runtime.ledger import Status
from landing_pipeline.runtime.queues import FileMessage, throttle_backoff_s
from landing_pipeline.runtime.spec import PipelineSpec
from tests.runtime.conftest import JOB, LANDING, OUTPUT, Pipeline, metric_total

A1, A2 = "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"
B1 = "landing/customers_20250915_101500.csv"


def _land_all(pipeline: Pipeline, *keys: str) -> list[str]:
    pipeline.route(*[pipeline.land(key) for key in keys])
    return [pipeline.file_id_of(key) for key in keys]


def _key_of(result: tuple[dict[str, Any], dict[str, Any]] | None) -> str | None:
    return None if result is None else str(json.loads(result[1]["Body"])["key"])


def _held(result: tuple[dict[str, Any], dict[str, Any]] | None) -> bool:
    assert result is not None
    response, message = result
    return [f["itemIdentifier"] for f in response["batchItemFailures"]] == [message["MessageId"]]


def _glue_runs(pipeline: Pipeline) -> list[dict[str, Any]]:
    return list(pipeline.glue.get_job_runs(JobName=JOB)["JobRuns"])


def test_a_started_file_holds_its_group_while_other_groups_run(pipeline: Pipeline) -> None:
    a1, _, _ = _land_all(pipeline, A1, A2, B1)

    first = pipeline.dispatch_next()

    assert _key_of(first) == A1 and _held(first)  # reported as failed: stays in flight
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RUNNING and record.attempts == 1
    assert record.receipt_handle == first[1]["ReceiptHandle"]  # type: ignore[index]
    [run] = _glue_runs(pipeline)
    assert record.run_ids == (run["Id"],) and record.current_run_id == run["Id"]
    expected = job_arguments(pipeline.ctx.spec, JobInput(LANDING, A1, record.version_id, record.group, a1),
                             attempt=1, output_bucket=OUTPUT)
    assert {k: v for k, v in run["Arguments"].items() if k in expected} == expected
    assert pipeline.ctx.ledger.get_run(run["Id"]).file_id == a1  # type: ignore[union-attr]

    second = pipeline.dispatch_next()
    assert _key_of(second) == B1 and _held(second)  # another group runs in parallel
    assert pipeline.dispatch_next() is None  # A2 waits: its group is held by A1
    assert metric_total("FilesStarted") == 2


def test_a_duplicate_delivery_after_success_is_deleted_and_counted(pipeline: Pipeline) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.dispatch_next()
    run_id = pipeline.ctx.ledger.get(a1).current_run_id  # type: ignore[union-attr]
    pipeline.complete(run_id)  # type: ignore[arg-type]
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED
    # a second copy of the same version, enqueued after the FIFO dedup window had passed
    pipeline.sqs.send_message(QueueUrl=pipeline.ctx.ordered_queue_url, MessageBody=FileMessage.from_record(
        record).to_body(), MessageGroupId=record.group, MessageDeduplicationId=a1 + "-late")

    result = pipeline.dispatch_next()

    assert result is not None and result[0] == {"batchItemFailures": []}  # deleted
    assert pipeline.depth(pipeline.ctx.ordered_queue_url) == 0
    assert len(_glue_runs(pipeline)) == 1
    assert metric_total("FilesDuplicate") == 1


def test_a_start_without_a_free_slot_waits_without_recording_an_attempt(make_pipeline: Any,
                                                                        runs_stay_running: None) -> None:
    pipeline = make_pipeline(max_concurrent_runs=1)  # moto raises ConcurrentRunsExceededException past it
    _, b1 = _land_all(pipeline, A1, B1)
    pipeline.dispatch_next()

    result = pipeline.dispatch_next()

    assert _key_of(result) == B1 and _held(result)
    record = pipeline.ctx.ledger.get(b1)
    assert record is not None and record.status == Status.RECEIVED and record.attempts == 0
    assert record.run_ids == () and len(_glue_runs(pipeline)) == 1
    assert record.wait_pool == "glue"  # woken by the next run's end (tests/runtime/test_handoff.py)
    assert pipeline.dispatch_next() is None  # asleep, not spinning
    assert metric_total("StartsThrottled") == 1


def test_a_throttled_file_starts_attempt_one_when_glue_accepts_it(pipeline: Pipeline) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.glue.refuse_next = ["ThrottlingException"]
    assert _held(pipeline.dispatch_next())

    pipeline.expire_hold(a1)
    result = pipeline.dispatch_next()

    assert _held(result)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RUNNING and record.attempts == 1
    assert [args["--attempt"] for args in pipeline.glue.starts] == ["1"]
    assert int(result[1]["Attributes"]["ApproximateReceiveCount"]) == 2  # type: ignore[index]


def test_request_rate_throttle_backoff_grows_with_receives_is_jittered_and_capped() -> None:
    spec = PipelineSpec(throttle_backoff_s=30)
    rng = random.Random(1)
    first = [throttle_backoff_s(spec, 1, rng) for _ in range(200)]
    third = [throttle_backoff_s(spec, 3, rng) for _ in range(200)]
    late = [throttle_backoff_s(spec, 50, rng) for _ in range(200)]
    assert min(first) >= 15 and max(first) <= 30 and len(set(first)) > 5
    assert min(third) >= 60 and max(third) <= 120
    assert max(late) <= 900 and min(late) >= 450


def test_a_crash_after_start_does_not_start_a_second_run(pipeline: Pipeline) -> None:
    a1, _ = _land_all(pipeline, A1, A2)
    pipeline.glue.crash_after_start = True
    crashed = pipeline.dispatch_next()
    assert _held(crashed)  # the invocation failed: the message stays, its group stays held
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.STARTING and record.run_ids == ()

    pipeline.expire_hold(a1)  # the queue's visibility timeout passes
    recovered = pipeline.dispatch_next()

    assert _key_of(recovered) == A1 and _held(recovered)
    [run] = _glue_runs(pipeline)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RUNNING and record.run_ids == (run["Id"],)
    assert record.receipt_handle == recovered[1]["ReceiptHandle"]  # type: ignore[index]
    pipeline.complete(run["Id"])
    assert _key_of(pipeline.dispatch_next()) == A2  # released with the fresh receipt handle


def test_a_crash_before_glue_started_anything_starts_the_same_attempt(pipeline: Pipeline) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.glue.refuse_next = ["InternalServiceException"]
    assert _held(pipeline.dispatch_next())
    assert pipeline.ctx.ledger.get(a1).status == Status.STARTING  # type: ignore[union-attr]

    pipeline.expire_hold(a1)
    pipeline.dispatch_next()

    assert [args["--attempt"] for args in pipeline.glue.starts] == ["1"]
    assert pipeline.ctx.ledger.get(a1).attempts == 1  # type: ignore[union-attr]


def test_a_lost_completion_of_a_running_run_re_holds_it(pipeline: Pipeline) -> None:
    a1, _ = _land_all(pipeline, A1, A2)
    pipeline.dispatch_next()
    pipeline.expire_hold(a1)  # the hold ran out before any completion arrived

    again = pipeline.dispatch_next()

    assert _key_of(again) == A1 and _held(again)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RUNNING
    assert record.receipt_handle == again[1]["ReceiptHandle"]  # type: ignore[index]
    assert len(_glue_runs(pipeline)) == 1 and metric_total("RunsReheld") == 1
    assert pipeline.dispatch_next() is None  # still held

    assert pipeline.complete(record.current_run_id) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert _key_of(pipeline.dispatch_next()) == A2


def test_a_lost_completion_of_a_finished_run_is_finished_by_the_dispatcher(pipeline: Pipeline) -> None:
    a1, _ = _land_all(pipeline, A1, A2)
    pipeline.dispatch_next()
    run_id = pipeline.ctx.ledger.get(a1).current_run_id  # type: ignore[union-attr]
    pipeline.glue.states[run_id] = {"JobRunState": "SUCCEEDED"}  # type: ignore[index]
    pipeline.expire_hold(a1)

    finished = pipeline.dispatch_next()

    assert _key_of(finished) == A1 and not _held(finished)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED
    assert record.output_location == f"s3://{OUTPUT}/processed/orders_20250915/{a1}/"
    assert _key_of(pipeline.dispatch_next()) == A2


def test_a_lost_failure_is_recorded_and_retried_after_the_backoff(pipeline: Pipeline) -> None:
    [a1] = _land_all(pipeline, A1)
    pipeline.dispatch_next()
    run_id = pipeline.ctx.ledger.get(a1).current_run_id  # type: ignore[union-attr]
    pipeline.glue.states[run_id] = {"JobRunState": "FAILED", "ErrorMessage": "boom"}  # type: ignore[index]
    pipeline.expire_hold(a1)

    assert _held(pipeline.dispatch_next())
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.FAILED and "boom" in (record.last_error or "")

    pipeline.expire_hold(a1)  # redelivered early (say, a stale handle): it must wait out its backoff
    assert _held(pipeline.dispatch_next()) and len(pipeline.glue.starts) == 1
    pipeline.clock.advance(pipeline.ctx.spec.retry_backoff_s(1))
    pipeline.expire_hold(a1)
    assert _held(pipeline.dispatch_next())
    assert [args["--attempt"] for args in pipeline.glue.starts] == ["1", "2"]


def test_an_object_deleted_before_processing_is_dead_with_its_reason(pipeline: Pipeline) -> None:
    a1, _ = _land_all(pipeline, A1, A2)
    record = pipeline.ctx.ledger.get(a1)
    pipeline.ctx.s3.delete_object(Bucket=LANDING, Key=A1, VersionId=record.version_id)  # type: ignore[union-attr]

    result = pipeline.dispatch_next()

    assert _key_of(result) == A1 and not _held(result)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.DEAD and record.attempts == 0
    assert "object deleted before processing" in (record.last_error or "")
    [parked] = pipeline.receive(pipeline.ctx.ordered_dlq_url)
    assert parked["Attributes"]["MessageGroupId"] == "orders_20250915"
    assert parked["Attributes"]["MessageDeduplicationId"] == a1
    assert "object deleted" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert pipeline.glue.starts == []
    assert _key_of(pipeline.dispatch_next()) == A2  # on_failure=continue: the group goes on


def _kill(pipeline: Pipeline, file_id: str) -> None:
    """Run and fail a file until it is DEAD (max_attempts=1 in these tests)."""
    run_id = pipeline.ctx.ledger.get(file_id).current_run_id  # type: ignore[union-attr]
    pipeline.complete(run_id, "FAILED", "bad input")  # type: ignore[arg-type]
    assert pipeline.ctx.ledger.get(file_id).status == Status.DEAD  # type: ignore[union-attr]


def test_block_holds_the_group_behind_a_dead_file(make_pipeline: Any, runs_stay_running: None) -> None:
    pipeline = make_pipeline(on_failure="block", max_attempts=1)
    a1, a2, _ = _land_all(pipeline, A1, A2, B1)
    pipeline.dispatch_next()
    _kill(pipeline, a1)

    blocked = pipeline.dispatch_next()

    assert _key_of(blocked) == A2 and _held(blocked)
    record = pipeline.ctx.ledger.get(a2)
    assert record is not None and record.status == Status.BLOCKED and record.attempts == 0
    assert A1 in (record.last_error or "") and "redrive or skip" in (record.last_error or "")
    assert len(pipeline.glue.starts) == 1
    assert _key_of(pipeline.dispatch_next()) == B1  # other groups are not blocked
    assert metric_total("FilesBlocked") == 1
    assert BLOCKED_RECHECK_S >= 600

    pipeline.ctx.ledger.record_skipped(a1, "skipped in test")
    pipeline.expire_hold(a2)
    started = pipeline.dispatch_next()
    assert _key_of(started) == A2 and pipeline.ctx.ledger.get(a2).status == Status.RUNNING  # type: ignore[union-attr]


def test_continue_lets_the_group_go_on_after_a_dead_file(make_pipeline: Any, runs_stay_running: None) -> None:
    pipeline = make_pipeline(on_failure="continue", max_attempts=1)
    a1, a2 = _land_all(pipeline, A1, A2)
    pipeline.dispatch_next()
    _kill(pipeline, a1)

    result = pipeline.dispatch_next()

    assert _key_of(result) == A2 and pipeline.ctx.ledger.get(a2).status == Status.RUNNING  # type: ignore[union-attr]


def test_a_malformed_ordered_queue_message_is_parked_not_retried(pipeline: Pipeline) -> None:
    pipeline.sqs.send_message(QueueUrl=pipeline.ctx.ordered_queue_url, MessageBody="{not a file",
                              MessageGroupId="g1", MessageDeduplicationId="d1")

    result = pipeline.dispatch_next()

    assert result is not None and not _held(result)
    [parked] = pipeline.receive(pipeline.ctx.ordered_dlq_url)
    assert parked["Body"] == "{not a file" and parked["Attributes"]["MessageGroupId"] == "g1"
    assert "malformed" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_keys_with_spaces_plus_and_unicode_reach_glue_verbatim(pipeline: Pipeline) -> None:
    key = "landing/bestellungen straße+eu_20250915_101500.csv"
    [file_id] = _land_all(pipeline, key)

    assert _held(pipeline.dispatch_next())

    [args] = pipeline.glue.starts
    assert args["--source_key"] == key and args["--input_uri"] == f"s3://{LANDING}/{key}"
    assert args["--file_id"] == file_id
