"""The rules of the pipeline as one pure function: what to do with a group, given its state and the time.

Every handler (dispatcher, completion, reconciler) and the simulator call these functions and only carry
out what they return; none of them re-implements a rule. No AWS types, no clock, no I/O.

Use::

    d = decide(group, open_files, now, policy, caller=Caller.DISPATCHER, slot_free=True)
    d = run_ended(group, open_files, RunEnd(run_id, token, "FAILED", error), now, policy)

``group`` is a ``GroupItem``, ``open_files`` the group's ``OpenFile``s (any order; sorted here by
``sort_key``), ``policy`` a ``Policy`` (``Policy.from_spec(spec)``). The result is a ``Decision``:

- ``guard``: the group item's (seq, version, epoch) the decision was taken on. Commit every write of the
  decision in one transaction conditional on the guard; a failed condition means "load and decide again".
- ``state`` and the other group fields (``not_before``, ``next_check_at``, ``wake_pending``,
  ``waiting_since``, ``last_started_key``): the group item after the commit. ``lease`` set: a new lease
  (STARTING) with its files, epoch and token; ``release``: the current lease ends (its slot is freed).
- ``files``: per-file changes (``FileChange.after``; status SUCCEEDED or SKIPPED moves it to history).
- ``announce``: dead files to announce on the dead-files queue after the commit, each with a dedup id unique
  to that death; then record ``announced`` = that death number.
- ``send_wake``: after the commit, send one wake-up (``wake_dedup_id`` of the committed version and seq);
  ``hold_wake_s``: the dispatcher keeps the wake-up it is handling invisible that long instead of deleting it.
- ``slot_delta`` (+1 for a start, conditional on a free slot; -1 for a release) and ``waiter`` (add/remove
  the group's place in the slot line); after a release, wake the longest waiter.
- ``check``: the lease needs a look at Glue (a run id to GetJobRun, or a token to find among GetJobRuns);
  the answer goes to ``run_ended`` (ended, or still going: adopt) or, for a token Glue does not know after
  the grace, ``restart`` (start again with the same token; the job's fencing makes a double start harmless).
- ``writes``: False when nothing needs committing (a stale event, a live lease seen by the reconciler).

The invariants (tests/runtime/test_decide_properties.py): a start never covers a file while an earlier
open file of the group that is RECEIVED or FAILED (or, under ``onFailure: block``, DEAD and not parked late)
is left out; a decision never takes a lease while one is held.
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass
from dataclasses import fields as dataclass_fields
from enum import StrEnum
from operator import attrgetter

from landing_pipeline.runtime.contract import (
    GLUE_ACTIVE_STATES,
    GLUE_FAILURE_STATES,
    GLUE_SUCCEEDED,
    GLUE_TIMEOUT,
    INPUT_DELETED,
    PIPELINE_STOP,
)
from landing_pipeline.runtime.group_state import (
    FileStatus,
    GroupItem,
    OpenFile,
    Phase,
    Policy,
    evolve,
    run_token,
)

CAPACITY_MARKERS = re.compile(r"failed to acquire resources|concurrentrunsexceeded|max concurrent runs|"
                              r"resource unavailable|insufficient capacity", re.IGNORECASE)
"""Glue's words for "no capacity": the run never got to the file, so it costs the file no attempt (F7)."""
_INPUT_DELETED = re.compile(r"(?<![\w-])" + re.escape(INPUT_DELETED))
_SORT_KEY = attrgetter("sort_key")
_CLOSED = (FileStatus.SUCCEEDED, FileStatus.SKIPPED)
LATE_REASON = "late: recorded after a later file of its group had started (lateFiles=park)"


class Caller(StrEnum):
    """Who decides: only the dispatcher (handling a wake-up) starts runs; the others wake it."""

    DISPATCHER = "dispatcher"
    COMPLETION = "completion"
    RECONCILER = "reconciler"


