"""The ledger table as the simulator keeps it: per group the group item and its open files, the Glue slot
counter, the line of groups waiting for a slot, and the reconciler's ``by_check`` hint.

Its items are the runtime's own types (``GroupItem``, ``OpenFile``) and every write goes through the
runtime's functions: a decision is applied by ``runtime.decide.committed`` under its guard (the group item's
``seq``, ``version`` and ``epoch`` unchanged since the decision's load), the router's record, a waiter's
wake-up and a run id by ``runtime.decide_support``. Nothing here decides anything.

The time a decision takes from its strongly consistent Query to its transaction (``ledger_s``) is modelled
without an event of its own: a load "as of" an earlier instant returns the state from before the group's
latest write if that write came after that instant, so the decision is taken on a stale state and its
commit fails the guard, exactly as a transaction racing another writer does; the handler then loads again.
Items are replaced, never changed in place, so a loaded state is a snapshot.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Callable
from enum import StrEnum

from landing_pipeline.runtime.decide import Decision, committed
from landing_pipeline.runtime.decide_support import (
    RecordedFile,
    claim,
    may_commit,
    record_file,
    record_run,
    wake_waiter,
)
from landing_pipeline.runtime.group_state import LEASED, FileStatus, GroupItem, OpenFile, Phase, evolve
from landing_pipeline.simulator.prices import ROUTER_RECORD_ITEMS

State = tuple[GroupItem, list[OpenFile]]
Observer = Callable[[int, GroupItem, Decision, float], None]


class Commit(StrEnum):
    """As ``runtime.ledger.Commit``: what a guarded transaction answered."""

    OK = "ok"
    CONFLICT = "conflict"
    NO_SLOT = "no_slot"


def _sort_key(f: OpenFile) -> str:
    return f.sort_key


def _unmark(files: list[OpenFile], before: list[OpenFile], d: Decision) -> list[OpenFile]:
    """``committed`` records an announcement in the commit itself; the ledger records it after the send
    (so a handler that dies in between leaves it for the reconciler). Keep the ledger's way."""
    was = {f.sort_key: f.announced for f in before}
    was.update({c.before.sort_key: c.before.announced for c in d.files})
    keys = {a.sort_key for a in d.announce}
    return [evolve(f, announced=was.get(f.sort_key, 0)) if f.sort_key in keys else f for f in files]


