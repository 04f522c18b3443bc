"""Glue's StartJobRun under the account's quotas: which quota refused a start, and the answer the handler gets.

The ledger's slot counter lets ``maxParallelGroups`` starts through; Glue refuses what its quotas do not
allow, with the error the deployed dispatcher maps (``runtime/acting.py``): ConcurrentRunsExceededException
at the job's MaxConcurrentRuns or the account's "Max concurrent job runs per account",
ResourceNumberLimitExceededException past "Max task DPUs per account" (both: wait for a slot), and
ThrottlingException past the StartJobRun request rate (back off briefly). The simulator's ``Actor`` then
takes ``runtime.decide.start_refused`` as the dispatcher does; this module only says which quota it was and
records it (``simulator.quota_log``), with the wait until the group's next start went through.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from landing_pipeline.simulator.attempts import Attempts
from landing_pipeline.simulator.glue import Glue, Run
from landing_pipeline.simulator.glue_slots import GlueSlots
from landing_pipeline.simulator.limits import Limits
from landing_pipeline.simulator.quota_log import QuotaLog


class QuotaGlue(Glue):
    """``Glue`` whose refusals are attributed to a quota; ``job_runs``: the job's MaxConcurrentRuns."""

    def __init__(self, slots: GlueSlots, draws: Attempts, glue_start: Callable[[], float], *, limits: Limits,
                 job_runs: int, dpus_per_run: float, log: QuotaLog) -> None:
        super().__init__(slots, draws, glue_start)
        self.limits, self.job_runs, self.dpus_per_run, self.log = limits, job_runs, dpus_per_run, log
        self._second, self._calls = -1, 0

    def start(self, token: str, g: int, fids: tuple[int, ...], run_numbers: tuple[int, ...], now: float,
              lease_at: float) -> Run | None:
        quota = self._refusing(now)
        self.throttled = quota == "start_job_run_per_s"
        if quota is not None:
            self.refused += 1
            self.log.hit(quota, now, g)
            return None
        run = super().start(token, g, fids, run_numbers, now, lease_at)
        if run is None:   # the job's own MaxConcurrentRuns (the stack's setting, not an account quota)
            return None
        for name in ("account_concurrent_runs", "job_concurrent_runs", "account_dpus", "start_job_run_per_s"):
            self.log.through(name, g, now)
        return run

    def _refusing(self, now: float) -> str | None:
        """The quota StartJobRun runs into now, if any (the request rate first: a throttled call is not looked
        at further)."""
        limits = self.limits
        rate = limits.start_job_run_per_s
        if rate is not None:
            second = math.floor(now)
            if second != self._second:
                self._second, self._calls = second, 0
            self._calls += 1
            if self._calls > rate:
                return "start_job_run_per_s"
        slots = self.slots
        slots.has_free()   # frees the slots of runs ended by now
        alive = slots.runs_alive
        if alive >= limits.account_concurrent_runs and limits.account_concurrent_runs < self.job_runs:
            return "account_concurrent_runs"
        if alive >= limits.job_concurrent_runs and limits.job_concurrent_runs < self.job_runs:
            return "job_concurrent_runs"
        if limits.account_dpus is not None and (alive + 1) * self.dpus_per_run > limits.account_dpus:
            return "account_dpus"
        return None