class Outcome(StrEnum):
    """What a run's end state means for its files (``classify``)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"            # the file's own failure: one attempt
    INPUT_GONE = "input_gone"    # the input was deleted: DEAD at once
    CAPACITY = "capacity"        # Glue had no capacity: no attempt (F7)
    STOPPED = "stopped"          # stopped by the pipeline: no attempt (F7)
    UNKNOWN = "unknown"          # EXPIRED or a state with no rule: logged, failed without an attempt (F8)
    ACTIVE = "active"            # not ended


def missing_object(error: str | None) -> bool:
    """Whether a run failed because its input is gone (the job says ``input deleted:`` only after checking
    the key itself; a bare Spark PATH_NOT_FOUND may name another path and is retried as what it is)."""
    return bool(error and _INPUT_DELETED.search(error))


def classify(state: str, error: str | None) -> Outcome:
    """The rule for every Glue run state, known or not."""
    if state == GLUE_SUCCEEDED:
        return Outcome.SUCCEEDED
    if state in GLUE_ACTIVE_STATES:
        return Outcome.ACTIVE
    text = error or ""
    if state in GLUE_FAILURE_STATES:
        if CAPACITY_MARKERS.search(text):
            return Outcome.CAPACITY
        if state == "STOPPED" and PIPELINE_STOP in text:
            return Outcome.STOPPED
        if missing_object(text):
            return Outcome.INPUT_GONE
        return Outcome.FAILED
    return Outcome.UNKNOWN


@dataclass(frozen=True)
class Guard:
    """The group item's counters a decision was taken on: its writes commit only if they are unchanged."""

    seq: int
    version: int
    epoch: int


@dataclass(frozen=True)
class FileChange:
    before: OpenFile
    after: OpenFile
    event: str   # succeeded | failed | dead | parked_late | announced | alone


@dataclass(frozen=True)
class Announcement:
    file_id: str
    sort_key: str
    death: int
    reason: str

    @property
    def dedup_id(self) -> str:
        """Unique to this death: a file redriven and dead again is announced again (F5)."""
        return f"{self.file_id[:100]}-dead-{self.death}"


@dataclass(frozen=True)
class NewLease:
    epoch: int
    token: str
    sort_keys: tuple[str, ...]
    file_ids: tuple[str, ...]
    run_numbers: tuple[int, ...]   # each file's attempts + 1 (the job's --attempt)
    late: tuple[str, ...]          # sort keys of files in it that were recorded late


@dataclass(frozen=True)
class RunCheck:
    token: str
    run_id: str | None   # None: find the run among the job's runs by its token
    overdue: bool        # STARTING past its grace: with no run found, restart with the same token


@dataclass(frozen=True)
class RunEnd:
    """What Glue (or its event) says about the lease's run."""

    run_id: str | None
    token: str | None
    state: str
    error: str | None = None


@dataclass(frozen=True)
class Decision:
    kind: str
    reason: str
    guard: Guard
    state: Phase
    writes: bool = True
    lease: NewLease | None = None
    release: bool = False
    run_id: str | None = None          # adopt: the run id now known for the lease
    files: tuple[FileChange, ...] = ()
    announce: tuple[Announcement, ...] = ()
    not_before: float | None = None
    next_check_at: float | None = None
    wake_pending: bool = False
    send_wake: bool = False
    hold_wake_s: int | None = None
    slot_delta: int = 0
    waiter: str | None = None          # add | remove
    waiting_since: float | None = None
    last_started_key: str = ""
    check: RunCheck | None = None
    outcome: Outcome | None = None


_DECISION_FIELDS = {f.name: f for f in dataclass_fields(Decision)}
_DECISION_DEFAULTS = {name: f.default for name, f in _DECISION_FIELDS.items() if f.default is not MISSING}
_DECISION_FIELD_COUNT = len(_DECISION_FIELDS)


