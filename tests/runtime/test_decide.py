"""The rules of runtime/decide.py, one behaviour per test (the state of a group in, the decision out)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from landing_pipeline.runtime.contract import PIPELINE_STOP
from landing_pipeline.runtime.decide import (
    Caller,
    Outcome,
    RunEnd,
    classify,
    committed,
    decide,
    restart,
    run_ended,
)
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase, Policy, run_token

POLICY = Policy(settle_s=30, retry_backoff_base_s=60, max_attempts=3, start_grace_s=180, check_interval_s=300)
BLOCK = replace(POLICY, on_failure="block")


def f(n: int, landed: float = 0.0, **kw: object) -> OpenFile:
    return OpenFile(sort_key=f"f#{n:03d}", file_id=f"id{n}", landed_at=landed, **kw)  # type: ignore[arg-type]


def leased(group: GroupItem, keys: tuple[str, ...], at: float = 100.0, run_id: str | None = "jr_1",
           state: Phase = Phase.RUNNING) -> GroupItem:
    return replace(group, state=state, epoch=group.epoch + 1, token=run_token(group.group, group.epoch + 1),
                   run_id=run_id, lease_keys=keys, lease_at=at, last_started_key=max(keys))


G = GroupItem("orders", seq=2, version=5, epoch=3)


def test_the_earliest_file_starts_whatever_order_the_files_come_in() -> None:
    d = decide(G, [f(2), f(1)], 100, POLICY)
    assert d.kind == "start" and d.lease is not None
    assert d.lease.file_ids == ("id1",) and d.lease.epoch == 4 and d.lease.token == run_token("orders", 4)
    assert d.guard == (d.guard.__class__(seq=2, version=5, epoch=3)) and d.slot_delta == 1
    assert d.state == Phase.STARTING and d.last_started_key == "f#001" and not d.wake_pending


def test_a_file_younger_than_settle_waits_and_the_dispatcher_holds_its_wakeup() -> None:
    d = decide(G, [f(1, landed=90)], 100, POLICY)
    assert d.kind == "settle" and d.state == Phase.SETTLING and d.lease is None
    assert d.not_before == 120 and d.hold_wake_s == 20 and d.wake_pending
    other = decide(G, [f(1, landed=90)], 100, POLICY, caller=Caller.COMPLETION)
    assert other.send_wake and other.hold_wake_s is None


def test_two_files_one_second_apart_with_the_earlier_event_late_run_in_landing_order() -> None:
    group, files = G, [f(2, landed=1)]         # the second file's event came first
    d = decide(group, files, 2, POLICY)
    assert d.kind == "settle"
    group, files = committed(group, files, d, 2)
    files.append(f(1, landed=0))                # the first file's event, 10 s late
    group = replace(group, seq=group.seq + 1)
    d = decide(group, files, 31, POLICY)
    assert d.kind == "start" and d.lease is not None and d.lease.file_ids == ("id1",) and d.lease.late == ()


def test_a_live_lease_is_never_taken_again() -> None:
    group = leased(G, ("f#001",))
    d = decide(group, [f(1), f(2)], 120, POLICY)
    assert d.kind == "hold" and d.lease is None and d.slot_delta == 0
    dup = decide(replace(group, wake_pending=True), [f(1), f(2)], 120, POLICY)
    assert dup.writes and not dup.wake_pending   # the duplicate wake-up is deleted and noted


def test_no_free_slot_puts_the_group_in_line_and_a_later_start_takes_it_out() -> None:
    d = decide(G, [f(1)], 100, POLICY, slot_free=False)
    assert d.kind == "wait_for_slot" and d.waiter == "add" and d.waiting_since == 100 and d.slot_delta == 0
    group, files = committed(G, [f(1)], d, 100)
    again = decide(group, files, 200, POLICY, slot_free=False)
    assert again.waiting_since == 100 and again.waiter is None   # keeps its place in line
    start = decide(group, files, 250, POLICY)
    assert start.kind == "start" and start.waiter == "remove"


def test_a_failed_file_waits_for_its_backoff() -> None:
    failed = f(1, status=FileStatus.FAILED, attempts=1, finished_at=100)
    d = decide(G, [failed, f(2)], 130, POLICY)
    assert d.kind == "backoff" and d.not_before == 160 and d.lease is None
    assert decide(G, [failed, f(2)], 160, POLICY).lease.file_ids == ("id1",)  # type: ignore[union-attr]


def test_block_waits_behind_a_dead_file_and_continue_goes_past_it() -> None:
    dead = f(1, status=FileStatus.DEAD, deaths=1, announced=1)
    blocked = decide(G, [dead, f(2)], 100, BLOCK)
    assert blocked.kind == "blocked" and blocked.state == Phase.BLOCKED and blocked.next_check_at is None
    go_on = decide(G, [dead, f(2)], 100, POLICY)
    assert go_on.lease is not None and go_on.lease.file_ids == ("id2",)


def test_a_late_file_runs_next_and_is_counted_or_is_parked() -> None:
    group = replace(G, last_started_key="f#005")
    late = f(1, late=True)
    d = decide(group, [late, f(6)], 100, POLICY)
    assert d.lease is not None and d.lease.file_ids == ("id1",) and d.lease.late == ("f#001",)
    assert d.last_started_key == "f#005"
    park = decide(group, [late, f(6)], 100, replace(BLOCK, late_files="park"))
    assert [c.event for c in park.files] == ["parked_late"] and park.files[0].after.status == FileStatus.DEAD
    assert park.announce[0].death == 1 and park.lease is not None and park.lease.file_ids == ("id6",)


def test_a_redriven_late_file_is_not_parked_again() -> None:
    late = f(1, late=True, redrives=1)
    d = decide(replace(G, last_started_key="f#005"), [late], 100, replace(POLICY, late_files="park"))
    assert d.lease is not None and d.lease.file_ids == ("id1",)


def test_success_releases_commits_and_wakes_for_the_next_file() -> None:
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1), f(2)], RunEnd("jr_1", group.token, "SUCCEEDED"), 400, POLICY)
    assert d.kind == "released" and d.release and d.slot_delta == -1 and d.outcome == Outcome.SUCCEEDED
    assert [(c.before.file_id, c.after.status) for c in d.files] == [("id1", FileStatus.SUCCEEDED)]
    assert d.state == Phase.IDLE and d.send_wake and d.wake_pending
    after_group, after_files = committed(group, [f(1), f(2)], d, 400)
    assert [x.file_id for x in after_files] == ["id2"] and after_group.token is None


def test_success_with_nothing_left_goes_idle_without_a_wakeup() -> None:
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1)], RunEnd("jr_1", None, "SUCCEEDED"), 400, POLICY)
    assert d.state == Phase.IDLE and not d.send_wake and d.next_check_at is None


def test_a_failure_charges_one_attempt_and_backs_off() -> None:
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1)], RunEnd("jr_1", None, "FAILED", "boom"), 400, POLICY)
    after = d.files[0].after
    assert after.status == FileStatus.FAILED and after.attempts == 1 and after.finished_at == 400
    assert d.state == Phase.BACKOFF and d.not_before == 460 and d.send_wake


def test_the_last_attempt_makes_the_file_dead_and_announces_that_death() -> None:
    group = leased(G, ("f#001",))
    tired = f(1, status=FileStatus.FAILED, attempts=2)
    d = run_ended(group, [tired, f(2)], RunEnd("jr_1", None, "TIMEOUT"), 400, BLOCK)
    assert d.files[0].after.status == FileStatus.DEAD and d.files[0].after.deaths == 1
    assert d.state == Phase.BLOCKED and [a.dedup_id for a in d.announce] == ["id1-dead-1"]
    assert d.next_check_at == 400   # the reconciler announces it if this handler dies first


def test_a_file_dead_again_after_a_redrive_gets_a_new_death_number() -> None:
    group = leased(G, ("f#001",))
    redriven = f(1, status=FileStatus.RECEIVED, attempts=3, attempt_base=3, deaths=1, announced=1, redrives=1)
    for _ in range(2):
        d = run_ended(group, [redriven], RunEnd("jr_1", None, "FAILED"), 400, POLICY)
        redriven = d.files[0].after if d.files[0].after.status != FileStatus.DEAD else redriven
    d = run_ended(group, [replace(redriven, attempts=5)], RunEnd("jr_1", None, "FAILED"), 400, POLICY)
    assert [a.dedup_id for a in d.announce] == ["id1-dead-2"]


@pytest.mark.parametrize(("state", "error", "outcome"), [
    ("FAILED", "Failed to acquire resources after waiting 15 minutes", Outcome.CAPACITY),
    ("FAILED", "ConcurrentRunsExceededException: max concurrent runs exceeded", Outcome.CAPACITY),
    ("STOPPED", f"{PIPELINE_STOP}: fenced", Outcome.STOPPED),
    ("EXPIRED", None, Outcome.UNKNOWN),
    ("SOMETHING_NEW", None, Outcome.UNKNOWN),
])
def test_capacity_pipeline_stops_and_unknown_states_cost_no_attempt(state: str, error: str | None,
                                                                    outcome: Outcome) -> None:
    assert classify(state, error) == outcome
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1)], RunEnd("jr_1", None, state, error), 400, POLICY)
    assert d.release and d.files == () and d.outcome == outcome and d.state == Phase.BACKOFF


def test_operator_stops_timeouts_and_errors_count_an_attempt() -> None:
    for state in ("STOPPED", "TIMEOUT", "ERROR", "FAILED"):
        assert classify(state, "x") == Outcome.FAILED


def test_an_input_deleted_failure_kills_the_file_at_once() -> None:
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1)], RunEnd("jr_1", None, "FAILED", "IngestError: input deleted: s3://b/k"), 400, POLICY)
    assert d.files[0].after.status == FileStatus.DEAD and d.files[0].after.attempts == 1


def test_an_event_of_another_run_changes_nothing() -> None:
    group = leased(G, ("f#001",))
    d = run_ended(group, [f(1)], RunEnd("jr_other", "other-token", "SUCCEEDED"), 400, POLICY)
    assert d.kind == "stale" and not d.writes
    assert not run_ended(G, [f(1)], RunEnd("jr_1", None, "SUCCEEDED"), 400, POLICY).writes


def test_a_still_running_run_is_adopted_by_a_starting_lease() -> None:
    group = leased(G, ("f#001",), run_id=None, state=Phase.STARTING)
    d = run_ended(group, [f(1)], RunEnd("jr_9", group.token, "RUNNING"), 400, POLICY)
    assert d.kind == "adopt" and d.state == Phase.RUNNING and d.run_id == "jr_9" and not d.release
    assert not run_ended(replace(group, state=Phase.RUNNING, run_id="jr_9"), [f(1)],
                         RunEnd("jr_9", None, "RUNNING"), 400, POLICY).writes


def test_a_starting_lease_past_its_grace_is_checked_then_restarted_with_its_token() -> None:
    group = leased(G, ("f#001",), at=100, run_id=None, state=Phase.STARTING)
    assert decide(group, [f(1)], 200, POLICY).check is None
    d = decide(group, [f(1)], 281, POLICY, caller=Caller.RECONCILER)
    assert d.check is not None and d.check.overdue and d.check.run_id is None and d.check.token == group.token
    again = restart(group, 281, POLICY)
    assert again.lease is not None and again.lease.token == group.token and again.lease.epoch == group.epoch
    assert again.slot_delta == 0


def test_a_running_lease_is_looked_at_once_its_check_is_due() -> None:
    group = replace(leased(G, ("f#001",), at=100), next_check_at=400)
    assert decide(group, [f(1)], 399, POLICY, caller=Caller.RECONCILER).check is None
    assert decide(group, [f(1)], 400, POLICY, caller=Caller.RECONCILER).check.run_id == "jr_1"  # type: ignore[union-attr]


def test_the_reconciler_wakes_a_group_with_work_and_no_wakeup() -> None:
    d = decide(G, [f(1)], 100, POLICY, caller=Caller.RECONCILER)
    assert d.kind == "wake" and d.send_wake and d.lease is None
    pending = replace(G, wake_pending=True, next_check_at=500)
    assert not decide(pending, [f(1)], 100, POLICY, caller=Caller.RECONCILER).send_wake
    assert decide(pending, [f(1)], 500, POLICY, caller=Caller.RECONCILER).send_wake   # the sender died


def test_a_dead_file_not_yet_announced_is_announced_by_any_decision() -> None:
    dead = f(1, status=FileStatus.DEAD, deaths=2, announced=1, reason="x")
    d = decide(G, [dead], 100, BLOCK, caller=Caller.RECONCILER)
    assert [a.dedup_id for a in d.announce] == ["id1-dead-2"] and d.state == Phase.BLOCKED
    group, files = committed(G, [dead], d, 100)
    assert files[0].announced == 2 and not decide(group, files, 100, BLOCK).announce


def test_max_attempts_lowered_makes_the_head_dead_before_it_starts() -> None:
    tired = f(1, status=FileStatus.FAILED, attempts=3, finished_at=0)
    d = decide(G, [tired, f(2)], 1000, replace(POLICY, max_attempts=2))
    assert d.files[0].after.status == FileStatus.DEAD and d.lease is not None and d.lease.file_ids == ("id2",)


def test_a_decision_made_the_fast_way_equals_the_dataclass_one_and_refuses_unknown_fields() -> None:
    """``decide`` builds its decisions from a dict (``_decision``), not through the frozen dataclass's
    ``__init__``: they must be the same values, hash alike and stay frozen."""
    from dataclasses import FrozenInstanceError, asdict

    from landing_pipeline.runtime.decide import Decision, _decision

    d = decide(G, [f(1)], 100.0, POLICY)
    assert d == Decision(**{name: getattr(d, name) for name in asdict(d)})
    assert hash(d) == hash(Decision(**{name: getattr(d, name) for name in asdict(d)}))
    with pytest.raises(FrozenInstanceError):
        d.kind = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"no field.*'wake'"):
        _decision({"kind": "idle", "reason": "", "guard": d.guard, "state": Phase.IDLE, "wake": True})
