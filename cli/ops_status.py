"""What ``landing status`` shows: each group's state and lease, and its files in the group's order.

A group's open files and its group item come from one strongly consistent read of its partition (the same
``Ledger.load_group`` every decision makes), so the state, the lease and the files still to do are exactly what
the next decision will see. Finished files (SUCCEEDED, SKIPPED) come from the ``by_group_files`` index, which
is eventually consistent: a file finished a moment ago may still show its last open state there, which is why
an open file's row always wins over its history row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from landing_pipeline.runtime.group_state import GroupItem, OpenFile
from landing_pipeline.runtime.ledger import FileRecord, GroupView, Ledger
from landing_pipeline.runtime.ledger_items import Lineage, iso
from landing_pipeline.runtime.order import readable


@dataclass(frozen=True)
class FileRow:
    """One file of a group as an operator reads it."""

    file_id: str
    key: str
    status: str
    order: str
    """The order key, readable (``order_text``): ``landing_time`` gives the landing second (UTC), then the key."""
    late: bool
    """Recorded after a later file of its group had started (``lateFiles`` decides what happened next)."""
    in_run: bool
    """Covered by the group's current lease (being started or running)."""
    attempts: int
    attempts_since_redrive: int
    deaths: int
    announced: int
    redrives: int
    landed_at: str | None
    finished_at: str | None
    reason: str | None
    output_location: str | None = None
    run_id: str | None = None
    """The run that processed it (a finished file), or the run its lease's run is (a file in a run)."""
    batch_position: str | None = None
    """Its place in that run's batch, ``2/5`` (``1/1``: a run of that file alone)."""


@dataclass(frozen=True)
class GroupStatus:
    """A group's item (state, lease, timers) and its files in order: open ones first-hand, finished from history."""

    group: str
    state: str
    epoch: int
    token: str | None
    run_id: str | None
    claimed_by: str | None
    lease_since: str | None
    not_before: str | None
    wake_pending: bool
    waiting_since: str | None
    next_check_at: str | None
    last_started: str
    """The order key of the latest file the group started: a file recorded below it is late."""
    leased: bool
    """The group holds a lease (starting or running): one run of it may be working."""
    files: list[FileRow]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _when(ts: float | None) -> str | None:
    return iso(ts) if ts else None


