"""Properties of runtime/decide.py over random histories of one group: files recorded in any order and at any
time, dispatches with and without a free slot, runs ending in every state, reconciler passes, redrives.

Checked from the history itself (what was recorded when, what started when), not from the group item:
- never two leases: a start is only decided while no lease is held;
- no ordering violation: a start never covers a file while an earlier file of the group (by sort key)
  recorded before that start has not finished (SUCCEEDED, SKIPPED, or DEAD when the group does not block);
- a file that a start covers is not DEAD, and its attempts never exceed maxAttempts since its redrive.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from landing_pipeline.runtime.decide import Caller, Decision, RunEnd, committed, decide, restart, run_ended
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Policy

STATES = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED", "RUNNING",
          "FAILED:Failed to acquire resources", "FAILED:input deleted: s3://b/k")

event = st.one_of(
    st.tuples(st.just("record"), st.integers(0, 40)),
    st.tuples(st.just("dispatch"), st.booleans()),
    st.tuples(st.just("end"), st.sampled_from(STATES)),
    st.tuples(st.just("reconcile"), st.sampled_from(STATES)),
    st.tuples(st.just("redrive"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.integers(1, 400)),
)


class History:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.group = GroupItem("g")
        self.files: list[OpenFile] = []
        self.now = 1000.0
        self.finished: dict[str, str] = {}   # sort key -> final status
        self.recorded_at: dict[str, float] = {}
        self.starts = 0
        self.n = 0

    def commit(self, d: Decision, *, run_id: str | None = None) -> None:
        if d.lease is not None and d.kind == "start":
            self.check_start(d)
        before = {f.sort_key: f for f in self.files}
        self.group, self.files = committed(self.group, self.files, d, self.now, run_id=run_id)
        for change in d.files:
            if change.after.status in (FileStatus.SUCCEEDED, FileStatus.SKIPPED):
                self.finished[change.before.sort_key] = change.after.status
        assert all(f.sort_key in before for f in self.files)

    def check_start(self, d: Decision) -> None:
        assert d.lease is not None
        assert not self.group.leased, "a second lease while one is held"
        self.starts += 1
        first = min(d.lease.sort_keys)
        by_key = {f.sort_key: f for f in self.files}
        for key in d.lease.sort_keys:
            f = by_key[key]
            assert f.status != FileStatus.DEAD
            assert f.attempts_since_redrive < self.policy.max_attempts
        after = {change.before.sort_key: change.after for change in d.files}  # what the decision writes with it
        for f in (after.get(f.sort_key, f) for f in self.files):  # (a late file it parks is no longer open)
            if f.sort_key >= first or f.sort_key in d.lease.sort_keys:
                continue
            unfinished = f.startable or (f.status == FileStatus.DEAD and self.policy.on_failure == "block"
                                         and not f.late)
            assert not unfinished, f"ordering violation: {first} started while {f.sort_key} ({f.status}) was open"

    def record(self, landed_offset: int) -> None:
        self.n += 1
        key = f"f#{self.now - landed_offset:012.1f}#{self.n:04d}"
        late = key < self.group.last_started_key
        self.files.append(OpenFile(key, f"id{self.n}", landed_at=self.now - landed_offset, late=late))
        self.recorded_at[key] = self.now
        self.group = replace(self.group, seq=self.group.seq + 1)

    def end(self, state_text: str, caller: Caller) -> None:
        if not self.group.leased:
            return
        state, _, error = state_text.partition(":")
        end = RunEnd(self.group.run_id or "jr", self.group.token, state, error or None)
        self.commit(run_ended(self.group, self.files, end, self.now, self.policy, caller=caller))

    def step(self, kind: str, arg: object) -> None:
        if kind == "record":
            self.record(int(arg))  # type: ignore[call-overload]
        elif kind == "dispatch":
            d = decide(self.group, self.files, self.now, self.policy, slot_free=bool(arg))
            self.commit(d, run_id=f"jr{self.starts + 1}" if d.kind == "start" else None)
        elif kind == "end":
            self.end(str(arg), Caller.COMPLETION)
        elif kind == "reconcile":
            d = decide(self.group, self.files, self.now, self.policy, caller=Caller.RECONCILER)
            if d.check is not None:
                if d.check.overdue and str(arg) == "EXPIRED":
                    self.commit(restart(self.group, self.now, self.policy))
                else:
                    self.end(str(arg), Caller.RECONCILER)
            else:
                self.commit(d)
        elif kind == "redrive":
            dead = [f for f in self.files if f.status == FileStatus.DEAD]
            if dead:
                f = dead[int(arg) % len(dead)]  # type: ignore[call-overload]
                self.files = [replace(x, status=FileStatus.RECEIVED, attempt_base=x.attempts, redrives=x.redrives + 1,
                                      late=False) if x is f else x for x in self.files]
                self.group = replace(self.group, version=self.group.version + 1)
        else:
            self.now += int(arg)  # type: ignore[call-overload]


@settings(max_examples=400, deadline=None)
@given(st.lists(event, max_size=60), st.sampled_from(["continue", "block"]), st.sampled_from(["run", "park"]),
       st.integers(1, 3), st.sampled_from([0, 30]))
def test_no_history_starts_out_of_order_or_twice(events: list[tuple[str, object]], on_failure: str,
                                                 late_files: str, max_attempts: int, settle: int) -> None:
    history = History(Policy(on_failure=on_failure, late_files=late_files, max_attempts=max_attempts,
                             settle_s=settle, retry_backoff_base_s=60))
    for kind, arg in events:
        history.step(kind, arg)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12), st.sampled_from(["continue", "block"]))
def test_every_file_finishes_when_every_run_succeeds(landed: list[int], on_failure: str) -> None:
    """Liveness: with runs that succeed, dispatching and waiting long enough finishes every file."""
    history = History(Policy(on_failure=on_failure, settle_s=30))
    for offset in landed:
        history.record(offset)
    for _ in range(4 * len(landed) + 4):
        history.step("wait", 31)
        history.step("dispatch", True)
        history.step("end", "SUCCEEDED")
    assert history.files == [] and len(history.finished) == len(landed) and history.starts == len(landed)