def _decision(values: dict[str, object]) -> Decision:
    """``Decision(**values)`` without the frozen dataclass's ``object.__setattr__`` per field (22 fields: three
    quarters of the cost of making one, and the simulator makes several a file). An unknown name is refused
    (it would make one attribute too many); ``values`` always has the fields without a default."""
    d = object.__new__(Decision)
    state = d.__dict__
    state.update(_DECISION_DEFAULTS)
    state.update(values)
    if len(state) != _DECISION_FIELD_COUNT:
        raise TypeError(f"Decision has no field {sorted(state.keys() - _DECISION_FIELDS.keys())}")
    return d


# --- deciding what a group does next ---------------------------------------------------------------------

def decide(group: GroupItem, files: list[OpenFile] | tuple[OpenFile, ...], now: float, policy: Policy, *,
           caller: Caller = Caller.DISPATCHER, slot_free: bool = True) -> Decision:
    """The next step of ``group`` at ``now``. ``slot_free=False``: the caller found no free Glue slot for
    the start this function proposed with ``slot_free=True`` (decide again to wait for one)."""
    ordered = sorted(files, key=_SORT_KEY)
    guard = Guard(group.seq, group.version, group.epoch)
    if group.leased:
        return _leased(group, ordered, now, policy, caller, guard)
    return _plan(group, ordered, now, policy, caller, guard, slot_free=slot_free)


def restart(group: GroupItem, now: float, policy: Policy) -> Decision:
    """A STARTING lease whose run Glue does not show after the grace: start again with the same token."""
    guard = Guard(group.seq, group.version, group.epoch)
    lease = NewLease(group.epoch, group.token or run_token(group.group, group.epoch), group.lease_keys,
                     (), (), ())
    return Decision("restart", "no run found for the lease's token after the grace: start again, same token",
                    guard, Phase.STARTING, lease=lease, next_check_at=now + policy.start_grace_s,
                    wake_pending=group.wake_pending, last_started_key=group.last_started_key)


def run_ended(group: GroupItem, files: list[OpenFile] | tuple[OpenFile, ...], end: RunEnd, now: float,
              policy: Policy, *, caller: Caller = Caller.COMPLETION) -> Decision:
    """Apply the end (or the news) of the lease's run: per-file outcomes, release, and what follows."""
    ordered = sorted(files, key=_SORT_KEY)
    guard = Guard(group.seq, group.version, group.epoch)
    if not group.leased or not _same_run(group, end):
        return Decision("stale", "not the run of the group's current lease", guard, group.state, writes=False,
                        wake_pending=group.wake_pending, last_started_key=group.last_started_key)
    outcome = classify(end.state, end.error)
    if outcome == Outcome.ACTIVE:
        if group.state == Phase.STARTING and end.run_id:
            return Decision("adopt", f"run {end.run_id} found {end.state}", guard, Phase.RUNNING,
                            run_id=end.run_id, next_check_at=(group.lease_at or now) + policy.check_interval_s,
                            wake_pending=group.wake_pending, last_started_key=group.last_started_key,
                            outcome=outcome)
        return Decision("hold", f"run still {end.state}", guard, group.state, writes=False,
                        wake_pending=group.wake_pending, last_started_key=group.last_started_key, outcome=outcome)
    in_lease = [f for f in ordered if f.sort_key in group.lease_keys]
    changes: list[FileChange] = []
    hold_until: float | None = None
    if outcome == Outcome.SUCCEEDED:
        changes = [FileChange(f, evolve(f, status=FileStatus.SUCCEEDED, reason=None), "succeeded")
                   for f in in_lease if f.startable]
    elif outcome in (Outcome.FAILED, Outcome.INPUT_GONE) and in_lease:
        # a batch stops at its first failure: the files before it were committed by the job, one by one (so they
        # are no longer open), the first open one is the file it was on, the files after it wait again, no attempt
        head = in_lease[0]
        if end.state == GLUE_TIMEOUT and len(group.lease_keys) > 1 and not head.alone:
            # killed at the job timeout in a batch: perhaps only the batch was too long. It runs alone first
            changes = [FileChange(head, evolve(head, alone=True), "alone")]
        else:
            changes = [_charge(head, outcome, end, now, policy)]
    elif outcome in (Outcome.CAPACITY, Outcome.STOPPED, Outcome.UNKNOWN):
        hold_until = now + policy.retry_backoff_base_s   # no attempt; do not hammer Glue either
    released = evolve(group, state=Phase.IDLE, token=None, run_id=None, claimed_by=None, lease_keys=(),
                       lease_at=None)
    after = _apply(ordered, changes)
    d = _plan(released, after, now, policy, caller, guard, changes=tuple(changes), hold_until=hold_until)
    if d.lease is not None:
        # only the dispatcher plans a start; a release and a new lease in one commit would keep the freed slot
        # from the longest waiter and leave the group STARTING with no token. The dispatcher holds a wake-up:
        # it keeps it pending and decides again on the released group (a crash returns the message to it)
        d = Decision("wake", f"{d.reason} next", guard, Phase.IDLE, files=d.files, announce=d.announce,
                     wake_pending=True, next_check_at=now + policy.check_interval_s,
                     last_started_key=group.last_started_key)
    reason = f"run {end.run_id or end.token} {end.state} ({outcome}); {d.reason}"
    return evolve(d, kind="released", reason=reason, release=True, slot_delta=-1, outcome=outcome,
                   lease=None, waiter=None if d.waiter != "add" else "add")


