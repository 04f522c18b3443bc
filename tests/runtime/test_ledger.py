"""The ledger's schema and its conditional transitions: nothing moves a file backwards."""

from __future__ import annotations

from typing import Any

import boto3

from landing_pipeline.runtime.context import MonotonicMillis
from landing_pipeline.runtime.ledger import FILE_PREFIX, FileRecord, Ledger, Status, sequence
from tests.runtime.conftest import REGION, FakeClock

DOCUMENTED = {"pk", "file_id", "bucket", "key", "version_id", "etag", "size", "group", "status", "attempts",
              "run_ids", "current_run_id", "receipt_handle", "received_at", "started_at", "finished_at",
              "output_location", "last_error", "enqueue_seq", "received_seq", "attempt_base", "redrives",
              "wait_pool", "waiting_since", "wait_handle"}


def _ledger(make_pipeline: Any) -> tuple[Ledger, FakeClock]:
    pipeline = make_pipeline()
    return pipeline.ctx.ledger, pipeline.clock


def _file(file_id: str = "f" * 64, group: str = "orders", seq_ms: int = 1) -> FileRecord:
    return FileRecord(file_id=file_id, bucket="b", key=f"landing/{file_id[:4]}.csv", group=group, etag="e",
                      version_id="v1", size=10, received_at="2025-09-15T10:15:00.000Z",
                      received_seq=f"{seq_ms:015d}#{file_id[:8]}", enqueue_seq=f"{seq_ms:015d}#{file_id[:8]}")