class LedgerTable:
    """Group items, open files (each group's list sorted by sort key), the slot counter and the slot line."""

    def __init__(self, names: list[str], max_slots: int, observer: Observer) -> None:
        self.groups = [GroupItem(name) for name in names]
        self.files: list[list[OpenFile]] = [[] for _ in names]
        self.previous: list[State | None] = [None] * len(names)
        self.written_at = [-1.0] * len(names)
        self.max_slots = max_slots
        self.slots = 0
        self.leases_held = 0   # groups holding a lease: what runtime.ledger.leases_held counts, kept per write
        self.line: list[tuple[float, str, int]] = []   # the waiter items, sorted: (waiting since, group name, g)
        self.in_line: dict[int, tuple[float, str, int]] = {}
        self.checks: list[tuple[float, int]] = []       # (next_check_at, g): by_check, with stale entries
        self._still_due: list[tuple[float, int]] = []   # the last due() answer, indexed again by the next one
        self.observer = observer
        self.writes = self.conflicts = self.no_slot = self.reads = self.write_items = 0

    # --- reads ---------------------------------------------------------------------------------------------
    def load(self, g: int, as_of: float) -> State:
        """The group as a strongly consistent Query issued at ``as_of`` saw it."""
        self.reads += 1
        previous = self.previous[g]
        if previous is not None and self.written_at[g] > as_of:
            return previous
        return self.groups[g], self.files[g]

    def due(self, now: float, limit: int) -> list[int]:
        """Groups whose ``next_check_at`` is due, soonest first (the sparse index: a hint, re-read before use)."""
        found: list[int] = []
        seen: set[int] = set()
        checks, groups = self.checks, self.groups
        for at, g in self._still_due:   # still in the index: only a write moves next_check_at (and re-indexes it)
            if groups[g].next_check_at == at:
                heapq.heappush(checks, (at, g))
        while checks and checks[0][0] <= now and len(found) < limit:
            at, g = heapq.heappop(checks)
            if groups[g].next_check_at == at and g not in seen:
                seen.add(g)
                found.append(g)
        self._still_due = [(groups[g].next_check_at or now, g) for g in found]
        return found

    @property
    def slots_full(self) -> bool:
        """Every Glue slot is counted taken: a start's commit fails its slot condition (``Commit.NO_SLOT``)."""
        return self.slots >= self.max_slots

    def refuses_start(self, g: int, group: GroupItem) -> bool:
        """A start decided on ``group`` (a load of ``g``) would pass the guard, being the current item, and
        fail the slot condition."""
        return self.slots_full and group is self.groups[g]

    def waiters(self, limit: int) -> list[int]:
        """The groups of the first ``limit`` waiter items, longest waiting first (a strongly consistent Query)."""
        return [g for _, _, g in self.line[:limit]]

    # --- writes --------------------------------------------------------------------------------------------
    def _write(self, g: int, group: GroupItem, files: list[OpenFile], now: float) -> None:
        old = self.groups[g]
        self.previous[g] = (old, self.files[g])
        self.written_at[g] = now
        before = old.next_check_at
        if group.state is not old.state:
            self.leases_held += (group.state in LEASED) - (old.state in LEASED)
        self.groups[g], self.files[g] = group, files
        if group.next_check_at is not None and group.next_check_at != before:
            heapq.heappush(self.checks, (group.next_check_at, g))
        self.writes += 1

    def record(self, g: int, file: OpenFile, now: float, wake_check_s: float) -> RecordedFile:
        """The router's transaction (atomic: its condition is re-checked in a loop by the ledger)."""
        recorded = record_file(self.groups[g], file, now, wake_check_s=wake_check_s)
        files = list(self.files[g])
        insort(files, recorded.file, key=_sort_key)
        self._write(g, recorded.group, files, now)
        self.write_items += ROUTER_RECORD_ITEMS
        return recorded

    def commit(self, g: int, d: Decision, now: float, after: GroupItem | None = None) -> Commit:
        """Apply ``d``'s writes in one transaction conditional on its guard (and on a free slot for a start).
        ``after``: the group item ``committed`` would write, already known (``runtime.decide_deadline``, for a
        decision that changes no open file)."""
        group = self.groups[g]
        guard = d.guard
        if guard.seq != group.seq or guard.version != group.version or guard.epoch != group.epoch:
            self.conflicts += 1
            return Commit.CONFLICT
        if d.slot_delta > 0 and self.slots_full:
            self.no_slot += 1
            return Commit.NO_SLOT
        if after is None:
            after, files = committed(group, self.files[g], d, now)
        else:
            files = self.files[g]
        self.slots += d.slot_delta
        if d.waiter == "remove":
            self.drop_waiter(g)
        elif d.waiter == "add" and after.waiting_since is not None:
            self.drop_waiter(g)
            item = self.in_line[g] = (after.waiting_since, group.group, g)
            insort(self.line, item)
        if d.announce:   # recorded as announced once sent (mark_announced), as the ledger does
            files = _unmark(files, self.files[g], d)
        self._write(g, after, files, now)
        changes = d.files
        self.write_items += 1 + (d.slot_delta != 0) + (d.waiter is not None)
        if changes:
            self.write_items += 2 * len(changes) + any(c.after.status == FileStatus.DEAD != c.before.status
                                                       for c in changes)
        self.observer(g, group, d, now)
        return Commit.OK

    def record_run(self, g: int, token: str, run_id: str, now: float) -> bool:
        after = record_run(self.groups[g], token, run_id)
        if after is None:
            return False
        self._write(g, after, self.files[g], now)
        self.write_items += 2   # the group item and the run item
        return True

    def job_commit(self, g: int, token: str, run_id: str, keys: tuple[str, ...], now: float) -> list[OpenFile]:
        """The job's claim, then its commit of each file of the lease, each conditional on the claim (no group
        item version: no decision's guard moves). Returns the files committed (empty: fenced out)."""
        claimed = claim(self.groups[g], token, run_id)
        if claimed is None or not may_commit(claimed, token, run_id):
            return []
        wanted = set(keys)
        done = [f for f in self.files[g] if f.sort_key in wanted]
        self._write(g, claimed, [f for f in self.files[g] if f.sort_key not in wanted], now)
        self.write_items += 1 + 3 * len(done)   # the claim; per file its item, its pointer, the claim's check
        return done

    def wake_waiter(self, g: int, now: float) -> GroupItem | None:
        after = wake_waiter(self.groups[g])
        if after is not None:
            self._write(g, after, self.files[g], now)
            self.write_items += 1
        return after

    def drop_waiter(self, g: int) -> None:
        item = self.in_line.pop(g, None)
        if item is not None:
            self.line.remove(item)

    def mark_announced(self, g: int, sort_key: str, death: int) -> bool:
        """Conditional on ``announced`` below ``death``; a file item write, not a group item one."""
        files = self.files[g]
        for index, f in enumerate(files):
            if f.sort_key == sort_key:
                if f.announced >= death:
                    return False
                self.files[g] = [*files[:index], evolve(f, announced=death), *files[index + 1:]]
                return True
        return False

    def set_slot_count(self, expected: int, value: int) -> bool:
        if self.slots != expected:
            return False
        self.slots = value
        return True

    def waiting(self, g: int) -> bool:
        return self.groups[g].state == Phase.WAITING_FOR_SLOT