def start_refused(group: GroupItem, files: list[OpenFile] | tuple[OpenFile, ...], now: float, policy: Policy, *,
                  no_slot: bool) -> Decision:
    """Glue refused the lease's StartJobRun (so no run exists): release the lease, no attempt, and wait for a
    slot (``no_slot``: every slot taken) or back off briefly (Glue's request rate). Decided by the dispatcher."""
    guard = Guard(group.seq, group.version, group.epoch)
    released = evolve(group, state=Phase.IDLE, token=None, run_id=None, claimed_by=None, lease_keys=(),
                       lease_at=None)
    ordered = sorted(files, key=_SORT_KEY)
    hold = None if no_slot else now + min(30.0, float(policy.retry_backoff_base_s))
    d = _plan(released, ordered, now, policy, Caller.DISPATCHER, guard, slot_free=not no_slot, hold_until=hold)
    if d.lease is not None:   # cannot happen with slot_free=False; the rate case waits first
        d = _plan(released, ordered, now, policy, Caller.DISPATCHER, guard, slot_free=False)
    return evolve(d, kind="refused", reason=f"StartJobRun refused; {d.reason}", release=True, slot_delta=-1)


# --- the rules -------------------------------------------------------------------------------------------

def _leased(group: GroupItem, files: list[OpenFile], now: float, policy: Policy, caller: Caller,
            guard: Guard) -> Decision:
    """A lease is held: nobody else starts anything (F2). Due for a look at Glue, say so."""
    announce = _unannounced(files)
    token = group.token or run_token(group.group, group.epoch)
    lease_at = group.lease_at if group.lease_at is not None else now
    check = None
    run_id = group.claimed_by or group.run_id   # a claimed lease is the claiming run's (the job's fencing)
    if group.state == Phase.STARTING and now >= lease_at + policy.start_grace_s:
        check = RunCheck(token, run_id, overdue=True)
    elif group.state == Phase.RUNNING and now >= (group.next_check_at or lease_at + policy.check_interval_s):
        check = RunCheck(token, run_id, overdue=False)
    # the dispatcher deletes the wake-up it holds: the lease's release wakes the group again
    wake_pending = False if caller == Caller.DISPATCHER else group.wake_pending
    writes = wake_pending != group.wake_pending or bool(announce)
    kind = "check_run" if check else "hold"
    reason = f"lease epoch {group.epoch} is {group.state}" + ("; its run needs a look" if check else "")
    return Decision(kind, reason, guard, group.state, writes=writes, announce=tuple(announce),
                    not_before=group.not_before, next_check_at=group.next_check_at, wake_pending=wake_pending,
                    last_started_key=group.last_started_key, check=check, waiting_since=None)