def test_items_follow_the_documented_schema(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    ledger.record_received(_file())
    ledger.mark_waiting("f" * 64, "rh-0")
    assert set(boto3.client("dynamodb", region_name=REGION).get_item(
        TableName="ledger", Key={"pk": {"S": FILE_PREFIX + "f" * 64}})["Item"]) <= DOCUMENTED
    ledger.begin_attempt("f" * 64, 1, "rh-1")
    ledger.record_started("f" * 64, 1, "jr_1", "rh-1")
    client = boto3.client("dynamodb", region_name=REGION)

    file_item = client.get_item(TableName="ledger", Key={"pk": {"S": FILE_PREFIX + "f" * 64}})["Item"]
    run_item = client.get_item(TableName="ledger", Key={"pk": {"S": "run#jr_1"}})["Item"]

    assert set(file_item) <= DOCUMENTED
    assert file_item["status"] == {"S": "RUNNING"} and file_item["run_ids"] == {"L": [{"S": "jr_1"}]}
    assert run_item["file_id"] == {"S": "f" * 64} and "group" not in run_item  # keeps run items out of by_group
    assert ledger.get_run("jr_1").attempt == 1  # type: ignore[union-attr]


def test_receiving_twice_keeps_the_first_item(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    first, created = ledger.record_received(_file())
    ledger.begin_attempt(first.file_id, 1, "rh")
    again, created_again = ledger.record_received(_file())
    assert created and not created_again
    assert again.status == Status.STARTING and again.attempts == 1


def test_an_attempt_can_begin_only_once(make_pipeline: Any) -> None:
    """Two deliveries that both read attempts=0 race to begin attempt 1: the conditional write lets one win.
    (Interleaved, not threaded: moto's conditional writes are not atomic across threads; DynamoDB's are.)"""
    ledger, _ = _ledger(make_pipeline)
    ledger.record_received(_file())
    first_view, second_view = ledger.get("f" * 64), ledger.get("f" * 64)
    assert first_view is not None and second_view is not None

    first = ledger.begin_attempt("f" * 64, first_view.attempts + 1, "rh-1")
    second = ledger.begin_attempt("f" * 64, second_view.attempts + 1, "rh-2")

    assert first is not None and second is None
    assert ledger.get("f" * 64).receipt_handle == "rh-1"  # type: ignore[union-attr]
    assert ledger.begin_attempt("f" * 64, 3, "rh") is None  # attempts go up one at a time


def test_results_cannot_move_a_file_backwards(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    file_id = "f" * 64
    ledger.record_received(_file())
    ledger.begin_attempt(file_id, 1, "rh")
    ledger.record_started(file_id, 1, "jr_1", "rh")

    assert ledger.record_outcome(file_id, 2, "jr_1", Status.FAILED, error="x") is None  # wrong attempt
    assert ledger.record_outcome(file_id, 1, "jr_other", Status.FAILED, error="x") is None  # wrong run
    done = ledger.record_outcome(file_id, 1, "jr_1", Status.SUCCEEDED, output_location="s3://o/")
    assert done is not None and done.status == Status.SUCCEEDED

    assert ledger.record_outcome(file_id, 1, "jr_1", Status.FAILED, error="late") is None
    assert ledger.record_dead(file_id, "late") is None
    assert ledger.begin_attempt(file_id, 2, "rh") is None
    assert ledger.mark_blocked(file_id, "late", "rh") is None
    assert ledger.record_skipped(file_id, "late") is None  # only DEAD files can be skipped
    assert ledger.get(file_id).status == Status.SUCCEEDED  # type: ignore[union-attr]


def test_a_run_that_finishes_before_it_is_recorded_is_adopted(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    file_id = "f" * 64
    ledger.record_received(_file())
    ledger.begin_attempt(file_id, 1, "rh")
    done = ledger.record_outcome(file_id, 1, "jr_1", Status.SUCCEEDED)
    assert done is not None and done.run_ids == ("jr_1",) and done.current_run_id == "jr_1"
    assert ledger.record_started(file_id, 1, "jr_1", "rh") is None  # the dispatcher's late write loses


def test_a_throttled_intent_is_undone(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    file_id = "f" * 64
    ledger.record_received(_file())
    ledger.begin_attempt(file_id, 1, "rh")
    undone = ledger.abandon_attempt(file_id, 1, Status.RECEIVED)
    assert undone is not None and undone.status == Status.RECEIVED and undone.attempts == 0


def test_redrive_gives_fresh_attempts_and_skip_is_final(make_pipeline: Any) -> None:
    ledger, clock = _ledger(make_pipeline)
    file_id = "f" * 64
    ledger.record_received(_file())
    ledger.begin_attempt(file_id, 1, "rh")
    ledger.record_started(file_id, 1, "jr_1", "rh")
    dead = ledger.record_outcome(file_id, 1, "jr_1", Status.DEAD, error="bad")
    assert dead is not None
    clock.advance(10)

    redriven = ledger.record_redriven(dead)

    assert redriven is not None and redriven.status == Status.RECEIVED and redriven.redrives == 1
    assert redriven.attempts == 1 and redriven.attempt_base == 1 and redriven.attempts_since_redrive == 0
    assert redriven.enqueue_seq > dead.enqueue_seq and redriven.received_seq == dead.received_seq
    assert ledger.begin_attempt(file_id, 2, "rh") is not None  # attempt numbers keep growing


def test_group_history_is_in_received_order(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    for index, file_id in enumerate(["c" * 64, "a" * 64, "b" * 64]):
        ledger.record_received(_file(file_id, seq_ms=index + 1))
    ledger.record_received(_file("d" * 64, group="other", seq_ms=9))
    ledger.record_dead("a" * 64, "gone")

    history = ledger.group_files("orders")
    assert [r.file_id[0] for r in history] == ["c", "a", "b"]
    third = history[2]
    assert [r.file_id[0] for r in ledger.group_files("orders", before_seq=third.received_seq)] == ["c", "a"]
    assert [r.file_id[0] for r in ledger.group_files("orders", statuses=(Status.DEAD,))] == ["a"]


def test_sequence_numbers_sort_in_time_and_never_repeat() -> None:
    millis = MonotonicMillis()
    stamps = [millis(1_757_930_000.0) for _ in range(5)]
    assert stamps == sorted(set(stamps))
    assert sequence(1.5, "abcdef123456") == "000000000001500#abcdef12"
    assert sequence(10.0, "z") > sequence(9.999, "z")


def test_waiters_come_oldest_first_and_only_one_caller_can_wake_each(make_pipeline: Any) -> None:
    ledger, clock = _ledger(make_pipeline)
    for index, file_id in enumerate(["c" * 64, "a" * 64, "b" * 64]):
        ledger.record_received(_file(file_id, group=f"g{index}", seq_ms=index + 1))
        clock.advance(1)
        ledger.mark_waiting(file_id, f"rh-{file_id[0]}")
    ledger.record_received(_file("d" * 64, group="g9"))  # not waiting: not in the index

    waiters, more = ledger.waiting_files(2)
    assert [w.file_id[0] for w in waiters] == ["c", "a"] and more is not None
    assert waiters[0].wait_handle == "rh-c" and waiters[0].waiting_since < waiters[1].waiting_since
    rest, _ = ledger.waiting_files(2, more)
    assert [w.file_id[0] for w in rest] == ["b"]

    assert ledger.clear_waiter("c" * 64, "rh-c") is True
    assert ledger.clear_waiter("c" * 64, "rh-c") is False  # a second run's end must wake someone else
    assert ledger.clear_waiter("a" * 64, "rh-old") is False  # it waits with a newer delivery
    assert [w.file_id[0] for w in ledger.waiting_files(5)[0]] == ["a", "b"]
    woken = ledger.get("c" * 64)
    assert woken is not None and woken.wait_pool is None and woken.waiting_since  # keeps its place

    clock.advance(60)
    again = ledger.mark_waiting("c" * 64, "rh-c2")  # refused once more: back in line at its old place
    assert again is not None and again.waiting_since == woken.waiting_since
    assert [w.file_id[0] for w in ledger.waiting_files(5)[0]] == ["c", "a", "b"]


def test_a_start_or_a_final_state_takes_a_file_out_of_line(make_pipeline: Any) -> None:
    ledger, _ = _ledger(make_pipeline)
    file_id = "f" * 64
    ledger.record_received(_file())
    ledger.mark_waiting(file_id, "rh-1")

    intent = ledger.begin_attempt(file_id, 1, "rh-2")
    assert intent is not None and intent.wait_pool is None and intent.wait_handle is None
    assert intent.waiting_since  # a refused start keeps its place until a run really starts
    assert ledger.waiting_files(5)[0] == []
    running = ledger.record_started(file_id, 1, "jr_1", "rh-2")
    assert running is not None and running.waiting_since is None

    ledger.record_received(_file("e" * 64))
    ledger.mark_waiting("e" * 64, "rh-e")
    dead = ledger.record_dead("e" * 64, "object deleted before processing")
    assert dead is not None and (dead.wait_pool, dead.waiting_since, dead.wait_handle) == (None, None, None)
