"""Carrying out a decision in the simulator, step for step as ``runtime/acting.py`` does on AWS: the guarded
commit first, then the announcements, the wake-up, the slot handoff and StartJobRun.

Every rule comes from ``runtime.decide`` (``decide``, ``run_ended``, ``restart``, ``start_refused``); what is
written here is only the order of the steps and which service each touches, so a crash between two steps
(``faults.crash``) leaves exactly what it would leave on AWS: a lease STARTING with no run, a run whose id
was never recorded, a ``wake_pending`` with no message, a freed slot nobody was woken for. The reconciler
repairs them through the same functions.
"""

from __future__ import annotations

from collections.abc import Callable

from landing_pipeline.runtime.decide import Caller, Decision, RunEnd, restart, run_ended, start_refused
from landing_pipeline.runtime.group_state import GroupItem, OpenFile, Phase, Policy, wake_dedup_id
from landing_pipeline.runtime.order import file_id_of
from landing_pipeline.simulator.faults import FaultDraws
from landing_pipeline.simulator.glue import Glue, Run
from landing_pipeline.simulator.table import Commit, LedgerTable
from landing_pipeline.simulator.wake_queue import WakeQueue

REFUSED_REEVALUATIONS = 4


class Crash(Exception):
    """The handler died after a commit: the rest of its work is not done and its message is not deleted."""


class Livelock(RuntimeError):
    """The protocol kept deciding at one instant without time passing (a zero-latency loop)."""