def _plan(group: GroupItem, files: list[OpenFile], now: float, policy: Policy, caller: Caller, guard: Guard, *,
          slot_free: bool = True, changes: tuple[FileChange, ...] = (), hold_until: float | None = None) -> Decision:
    """No lease: find the head file in order and say what it waits for, or start it."""
    changed = list(changes)
    announce = list(_unannounced(files))
    head: OpenFile | None = None
    blocked_by: OpenFile | None = None
    for f in files:
        if f.status == FileStatus.DEAD:
            if policy.on_failure == "block" and not f.late:
                blocked_by = f
                break
            continue
        if f.late and policy.late_files == "park" and f.attempts == 0 and f.redrives == 0:
            dead = evolve(f, status=FileStatus.DEAD, deaths=f.deaths + 1, reason=LATE_REASON)
            changed.append(FileChange(f, dead, "parked_late"))
            announce.append(Announcement(f.file_id, f.sort_key, dead.deaths, LATE_REASON))
            continue
        if f.attempts_since_redrive >= policy.max_attempts:   # e.g. maxAttempts lowered since its last run
            why = f"maxAttempts={policy.max_attempts} used up"
            dead = evolve(f, status=FileStatus.DEAD, deaths=f.deaths + 1, reason=why)
            changed.append(FileChange(f, dead, "dead"))
            announce.append(Announcement(f.file_id, f.sort_key, dead.deaths, why))
            if policy.on_failure == "block":
                blocked_by = dead
                break
            continue
        head = f
        break

    def out(kind: str, reason: str, state: Phase, **kw: object) -> Decision:
        was_waiting = group.state == Phase.WAITING_FOR_SLOT
        waiter = "add" if state == Phase.WAITING_FOR_SLOT and not was_waiting else (
            "remove" if was_waiting and state != Phase.WAITING_FOR_SLOT else None)
        fields: dict[str, object] = {"kind": kind, "reason": reason, "guard": guard, "state": state,
                                     "files": tuple(changed), "announce": tuple(announce),
                                     "wake_pending": False if caller == Caller.DISPATCHER else group.wake_pending,
                                     "last_started_key": group.last_started_key, "waiter": waiter}
        fields.update(kw)
        if announce:
            due = fields.get("next_check_at")
            fields["next_check_at"] = now if due is None else min(float(due), now)  # type: ignore[arg-type]
        return _decision(fields)

    if blocked_by is not None:
        return out("blocked", f"onFailure=block: {blocked_by.file_id} is DEAD; redrive or skip it", Phase.BLOCKED)
    if head is None:
        return out("idle", "no work", Phase.IDLE)
    wait_until, state, why = _wait(head, now, policy, hold_until)
    batch = _batch(files, head, now, policy)
    if wait_until is None:
        wait_until = _window(group, head, batch, now, policy)
        if wait_until is not None:
            state, why = Phase.SETTLING, "batch_window"
    if wait_until is not None:
        if caller == Caller.DISPATCHER:   # keep the wake-up this invocation holds until then
            return out(why, f"{why} until {wait_until:.0f}", state, not_before=wait_until,
                       next_check_at=wait_until + policy.start_grace_s, wake_pending=True,
                       hold_wake_s=max(1, math.ceil(wait_until - now)))
        return out(why, f"{why} until {wait_until:.0f}", state, not_before=wait_until,
                   next_check_at=wait_until + policy.start_grace_s, wake_pending=True,
                   send_wake=_should_send(group, now, caller))
    if caller != Caller.DISPATCHER and group.state == Phase.WAITING_FOR_SLOT:
        # it keeps its place in the slot line: a release (or the reconciler's free slots) wakes the longest
        # waiter; only a wake-up already pending and due is sent again (its sender may have died before it)
        return out("wait_for_slot", "in line for a Glue slot", Phase.WAITING_FOR_SLOT,
                   waiting_since=group.waiting_since if group.waiting_since is not None else now,
                   wake_pending=group.wake_pending, next_check_at=now + policy.check_interval_s,
                   send_wake=group.wake_pending and _should_send(group, now, caller))
    if caller != Caller.DISPATCHER:
        return out("wake", f"{head.file_id} is ready: wake the dispatcher", Phase.IDLE, wake_pending=True,
                   next_check_at=now + policy.check_interval_s, send_wake=_should_send(group, now, caller))
    if not slot_free:
        since = group.waiting_since if group.waiting_since is not None else now
        return out("wait_for_slot", "every Glue slot is taken", Phase.WAITING_FOR_SLOT, waiting_since=since,
                   next_check_at=now + policy.check_interval_s)
    epoch = group.epoch + 1
    keys = tuple(f.sort_key for f in batch)
    lease = NewLease(epoch, run_token(group.group, epoch), keys, tuple(f.file_id for f in batch),
                     tuple(f.attempts + 1 for f in batch),
                     tuple(f.sort_key for f in batch if f.late or f.sort_key < group.last_started_key))
    return out("start", f"start {len(batch)} file(s) from {head.file_id}", Phase.STARTING, lease=lease,
               slot_delta=1, next_check_at=now + policy.start_grace_s,
               last_started_key=max(group.last_started_key, keys[-1]))


