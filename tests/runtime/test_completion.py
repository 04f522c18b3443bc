"""The completion handler: a run's end releases, delays or parks the message that held its group."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.runtime.completion import complete
from landing_pipeline.runtime.ledger import Status
from tests.runtime.conftest import JOB, OUTPUT, Pipeline, glue_event, metric_total

A1, A2 = "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"


def _start_first(pipeline: Pipeline, *keys: str) -> tuple[list[str], str]:
    """Land ``keys``, dispatch the first one; returns the file ids and the first file's run id."""
    pipeline.route(*[pipeline.land(key) for key in keys])
    ids = [pipeline.file_id_of(key) for key in keys]
    pipeline.dispatch_next()
    run_id = pipeline.ctx.ledger.get(ids[0]).current_run_id  # type: ignore[union-attr]
    assert run_id
    return ids, run_id


def _next_key(pipeline: Pipeline) -> str | None:
    result = pipeline.dispatch_next()
    return None if result is None else str(json.loads(result[1]["Body"])["key"])


def test_success_records_the_output_and_releases_the_group(pipeline: Pipeline) -> None:
    (a1, _), run_id = _start_first(pipeline, A1, A2)
    assert _next_key(pipeline) is None  # held
    pipeline.clock.advance(125)

    assert pipeline.complete(run_id) == {"batchItemFailures": []}

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED and record.finished_at
    assert record.output_location == f"s3://{OUTPUT}/processed/orders_20250915/{a1}/"
    assert _next_key(pipeline) == A2
    assert metric_total("FilesSucceeded") == 1 and metric_total("HoldTime") == 125


def test_failed_then_succeeded(pipeline: Pipeline) -> None:
    (a1, _), run1 = _start_first(pipeline, A1, A2)

    pipeline.complete(run1, "FAILED", "java.lang.OutOfMemoryError")

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.FAILED and record.attempts == 1
    assert "OutOfMemoryError" in (record.last_error or "")
    assert _next_key(pipeline) is None  # backing off, and the group stays held meanwhile

    pipeline.clock.advance(pipeline.ctx.spec.retry_backoff_s(1))
    pipeline.expire_hold(a1)  # the backoff visibility ends
    assert _next_key(pipeline) == A1
    run2 = pipeline.ctx.ledger.get(a1).current_run_id  # type: ignore[union-attr]
    assert run2 and run2 != run1
    pipeline.complete(run2)

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED and record.run_ids == (run1, run2)
    assert [args["--attempt"] for args in pipeline.glue.starts] == ["1", "2"]
    assert _next_key(pipeline) == A2


@pytest.mark.parametrize("state", ["TIMEOUT", "STOPPED", "ERROR"])
def test_every_failure_state_is_a_failed_attempt(pipeline: Pipeline, state: str) -> None:
    (a1,), run_id = _start_first(pipeline, A1)
    pipeline.complete(run_id, state, None)
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.FAILED and state in (record.last_error or "")


def test_used_up_attempts_park_the_file_in_the_fifo_dlq(make_pipeline: Any, runs_stay_running: None) -> None:
    pipeline = make_pipeline(max_attempts=2)
    (a1, _), run1 = _start_first(pipeline, A1, A2)
    pipeline.complete(run1, "FAILED", "bad row 7")
    pipeline.clock.advance(3600)
    pipeline.expire_hold(a1)
    assert _next_key(pipeline) == A1
    run2 = pipeline.ctx.ledger.get(a1).current_run_id  # type: ignore[union-attr]

    pipeline.complete(run2, "FAILED", "bad row 7")  # type: ignore[arg-type]

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.DEAD and record.attempts == 2
    assert "max_attempts=2 used up" in (record.last_error or "") and "bad row 7" in (record.last_error or "")
    [parked] = pipeline.receive(pipeline.ctx.ordered_dlq_url)
    assert json.loads(parked["Body"])["file_id"] == a1
    assert parked["Attributes"]["MessageGroupId"] == "orders_20250915"
    assert parked["Attributes"]["MessageDeduplicationId"] == a1
    assert "max_attempts=2" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert _next_key(pipeline) == A2  # the held message was deleted: the group goes on (continue)
    assert metric_total("FilesDead") == 1


def test_a_run_that_lost_its_input_is_dead_at_once(pipeline: Pipeline) -> None:
    (a1,), run_id = _start_first(pipeline, A1)
    # The job checked the key (HeadObject) before saying so (runtime/jobs/storage.py, input_gone).
    pipeline.complete(run_id, "FAILED", "IngestError: input deleted: s3://landing/a1.csv was deleted before this "
                                        "run could read version v1")
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.DEAD and record.attempts == 1
    assert "object deleted before processing" in (record.last_error or "")


def test_a_missing_path_that_is_not_the_input_is_retried_not_dead(pipeline: Pipeline) -> None:
    (a1,), run_id = _start_first(pipeline, A1)
    pipeline.complete(run_id, "FAILED", "IngestError: snapshot s3://out/snapshots/g/: [PATH_NOT_FOUND] Path does "
                                        "not exist: s3://out/snapshots/g/v000003 (NoSuchKey)")
    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.FAILED
    assert "object deleted" not in (record.last_error or "")


