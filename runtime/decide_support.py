"""The ledger's writes that are not decisions, as pure functions of the group item: the router recording a
file, a freed slot waking a waiter, the dispatcher recording the run id StartJobRun answered, the job
claiming its lease and committing its files.

``runtime/decide.py`` holds the rules a handler decides by; these three writes have rules of their own (is
the file late, does this write owe the group a wake-up, may a waiter be woken) that the ledger applies in
its conditional writes. Written once here so the ledger (``runtime/ledger.py``) and the simulator, which
keeps its table in memory, apply the same ones. No AWS types, no clock, no I/O.
"""

from __future__ import annotations

from landing_pipeline.runtime.group_state import LEASED, GroupItem, OpenFile, Phase, evolve
from landing_pipeline.runtime.values import Frozen


class RecordedFile(Frozen):
    """What the router's transaction writes: the group item after it, the file item, and whether this write
    set ``wake_pending`` (then exactly this writer sends the group's one wake-up)."""

    _fields = __slots__ = ("group", "file", "late", "wake")
    group: GroupItem
    file: OpenFile
    late: bool
    wake: bool

    def __init__(self, group: GroupItem, file: OpenFile, late: bool, wake: bool) -> None:
        self._init(group, file, late, wake)


def record_file(group: GroupItem, file: OpenFile, now: float, *, wake_check_s: float) -> RecordedFile:
    """Record ``file`` in ``group``: ``seq`` + 1 (so every decision taken on the group before it fails its
    guard), the file late if a later file of the group has already started, and a wake-up owed when the group
    is idle with none pending (its ``next_check_at`` then lets the reconciler resend it if the router dies
    before sending). ``version`` is left alone: only decisions bump it."""
    late = bool(group.last_started_key) and file.sort_key < group.last_started_key
    wake = group.state == Phase.IDLE and not group.wake_pending
    stored = OpenFile(file.sort_key, file.file_id, file.landed_at, late=late, size=file.size)
    after = evolve(group, seq=group.seq + 1, wake_pending=group.wake_pending or wake,
                    next_check_at=now + wake_check_s if wake else group.next_check_at)
    return RecordedFile(after, stored, late, wake)


def wake_waiter(group: GroupItem) -> GroupItem | None:
    """A freed slot wakes a group waiting for one: ``wake_pending`` set (and ``version`` + 1) if the group still
    waits and has no wake-up coming; None when the write's condition fails. The group keeps its place in the
    slot line (``waiting_since``) until it starts."""
    if group.state != Phase.WAITING_FOR_SLOT or group.wake_pending:
        return None
    return evolve(group, wake_pending=True, version=group.version + 1)


def record_run(group: GroupItem, token: str, run_id: str) -> GroupItem | None:
    """The run id StartJobRun answered for the lease ``token``: the group is RUNNING. None when the lease has
    moved on (its condition fails). Not a decision: ``version`` is left alone."""
    if group.token != token or group.state not in LEASED:
        return None
    return evolve(group, run_id=run_id, state=Phase.RUNNING)


def claim(group: GroupItem, token: str, run_id: str) -> GroupItem | None:
    """The job's first step (its fencing): the run owns the lease ``token`` unless another run claimed it.
    None when the claim fails: the run exits without touching data. Not a decision: ``version`` is left."""
    if group.token != token or group.claimed_by not in (None, run_id):
        return None
    return group if group.claimed_by == run_id else evolve(group, claimed_by=run_id)


def may_commit(group: GroupItem, token: str, run_id: str) -> bool:
    """The condition of the job's per-file commit (the file moves to history as SUCCEEDED): its claim holds."""
    return group.token == token and group.claimed_by == run_id