def _wait(head: OpenFile, now: float, policy: Policy, hold_until: float | None
          ) -> tuple[float | None, Phase, str]:
    if hold_until is not None and now < hold_until:
        return hold_until, Phase.BACKOFF, "backoff"
    if head.status == FileStatus.FAILED and head.finished_at is not None:
        until = head.finished_at + policy.retry_backoff_s(max(1, head.attempts_since_redrive))
        if now < until:
            return until, Phase.BACKOFF, "backoff"
    if head.attempts == 0 and head.redrives == 0 and now < head.landed_at + policy.settle_s:
        return head.landed_at + policy.settle_s, Phase.SETTLING, "settle"
    return None, Phase.IDLE, ""


def _batch(files: list[OpenFile], head: OpenFile, now: float, policy: Policy) -> list[OpenFile]:
    """The head, then the settled never-run files right after it, in order, up to ``batch_max_files`` and
    ``batch_max_bytes`` (the head runs whatever its size). A file a killed batch was on runs alone."""
    batch = [head]
    if head.alone:
        return batch
    size = head.size
    for f in files[files.index(head) + 1:]:
        if len(batch) >= max(1, policy.batch_max_files):
            break
        if f.status != FileStatus.RECEIVED or f.attempts or f.late or f.alone or now < f.landed_at + policy.settle_s:
            break
        if policy.batch_max_bytes and size + f.size > policy.batch_max_bytes:
            break
        size += f.size
        batch.append(f)
    return batch


def _window(group: GroupItem, head: OpenFile, batch: list[OpenFile], now: float, policy: Policy) -> float | None:
    """When an idle group's fresh head file stops waiting for more files to fill its batch (None: start now).
    Only a head that never ran waits (a retry or a redrive does not), only while the batch is short of
    ``batch_max_files``, and never past ``batch_window_s`` after it landed."""
    if policy.batch_window_s <= 0 or policy.batch_max_files <= 1 or len(batch) >= policy.batch_max_files:
        return None
    if head.attempts or head.redrives or head.alone or head.late or group.state == Phase.WAITING_FOR_SLOT:
        return None
    until = head.landed_at + policy.batch_window_s
    return until if now < until else None


