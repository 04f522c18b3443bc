"""Glue as the handlers see it: StartJobRun (refused at MaxConcurrentRuns), GetJobRun, and the job's runs
listed by run token (GetJobRuns), each run's end announced by an event that may be lost.

A run covers the files of one lease, one after another; it is RUNNING ``glue_start_s`` after StartJobRun
and ends when its last file is done or its first file fails (a batch stops at its first failure). Its
outcome per file is drawn by ``simulator.attempts`` from the file's run number, so a restarted lease (the
same token after a start nobody heard the answer of) draws what its first start would have.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from landing_pipeline.runtime.contract import GLUE_SUCCEEDED
from landing_pipeline.simulator.attempts import FAILED, Attempts
from landing_pipeline.simulator.glue_slots import GlueSlots

RUNNING, STARTING = "RUNNING", "STARTING"
FAILURE_MESSAGE = "simulated failure of the file's own run"


@dataclass(slots=True)
class Run:
    """One Glue run. Slots, not a dict per instance: a saturated day keeps a million of them."""

    run_id: str
    token: str
    g: int
    fids: tuple[int, ...]
    dispatched: float     # StartJobRun answered: a Glue slot is taken
    running_at: float
    end: float
    state: str            # the final state: SUCCEEDED, FAILED or TIMEOUT
    lease_at: float       # when the lease it runs for was taken (a restart keeps it)
    done: int = 0         # files the job finished (and committed) before the end: all of them if SUCCEEDED

    def state_at(self, now: float) -> str:
        if now < self.running_at:
            return STARTING
        return RUNNING if now < self.end else self.state

    @property
    def error(self) -> str | None:
        return None if self.state == GLUE_SUCCEEDED else (FAILURE_MESSAGE if self.state == FAILED else
                                                         "Job run timed out")


class Glue:
    """The job's runs: at most ``slots.capacity`` alive at once, whatever the ledger's slot counter says."""

    throttled = False
    """The last refusal was a ThrottlingException (back off), not a full slot (``simulator.quota_glue``)."""

    def __init__(self, slots: GlueSlots, draws: Attempts, glue_start: Callable[[], float]) -> None:
        self.slots, self.draws, self.glue_start = slots, draws, glue_start
        self.runs: list[Run] = []   # run jr_N is runs[N - 1]: GetJobRun finds it without an index of its own
        self.by_token: dict[str, Run] = {}
        self.refused = 0

    def start(self, token: str, g: int, fids: tuple[int, ...], run_numbers: tuple[int, ...], now: float,
              lease_at: float) -> Run | None:
        """StartJobRun with the run token as an argument; None: ConcurrentRunsExceeded."""
        if not self.slots.has_free():
            self.refused += 1
            return None
        running_at = now + self.glue_start()
        end, state, done = self.draws.through_batch(fids, run_numbers, running_at)
        run = Run(f"jr_{len(self.runs) + 1}", token, g, fids, now, running_at, end, state, lease_at, done)
        self.runs.append(run)
        self.by_token[token] = run   # GetJobRuns lists the newest run first
        self.slots.take(g, end)
        return run

    def get_job_run(self, run_id: str, now: float) -> tuple[str, str | None]:
        run = self.runs[int(run_id[3:]) - 1]
        state = run.state_at(now)
        return state, run.error if state == run.state else None

    def find_by_token(self, token: str) -> Run | None:
        return self.by_token.get(token)

    def active(self, now: float) -> int:
        """Runs not ended (what the reconciler counts from GetJobRuns to repair the slot counter)."""
        self.slots.free_ended()
        return self.slots.runs_alive