class Actor:
    """The services a handler touches (ledger table, wake-up queue, Glue) and the steps of acting on them."""

    def __init__(self, table: LedgerTable, queue: WakeQueue, glue: Glue, policy: Policy, faults: FaultDraws,
                 names: list[str], now: Callable[[], float], on_run: Callable[[Run], None]) -> None:
        self.table, self.queue, self.glue, self.policy, self.faults = table, queue, glue, policy, faults
        self.names, self.now, self.on_run = names, now, on_run
        self.announced: dict[tuple[str, int], float] = {}   # (file id, death) -> first announced at
        self.woken = self.restarts = self.adopted = self.recovered = self.refused_starts = 0
        self.decisions: dict[str, int] = {}
        self._instant, self._at_instant = -1.0, 0
        self.log: list[tuple[float, str, str, str]] | None = None
        """(time, group, kind, reason) of every decision, when a caller asks for it (tests, debugging)."""

    def count(self, d: Decision, g: int = -1) -> None:
        self.tally(d.kind, g, d.reason)

    def tally(self, kind: str, g: int = -1, reason: str = "") -> None:
        """One decision of ``kind`` taken (``count`` for one in hand)."""
        self.decisions[kind] = self.decisions.get(kind, 0) + 1
        now = self.now()
        if self.log is not None:
            self.log.append((now, self.names[g] if g >= 0 else "?", kind, reason))
        if now != self._instant:
            self._instant, self._at_instant = now, 0
        self._at_instant += 1
        if self._at_instant > 200_000:
            raise Livelock(f"more than 200,000 decisions at t={now:.3f} s without time passing (the last: "
                           f"{kind}, {reason}); give the scenario non-zero overheads")

    def _maybe_crash(self, g: int, where: str) -> None:
        if self.faults.crash():
            if self.log is not None:
                self.log.append((self.now(), self.names[g], "CRASH", where))
            raise Crash(where)

    # --- runtime.acting.carry_out -------------------------------------------------------------------------
    def carry_out(self, g: int, d: Decision, after: GroupItem | None = None) -> Commit:
        """``after``: the group item the commit writes, when the caller knows it (``LedgerTable.commit``)."""
        self.count(d, g)
        now = self.now()
        result = self.table.commit(g, d, now, after)
        if result != Commit.OK:
            if self.log is not None:
                self.log.append((now, self.names[g], str(result), ""))
            return result
        self._maybe_crash(g, f"after the commit of {d.kind}")
        name = self.names[g]
        for dead in d.announce:
            key = (dead.file_id, dead.death)
            self.announced.setdefault(key, now)
            self.table.mark_announced(g, dead.sort_key, dead.death)
        if d.release:   # the longest waiter first, as runtime.acting.carry_out
            self.wake_waiters(1)
        if d.send_wake:
            self.queue.send(g, wake_dedup_id(name, d.guard.version + 1, d.guard.seq))
        return Commit.OK

    def wake_waiters(self, slots: int) -> int:
        """Wake up to ``slots`` groups that wait longest for a Glue slot, as ``runtime.acting.wake_waiters``."""
        woken = 0
        table = self.table
        for g in table.waiters(slots + 2):
            if woken >= slots:
                break
            after = table.wake_waiter(g, self.now())
            if after is None:
                if table.groups[g].state != Phase.WAITING_FOR_SLOT:
                    table.drop_waiter(g)
                continue   # it already has a wake-up coming for an earlier slot: this slot goes to the next
            self.queue.send(g, wake_dedup_id(self.names[g], after.version, after.seq))
            self.woken += 1
            woken += 1
        return woken

    # --- runtime.acting.start_run -------------------------------------------------------------------------
    def start_run(self, g: int, d: Decision, files: list[OpenFile]) -> str:
        lease = d.lease
        assert lease is not None
        self._maybe_crash(g, "before StartJobRun")
        fids = tuple(int(file_id_of(key)) for key in lease.sort_keys)
        numbers = lease.run_numbers or _run_numbers(lease.sort_keys, files)
        group = self.table.groups[g]
        run = self.glue.start(lease.token, g, fids, numbers, self.now(), group.lease_at or self.now())
        if run is None:
            self.refused_starts += 1
            return self.refused(g, no_slot=not self.glue.throttled)
        self.on_run(run)
        self._maybe_crash(g, "after StartJobRun")
        self.table.record_run(g, lease.token, run.run_id, self.now())
        return "started"

    def refused(self, g: int, *, no_slot: bool) -> str:
        for _ in range(REFUSED_REEVALUATIONS):
            group, files = self.table.load(g, self.now())
            d = start_refused(group, files, self.now(), self.policy, no_slot=no_slot)
            if self.carry_out(g, d) == Commit.OK:
                return "waiting" if no_slot else "throttled"
        raise RuntimeError("the group kept changing after a refused start")

    # --- runtime.acting.resolve_check ---------------------------------------------------------------------
    def resolve_check(self, g: int, d: Decision, group: GroupItem, files: list[OpenFile], caller: Caller) -> str:
        """``d`` (taken on ``group`` and ``files``) asks for a look at Glue: finish an ended run, adopt a found
        one, restart an unanswered start past its grace with the same token. "live" or "conflict" else."""
        check = d.check
        assert check is not None
        now = self.now()
        if check.run_id:
            state, error = self.glue.get_job_run(check.run_id, now)
            decision = run_ended(group, files, RunEnd(check.run_id, check.token, state, error), now, self.policy,
                                 caller=caller)
        else:
            found = self.glue.find_by_token(check.token)
            if found is not None:
                state, error = self.glue.get_job_run(found.run_id, now)
                decision = run_ended(group, files, RunEnd(found.run_id, check.token, state, error), now,
                                     self.policy, caller=caller)
            elif check.overdue:
                decision = restart(group, now, self.policy)
            else:
                return "live"
        if not decision.writes:
            return "live"
        if self.carry_out(g, decision) != Commit.OK:
            return "conflict"
        self.recovered += 1
        if decision.kind == "adopt":
            self.adopted += 1
        if decision.kind == "restart":
            self.restarts += 1
            self.start_run(g, decision, self.table.files[g])
        return decision.kind


def _run_numbers(keys: tuple[str, ...], files: list[OpenFile]) -> tuple[int, ...]:
    """A restarted lease's run numbers: each file's attempts so far + 1 (what its first start passed)."""
    attempts = {f.sort_key: f.attempts for f in files}
    return tuple(attempts.get(key, 0) + 1 for key in keys)