def _charge(head: OpenFile, outcome: Outcome, end: RunEnd, now: float, policy: Policy) -> FileChange:
    """The file's own failure: one attempt; DEAD when the input is gone or the attempts are used up."""
    attempts = head.attempts + 1
    error = f"{end.state}: {end.error}" if end.error else end.state
    if outcome == Outcome.INPUT_GONE:
        why = f"object deleted before processing ({error})"
    elif attempts - head.attempt_base >= policy.max_attempts:
        why = f"attempt {attempts} failed, maxAttempts={policy.max_attempts} used up: {error}"
    else:
        return FileChange(head, evolve(head, status=FileStatus.FAILED, attempts=attempts, finished_at=now,
                                        reason=error[:2000], alone=False), "failed")
    dead = evolve(head, status=FileStatus.DEAD, attempts=attempts, finished_at=now, deaths=head.deaths + 1,
                   reason=why[:2000], alone=False)
    return FileChange(head, dead, "dead")


def _apply(files: list[OpenFile], changes: list[FileChange] | tuple[FileChange, ...]) -> list[OpenFile]:
    if changes:
        by_key = {c.before.sort_key: c.after for c in changes}
        files = [by_key.get(f.sort_key, f) for f in files]
    return [f for f in files if f.status not in _CLOSED]


def _unannounced(files: list[OpenFile]) -> list[Announcement]:
    # deaths > announced first: it is false for nearly every file, and cheaper than the status comparison
    return [Announcement(f.file_id, f.sort_key, f.deaths, f.reason or "DEAD")
            for f in files if f.deaths > f.announced and f.status == FileStatus.DEAD]


def _should_send(group: GroupItem, now: float, caller: Caller) -> bool:
    """One wake-up pending per group: send unless one is; the reconciler re-sends a due one (a sender that
    crashed between its commit and its send left ``wake_pending`` set with nothing in the queue)."""
    if not group.wake_pending:
        return True
    return caller == Caller.RECONCILER and (group.next_check_at is None or group.next_check_at <= now)


def _same_run(group: GroupItem, end: RunEnd) -> bool:
    """The end is the lease's: same token and, once a run has claimed the lease, that run (a second run of
    the same token, started by a restart, lost the claim and its end says nothing about the lease)."""
    if group.claimed_by and end.run_id and end.run_id != group.claimed_by:
        return False
    if end.token and group.token:
        return end.token == group.token
    return bool(end.run_id) and end.run_id == group.run_id


# --- the state after a decision's commit ------------------------------------------------------------------

def committed(group: GroupItem, files: list[OpenFile] | tuple[OpenFile, ...], d: Decision, now: float, *,
              run_id: str | None = None) -> tuple[GroupItem, list[OpenFile]]:
    """The group item and open files once ``d``'s writes are committed, exactly as the ledger writes them
    (and as the simulator keeps its table). ``run_id``: the id StartJobRun answered, once recorded."""
    if not d.writes:
        return group, sorted(files, key=_SORT_KEY)
    after = _apply(sorted(files, key=_SORT_KEY), d.files)
    fields: dict[str, object] = {
        "version": group.version + 1, "state": d.state, "not_before": d.not_before,
        "next_check_at": d.next_check_at, "wake_pending": d.wake_pending or d.send_wake,
        "last_started_key": d.last_started_key or group.last_started_key}
    if d.state == Phase.WAITING_FOR_SLOT:
        fields["waiting_since"] = d.waiting_since
    else:
        fields["waiting_since"] = None
    if d.lease is not None:
        fields.update(epoch=d.lease.epoch, token=d.lease.token, lease_keys=d.lease.sort_keys,
                      lease_at=now if d.kind != "restart" else group.lease_at, run_id=None, claimed_by=None)
    elif d.release:
        fields.update(token=None, run_id=None, claimed_by=None, lease_keys=(), lease_at=None)
    if d.run_id is not None:
        fields["run_id"] = d.run_id
    if run_id is not None:
        fields.update(run_id=run_id, state=Phase.RUNNING)
    if d.announce:
        announced = {a.sort_key: a.death for a in d.announce}
        after = [evolve(f, announced=announced[f.sort_key]) if f.sort_key in announced else f for f in after]
    return evolve(group, **fields), after  # type: ignore[arg-type]
