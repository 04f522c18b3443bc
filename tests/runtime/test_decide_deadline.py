"""runtime/decide_deadline.py against runtime/decide.py itself: on random histories of one group (the
generator of test_decide_properties), a group left in the slot line by the reconciler and decided again at
any later due time gets from ``repeat_wait`` exactly the decision ``decide`` takes, and from
``repeat_committed`` exactly the group item ``committed`` writes; where the shortcut does not apply it says
so (None) rather than guess."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from landing_pipeline.runtime.decide import Caller, Decision, committed, decide
from landing_pipeline.runtime.decide_deadline import IN_LINE, repeat_committed, repeat_wait
from landing_pipeline.runtime.decide_support import wake_waiter
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase, Policy
from tests.runtime.test_decide_properties import History, event

INTERVAL = 300.0


class Histories(History):
    """The random histories, without test_decide_properties' ordering check: this test checks another claim,
    and that check reads the files from before a decision that parks a late file and starts the next in one
    commit (a late file parked by the start that passes it looks RECEIVED to it)."""

    def check_start(self, d: Decision) -> None:
        pass


def _policy(on_failure: str, late_files: str, max_attempts: int, settle: int) -> Policy:
    return Policy(on_failure=on_failure, late_files=late_files, max_attempts=max_attempts, settle_s=settle,
                  retry_backoff_base_s=60, check_interval_s=INTERVAL)


@settings(max_examples=400, deadline=None)
@given(st.lists(event, max_size=40), st.sampled_from(["continue", "block"]), st.sampled_from(["run", "park"]),
       st.integers(1, 3), st.sampled_from([0, 30]),
       st.lists(st.tuples(st.floats(0, 3 * INTERVAL, allow_nan=False), st.booleans()), min_size=1, max_size=8))
def test_repeat_wait_is_decide_at_every_later_pass(events: list[tuple[str, object]], on_failure: str,
                                                   late_files: str, max_attempts: int, settle: int,
                                                   passes: list[tuple[float, bool]]) -> None:
    """Each pass: the time moves on, the reconciler decides; then maybe a freed slot wakes the group (a write
    of its own: the next pass has no previous decision to repeat, and decides with a wake-up pending)."""
    policy = _policy(on_failure, late_files, max_attempts, settle)
    history = Histories(policy)
    for kind, arg in events:
        history.step(kind, arg)
    history.step("dispatch", False)   # a start found no slot: the group waits, if it had a startable head
    previous: Decision | None = None
    for gap, woken in passes:
        history.now += gap
        group, files, now = history.group, history.files, history.now
        expected = decide(group, files, now, policy, caller=Caller.RECONCILER)
        if previous is not None:
            got = repeat_wait(previous, group, now, policy)
            if (previous.reason != IN_LINE or previous.files or previous.announce or group.next_check_at is None
                    or now < group.next_check_at):
                assert got is None
            else:
                assert got == expected
                after, after_files = committed(group, files, expected, now)
                assert repeat_committed(group, got) == after
                assert after_files == sorted(files, key=lambda f: f.sort_key)
        history.commit(expected)
        previous = expected
        if woken and (after_wake := wake_waiter(history.group)) is not None:
            history.group, previous = after_wake, None


def _waiting(files: list[OpenFile], policy: Policy, now: float) -> tuple[GroupItem, list[OpenFile]]:
    """A group the reconciler has just left in the slot line at ``now``."""
    group = GroupItem("g", seq=len(files))
    group, files = committed(group, files, decide(group, files, now, policy, slot_free=False), now)
    assert group.state == Phase.WAITING_FOR_SLOT
    d = decide(group, files, now, policy, caller=Caller.RECONCILER)
    assert d.reason == IN_LINE
    return (*committed(group, files, d, now),)


def test_a_waiting_group_repeats_for_many_passes_without_deciding() -> None:
    policy = _policy("continue", "run", 3, 30)
    group, files = _waiting([OpenFile("a#1", "1", 0.0), OpenFile("b#2", "2", 10.0)], policy, 100.0)
    previous = decide(group, files, 400.0, policy, caller=Caller.RECONCILER)
    group = committed(group, files, previous, 400.0)[0]
    for now in (700.0, 1000.5, 5000.0):
        d = repeat_wait(previous, group, now, policy)
        assert d is not None and d == decide(group, files, now, policy, caller=Caller.RECONCILER)
        assert d.next_check_at == now + INTERVAL and d.guard.version == group.version and not d.send_wake
        group, previous = repeat_committed(group, d), d


def test_a_pending_wake_up_is_resent_at_each_due_pass_as_decide_resends_it() -> None:
    policy = _policy("continue", "run", 3, 30)
    group, files = _waiting([OpenFile("a#1", "1", 0.0)], policy, 100.0)
    group = replace(group, wake_pending=True)   # a freed slot woke it and the sender died before its send
    previous = decide(group, files, 400.0, policy, caller=Caller.RECONCILER)
    assert previous.send_wake
    group = committed(group, files, previous, 400.0)[0]
    d = repeat_wait(previous, group, 700.0, policy)
    assert d is not None and d.send_wake and d == decide(group, files, 700.0, policy, caller=Caller.RECONCILER)


def test_not_due_not_in_line_or_changed_is_left_to_decide() -> None:
    policy = _policy("continue", "run", 3, 30)
    group, files = _waiting([OpenFile("a#1", "1", 0.0)], policy, 100.0)
    previous = decide(group, files, 400.0, policy, caller=Caller.RECONCILER)
    group = committed(group, files, previous, 400.0)[0]
    assert repeat_wait(previous, group, 699.0, policy) is None            # before next_check_at
    dispatcher_wait = decide(group, files, 700.0, policy, slot_free=False)
    assert repeat_wait(dispatcher_wait, group, 700.0, policy) is None     # the dispatcher's own wait
    started = committed(group, files, decide(group, files, 700.0, policy), 700.0)[0]
    assert repeat_wait(previous, started, 1000.0, policy) is None         # the group has moved on


def test_the_precondition_matters_a_file_recorded_since_changes_the_answer() -> None:
    """The shortcut cannot see the open files: a caller that used it after another write would be wrong.
    A new head file still settling turns "stay in line" into "settle", which only ``decide`` knows."""
    policy = _policy("continue", "run", 3, 30)
    group, files = _waiting([OpenFile("b#2", "2", 0.0)], policy, 100.0)
    previous = decide(group, files, 400.0, policy, caller=Caller.RECONCILER)
    group = committed(group, files, previous, 400.0)[0]
    newer = [OpenFile("a#1", "1", 690.0), *files]
    recorded = replace(group, seq=group.seq + 1)
    truth = decide(recorded, newer, 700.0, policy, caller=Caller.RECONCILER)
    assert truth.kind == "settle"
    shortcut = repeat_wait(previous, recorded, 700.0, policy)
    assert shortcut is not None and shortcut.kind == "wait_for_slot"   # hence the identity check in the caller
    assert all(f.status == FileStatus.RECEIVED for f in newer)