ORDER_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How ``order_text`` writes the landing second."""


def order_brief(order: str) -> str:
    """The part of ``order_text`` an operator orders by at a glance: the landing second, written for reading
    (``2025-09-15 10:15:00``), or under ``file_name`` order the name; the sequencer, a tie-breaker within one
    second, stays in ``--json``."""
    first = order.split(" | ", 1)[0]
    try:
        return datetime.strptime(first, ORDER_TIME_FORMAT).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return first  # a file name (file_name order): as it is


def order_text(sort_key: str, key: str = "") -> str:
    """A sort key as an operator reads it: the landing second as UTC time and the sequencer when the event carried
    one (``file_name`` order starts with the name). The key, its tie-breaker, is left out when it is the file's own
    (it is in the next column already)."""
    shown = []
    for part in readable(sort_key).split(" | "):
        if len(part) == 11 and part.isdigit():
            shown.append(datetime.fromtimestamp(int(part), tz=UTC).strftime(ORDER_TIME_FORMAT))
        elif part and part.strip("0") and part != key:
            shown.append(part)
    return " | ".join(shown)


def _open_row(f: OpenFile, lineage: Lineage | None, group: GroupItem) -> FileRow:
    key = lineage.key if lineage else ""
    lease_keys = group.lease_keys
    in_run = f.sort_key in lease_keys
    return FileRow(file_id=f.file_id, key=key, status=str(f.status), order=order_text(f.sort_key, key), late=f.late,
                   in_run=in_run, attempts=f.attempts,
                   attempts_since_redrive=f.attempts_since_redrive, deaths=f.deaths, announced=f.announced,
                   redrives=f.redrives, landed_at=_when(f.landed_at), finished_at=_when(f.finished_at),
                   reason=f.reason, run_id=(group.claimed_by or group.run_id) if in_run else None,
                   batch_position=f"{lease_keys.index(f.sort_key) + 1}/{len(lease_keys)}" if in_run else None)


def _history_row(r: FileRecord) -> FileRow:
    return FileRow(file_id=r.file_id, key=r.key, status=str(r.status), order=order_text(r.sort_key, r.key), late=r.late,
                   in_run=False, attempts=r.attempts, attempts_since_redrive=r.attempts_since_redrive,
                   deaths=r.deaths, announced=r.announced, redrives=r.redrives, landed_at=_when(r.landed_at),
                   finished_at=_when(r.finished_at), reason=r.reason, output_location=r.output_location,
                   run_id=r.processed_by, batch_position=r.batch_position)


def group_status(ledger: Ledger, group: str, *, history: bool = True) -> GroupStatus:
    """One group, read as a decision reads it, plus (``history``) its finished files."""
    view: GroupView = ledger.load_group(group)
    g: GroupItem = view.group
    rows = {f.file_id: _open_row(f, view.lineage.get(f.sort_key), g) for f in view.files}
    sort_keys = {f.file_id: f.sort_key for f in view.files}
    if history:
        for record in ledger.group_history(group):
            if record.file_id not in rows:
                rows[record.file_id] = _history_row(record)
                sort_keys[record.file_id] = record.sort_key
    ordered = sorted(rows.values(), key=lambda row: sort_keys[row.file_id])
    return GroupStatus(group=group, state=str(g.state), epoch=g.epoch, token=g.token, run_id=g.run_id,
                       claimed_by=g.claimed_by, lease_since=_when(g.lease_at), not_before=_when(g.not_before),
                       wake_pending=g.wake_pending, waiting_since=_when(g.waiting_since),
                       next_check_at=_when(g.next_check_at), last_started=order_text(g.last_started_key)
                       if g.last_started_key else "", leased=g.leased, files=ordered)


def groups_for_status(ledger: Ledger, *, group: str | None = None, key: str | None = None) -> list[GroupStatus]:
    """The groups to show, by name: one (``group``), the ones holding ``key``, or every group (a scan)."""
    if group:
        names = [group]
    elif key:
        names = sorted({r.group for r in ledger.all_files() if r.key == key})
    else:
        names = sorted(set(ledger.all_groups()))
    statuses = [group_status(ledger, name) for name in names]
    if key:
        statuses = [replace(s, files=[f for f in s.files if f.key == key]) for s in statuses]
    return statuses


@dataclass(frozen=True)
class WatchRow:
    """One line of ``landing status --watch``: a group at a glance."""

    group: str
    state: str
    running: str
    """The key(s) of the group's lease (being started or running), else ''."""
    waiting: str
    """Why nothing runs although files are open: a Glue slot, a backoff or settle time, a dead file blocking."""
    next_key: str
    """The first open file in the group's order that is not running: what starts next."""
    backlog: int
    """Open files not in the run (RECEIVED, FAILED, DEAD): what is still to do."""
    done: int
    last_error: str


def watch_row(g: GroupStatus) -> WatchRow:
    """``g`` as one line: its files are already in the group's order (``group_status``)."""
    running = [f.key for f in g.files if f.in_run]
    open_files = [f for f in g.files if f.status in ("RECEIVED", "FAILED", "DEAD") and not f.in_run]
    waiting = ""
    if g.waiting_since:
        waiting = f"a Glue slot since {g.waiting_since}"
    elif g.not_before and open_files:
        waiting = f"until {g.not_before}"
    elif open_files and open_files[0].status == "DEAD":
        waiting = "a DEAD file (redrive or skip it)"
    errors = [f.reason for f in g.files if f.reason and f.status in ("FAILED", "DEAD")]
    return WatchRow(group=g.group, state=g.state, running=", ".join(running), waiting=waiting,
                    next_key=open_files[0].key if open_files else "", backlog=len(open_files),
                    done=sum(f.status in ("SUCCEEDED", "SKIPPED") for f in g.files),
                    last_error=errors[-1] if errors else "")
