"""The v2 protocol through the real handlers on moto: router -> ledger -> one wake-up -> dispatcher -> lease ->
Glue -> completion / reconciler. Each finding F1-F10 of design-v2.md has a test here that the v1 runtime fails
(its mechanism is gone) and v2 passes; what was started is read from Glue's own record (the GlueFaults
wrapper's ``starts``), not from the ledger."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.runtime.contract import FILE_ID_ARG, SOURCE_KEY_ARG
from landing_pipeline.runtime.group_state import Phase
from tests.runtime.conftest import Pipeline

FIRST, SECOND = "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"


def started_keys(p: Pipeline) -> list[str]:
    return [str(args[SOURCE_KEY_ARG]) for args in p.glue.starts]


def land_at(p: Pipeline, key: str, at: str) -> str:
    body = json.loads(p.land(key))
    body["time"] = at
    return json.dumps(body)


def run_of(p: Pipeline, key: str) -> str:
    runs = p.ctx.glue.get_job_runs(JobName=p.ctx.job_name)["JobRuns"]
    return next(str(r["Id"]) for r in runs if (r.get("Arguments") or {}).get(SOURCE_KEY_ARG) == key)


def dead_announcements(p: Pipeline) -> list[dict[str, Any]]:
    url = p.env["LANDING_DEAD_FILES_QUEUE_URL"]
    messages = p.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in messages:   # read and taken, as an operator's tool would (a FIFO group shows one at a time)
        p.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def p(make_pipeline: Any, runs_stay_running: None) -> Pipeline:
    return make_pipeline(settle_seconds=30)


def test_a_group_runs_one_file_at_a_time_in_order_with_one_wakeup(p: Pipeline) -> None:
    t = "2025-09-15T10:15:00Z"
    p.clock.t = 1_757_931_300.0   # 10:15:00Z
    p.route(land_at(p, SECOND, "2025-09-15T10:15:01Z"), land_at(p, FIRST, t))
    assert p.depth(p.ctx.ordered_queue_url) == 1          # one wake-up for the group, not one per file
    assert p.dispatch_all() == ["held"]                   # settling: the head file is younger than 30 s
    p.tick(31)
    assert p.dispatch_all() == ["done"] and started_keys(p) == [FIRST]
    p.complete(run_of(p, FIRST))
    assert p.dispatch_all() == ["done"] and started_keys(p) == [FIRST, SECOND]
    p.complete(run_of(p, SECOND))
    assert {f.status for f in p.ctx.ledger.all_files()} == {"SUCCEEDED"}
    assert p.ctx.ledger.counters()[0] == 0


def test_f2_a_duplicate_delivery_starts_nothing(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    message = p.receive()[0]
    from landing_pipeline.runtime import dispatcher
    from tests.runtime.conftest import sqs_event_from_messages

    dispatcher.process_event(p.ctx, sqs_event_from_messages([message]))
    dispatcher.process_event(p.ctx, sqs_event_from_messages([message]))   # at-least-once: delivered twice
    assert started_keys(p) == [FIRST]


def test_f1_an_unanswered_start_is_found_by_its_token_not_started_again(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    original = p.glue.start_job_run

    def lost_answer(**kwargs: Any) -> Any:
        original(**kwargs)
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "InternalServiceException", "Message": "lost"},
                           "ResponseMetadata": {"HTTPStatusCode": 500}}, "StartJobRun")

    p.glue.start_job_run = lost_answer  # type: ignore[method-assign]
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    p.glue.start_job_run = original  # type: ignore[method-assign]
    group = p.ctx.ledger.get_group(p.ctx.ledger.get(p.file_id_of(FIRST)).group)  # type: ignore[union-attr]
    assert group is not None and group.state == Phase.STARTING
    p.tick(600)
    p.reconcile()
    assert started_keys(p) == [FIRST]
    group = p.ctx.ledger.get_group(group.group)
    assert group is not None and group.state == Phase.RUNNING and group.run_id == run_of(p, FIRST)


def test_f3_files_run_in_landing_order_when_the_earlier_event_is_late(p: Pipeline) -> None:
    p.clock.t = 1_757_931_301.0
    p.route(land_at(p, SECOND, "2025-09-15T10:15:01Z"))
    p.dispatch_all()                                           # settling
    p.tick(10)
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))         # its event 10 s late
    p.tick(25)
    p.sqs_faults.expire_due()
    p.dispatch_all()
    assert started_keys(p) == [FIRST]


def test_a_file_recorded_after_a_later_one_started_is_late_and_runs_next(p: Pipeline) -> None:
    p.clock.t = 1_757_931_301.0
    p.route(land_at(p, SECOND, "2025-09-15T10:15:01Z"))
    p.tick(31)
    p.dispatch_all()
    p.tick(60)
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))          # past the settle window
    assert p.ctx.ledger.get(p.file_id_of(FIRST)).late  # type: ignore[union-attr]
    p.complete(run_of(p, SECOND))
    p.dispatch_all()
    assert started_keys(p) == [SECOND, FIRST]


def test_f4_f5_block_holds_the_group_behind_a_dead_file_and_each_death_is_announced(
        make_pipeline: Any, runs_stay_running: None) -> None:
    p = make_pipeline(settle_seconds=0, on_failure="block", max_attempts=1)
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"), land_at(p, SECOND, "2025-09-15T10:30:00Z"))
    p.dispatch_all()
    p.complete(run_of(p, FIRST), "FAILED", "boom")
    p.dispatch_all()
    p.reconcile()
    assert started_keys(p) == [FIRST]                          # SECOND never runs past the DEAD file
    first = p.file_id_of(FIRST)
    assert [a["death"] for a in dead_announcements(p) if a["file_id"] == first] == [1]
    from landing_pipeline.runtime.wakeups import send_wake

    assert p.ctx.ledger.redrive(first) is not None
    send_wake(p.ctx, p.ctx.ledger.get(first).group, "redrive-1")  # type: ignore[union-attr]
    p.dispatch_all()
    p.complete(sorted(r["Id"] for r in p.ctx.glue.get_job_runs(JobName=p.ctx.job_name)["JobRuns"]
                      if r["Id"] != run_of(p, FIRST))[0], "FAILED", "boom again")
    deaths = [a["death"] for a in dead_announcements(p) if a["file_id"] == first]
    assert deaths == [2]                                        # dead again within 5 minutes: announced again


def test_f6_a_group_whose_wakeup_was_never_sent_is_woken_by_the_reconciler(p: Pipeline) -> None:
    from landing_pipeline.runtime import router

    p.clock.t = 1_757_931_400.0
    sent = router.send_wake
    router.send_wake = lambda *a, **k: None  # type: ignore[assignment]   # the router dies before its send
    try:
        p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    finally:
        router.send_wake = sent  # type: ignore[assignment]
    assert p.depth(p.ctx.ordered_queue_url) == 0
    p.tick(301)
    p.reconcile()
    p.dispatch_all()
    assert started_keys(p) == [FIRST]


@pytest.mark.parametrize(("state", "error"), [("FAILED", "Failed to acquire resources"), ("EXPIRED", None)])
def test_f7_f8_capacity_failures_and_unknown_states_cost_no_attempt(p: Pipeline, state: str,
                                                                     error: str | None) -> None:
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    p.complete(run_of(p, FIRST), state, error)
    record = p.ctx.ledger.get(p.file_id_of(FIRST))
    assert record is not None and record.attempts == 0 and record.status == "RECEIVED"
    group = p.ctx.ledger.get_group(record.group)
    assert group is not None and not group.leased and group.wake_pending


def test_f10_a_lost_glue_event_costs_at_most_one_reconciler_interval(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"), land_at(p, SECOND, "2025-09-15T10:15:01Z"))
    p.dispatch_all()
    p.glue.end(run_of(p, FIRST), "SUCCEEDED")                   # its event never comes
    p.tick(300)
    p.reconcile()
    p.dispatch_all()
    assert started_keys(p) == [FIRST, SECOND]


def test_no_free_slot_waits_in_line_and_a_release_wakes_the_longest_waiter(make_pipeline: Any,
                                                                           runs_stay_running: None) -> None:
    p = make_pipeline(max_concurrent_runs=100, settle_seconds=0, max_parallel_groups=1)
    p.glue.slots = 1   # Glue's limit, freed when a run ends (moto's runs never end here)
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, "landing/a_1.csv", "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    p.route(land_at(p, "landing/b_1.csv", "2025-09-15T10:15:01Z"))
    p.dispatch_all()
    assert started_keys(p) == ["landing/a_1.csv"]
    assert [g for _, g in p.ctx.ledger.waiters(5)] == ["b_1"]
    p.complete(run_of(p, "landing/a_1.csv"))
    p.dispatch_all()
    assert started_keys(p) == ["landing/a_1.csv", "landing/b_1.csv"] and p.ctx.ledger.waiters(5) == []
    assert FILE_ID_ARG in p.glue.starts[0]


def test_a_run_the_dispatcher_finds_ended_hands_on_to_the_next_file(p: Pipeline) -> None:
    """Liveness: a wake-up handled after the run ended (its Glue event lost) releases the lease and starts
    the next file; the release never leaves the group STARTING with no token (the simulator's seed 21)."""
    from landing_pipeline.runtime import dispatcher

    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"), land_at(p, SECOND, "2025-09-15T10:15:01Z"))
    p.dispatch_all()
    group = p.ctx.ledger.get(p.file_id_of(FIRST)).group  # type: ignore[union-attr]
    p.glue.end(run_of(p, FIRST), "SUCCEEDED")                   # its event never comes
    p.tick(300)                                                 # the lease is due for a look at Glue
    assert dispatcher.dispatch(p.ctx, group) == "started"       # a wake-up (e.g. redelivered) for the group
    after = p.ctx.ledger.get_group(group)
    assert after is not None and after.state in (Phase.STARTING, Phase.RUNNING) and after.token is not None
    assert started_keys(p) == [FIRST, SECOND]
    assert p.ctx.ledger.counters()[0] == 1


def test_a_feeds_own_on_failure_holds_its_groups_while_other_groups_follow_the_stacks(
        make_pipeline: Any, runs_stay_running: None) -> None:
    """feeds[].onFailure: the orders feed blocks behind a dead file, a group of no feed continues (the stack's)."""
    from landing_pipeline.runtime.feeds import Feed

    p = make_pipeline(settle_seconds=0, on_failure="continue", max_attempts=1,
                      feeds=(Feed("orders", "orders_*", on_failure="block"),))
    refunds_1, refunds_2 = "landing/refunds_20250915_090000.csv", "landing/refunds_20250915_093000.csv"
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"), land_at(p, SECOND, "2025-09-15T10:15:30Z"),
            land_at(p, refunds_1, "2025-09-15T09:00:00Z"), land_at(p, refunds_2, "2025-09-15T09:30:00Z"))
    p.dispatch_all()
    p.complete(run_of(p, FIRST), "FAILED", "boom")
    p.complete(run_of(p, refunds_1), "FAILED", "boom")
    p.dispatch_all()
    p.reconcile()
    p.dispatch_all()
    started = started_keys(p)
    assert SECOND not in started                       # the orders feed blocks behind its dead file
    assert refunds_2 in started                        # refunds (no feed) continues past its dead file