def test_events_for_runs_this_pipeline_did_not_start_are_ignored(pipeline: Pipeline) -> None:
    (a1,), run_id = _start_first(pipeline, A1)
    by_hand = pipeline.glue.start_job_run(JobName=JOB, Arguments={"--input_uri": "s3://x/y.csv"})["JobRunId"]

    assert complete(pipeline.ctx, glue_event(JOB, by_hand, "FAILED")) == "foreign"
    assert complete(pipeline.ctx, glue_event("someone-elses-job", run_id, "SUCCEEDED")) == "foreign"
    assert complete(pipeline.ctx, glue_event(JOB, "jr_unknown", "SUCCEEDED")) == "foreign"
    assert complete(pipeline.ctx, glue_event(JOB, run_id, "RUNNING")) == "ignored"
    assert complete(pipeline.ctx, json.dumps({"source": "aws.s3", "detail-type": "x"})) == "ignored"
    assert complete(pipeline.ctx, "garbage") == "malformed"

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RUNNING
    assert metric_total("ForeignRunEvents") == 3


def test_a_repeated_event_changes_nothing_and_cannot_move_a_file_backwards(pipeline: Pipeline) -> None:
    (a1, _), run_id = _start_first(pipeline, A1, A2)
    assert complete(pipeline.ctx, glue_event(JOB, run_id, "SUCCEEDED")) == "released"

    assert complete(pipeline.ctx, glue_event(JOB, run_id, "SUCCEEDED")) == "already"
    assert complete(pipeline.ctx, glue_event(JOB, run_id, "FAILED")) == "stale"

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED and record.attempts == 1
    assert metric_total("FilesSucceeded") == 1
    assert _next_key(pipeline) == A2


def test_a_completion_before_the_run_was_recorded_is_adopted(pipeline: Pipeline) -> None:
    pipeline.route(pipeline.land(A1), pipeline.land(A2))
    a1 = pipeline.file_id_of(A1)
    pipeline.glue.crash_after_start = True
    pipeline.dispatch_next()  # Glue started the run; the dispatcher died before recording it
    [args] = pipeline.glue.starts
    [run] = pipeline.glue.get_job_runs(JobName=JOB)["JobRuns"]
    assert args["--file_id"] == a1

    assert complete(pipeline.ctx, glue_event(JOB, run["Id"], "SUCCEEDED")) == "released"

    record = pipeline.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.SUCCEEDED and record.run_ids == (run["Id"],)
    assert _next_key(pipeline) == A2


def test_a_success_with_a_stale_receipt_handle_neither_loses_nor_reruns_the_file(pipeline: Pipeline) -> None:
    (a1, _), run_id = _start_first(pipeline, A1, A2)
    stale = pipeline.ctx.ledger.get(a1).receipt_handle  # type: ignore[union-attr]
    pipeline.expire_hold(a1)
    pipeline.sqs_faults.stale.add(stale)  # type: ignore[arg-type]
    [redelivered] = pipeline.receive()  # the dispatcher got it again but has not acted yet

    assert complete(pipeline.ctx, glue_event(JOB, run_id, "SUCCEEDED")) == "released"  # delete was refused

    from landing_pipeline.runtime import dispatcher
    from tests.runtime.conftest import sqs_event_from_messages

    response = dispatcher.process_event(pipeline.ctx, sqs_event_from_messages([redelivered]))
    assert response == {"batchItemFailures": []}  # it sees SUCCEEDED: a duplicate, deleted
    pipeline.sqs.delete_message(QueueUrl=pipeline.ctx.ordered_queue_url, ReceiptHandle=redelivered["ReceiptHandle"])
    assert len(pipeline.glue.starts) == 1
    assert _next_key(pipeline) == A2


def test_a_failure_with_a_stale_receipt_handle_still_waits_for_its_backoff(pipeline: Pipeline) -> None:
    (a1,), run_id = _start_first(pipeline, A1)
    stale = pipeline.ctx.ledger.get(a1).receipt_handle  # type: ignore[union-attr]
    pipeline.expire_hold(a1)
    pipeline.sqs_faults.stale.add(stale)  # type: ignore[arg-type]
    [redelivered] = pipeline.receive()

    assert complete(pipeline.ctx, glue_event(JOB, run_id, "FAILED", "boom")) == "retry"

    from landing_pipeline.runtime import dispatcher
    from tests.runtime.conftest import sqs_event_from_messages

    response = dispatcher.process_event(pipeline.ctx, sqs_event_from_messages([redelivered]))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [redelivered["MessageId"]]
    assert len(pipeline.glue.starts) == 1  # not retried before its backoff
    assert pipeline.ctx.ledger.get(a1).status == Status.FAILED  # type: ignore[union-attr]
