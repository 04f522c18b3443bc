"""What the fast model records of a run, in the shapes ``simulator.metrics`` and ``billing`` read.

The same records as the protocol model's (``FileLedger``, the flat run and lease rows, the dashboard series),
kept as ``array`` columns, plus per Glue run what it bills; the peaks Glue's slots would record
(``GlueSlots``' names) are kept here too, as the fast model has no slot object of its own.
"""

from __future__ import annotations

from array import array

import numpy as np

from landing_pipeline.simulator.ledger import BLOCKED, FileLedger, RunLog, Series


def as_array(code: str, values: np.ndarray) -> array:  # type: ignore[type-arg]
    """A numpy column as an ``array``: the event loop reads single items, which numpy boxes slowly."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64 if code == "q" else np.float64).tobytes())
    return out


class QueueRecords:
    """Per file its outcome, per run its rows and its bill, per lease its files, and the counters."""

    overlapping_runs = refused = 0

    def __init__(self, files: int, min_billed_s: float, dpus: float) -> None:
        self.min_billed_s, self.dpus = min_billed_s, dpus
        self.ledger = FileLedger.empty(files)
        self.late = [False] * files
        self.run_flat = array("d")
        self.lease_flat = array("d")
        self.billed = array("d")   # per Glue run: its RUNNING seconds (what Glue bills) and its first file
        self.run_first = array("q")
        self.run_spans = array("d")   # per Glue run: StartJobRun (a slot taken), end
        self.wait_spans = array("d")
        self.series = Series()
        self.outstanding = files
        self.recorded_count = self.final_count = self.blocked = self.leased_files = 0
        self.deliveries = self.waits = self.backlog_max = self.glue_run_count = self.completions = self.passes = 0
        self.waiters_woken = self.runs_alive = 0
        self.max_parallel_groups = self.max_concurrent_runs = 0
        self.last_final_s = 0.0
        self.now = 0.0
        self._runs: RunLog | None = None

    def _final(self, fid: int, status: int, now: float) -> None:
        ledger = self.ledger
        ledger.status[fid] = status
        if status == BLOCKED:
            self.blocked += 1
            self.outstanding -= 1
            return
        self.outstanding -= 1
        self.final_count += 1
        ledger.final_s[fid] = now
        if now > self.last_final_s:
            self.last_final_s = now

    @property
    def busy(self) -> bool:
        return self.outstanding > 0 or self.leased_files > 0

    @property
    def runs(self) -> RunLog:
        self._runs = RunLog.of(self._runs, self.run_flat)
        return self._runs

    @property
    def glue_slots(self) -> QueueRecords:
        """The peaks the metrics read from Glue's slots (``GlueSlots``' names), kept by this model itself."""
        return self

    @property
    def glue(self) -> QueueRecords:
        """Starts refused by Glue (``Glue.refused``): none, the slot pool is Glue's own limit here."""
        return self

    @property
    def max_runs_per_group(self) -> int:
        return 1 if self.glue_run_count else 0

    @property
    def glue_runs(self) -> int:
        return self.glue_run_count

    def billed_dpu_seconds(self) -> float:
        return float(np.maximum(np.asarray(self.billed), self.min_billed_s).sum()) * self.dpus

    def leases(self) -> tuple[np.ndarray, np.ndarray]:
        table = np.asarray(self.lease_flat, dtype=float).reshape(-1, 2)
        return table[:, 0].astype(np.int64), table[:, 1].copy()

    def sample(self) -> None:
        waiting = self.recorded_count - self.final_count - self.blocked - self.leased_files
        self.series.add(self.now, waiting, self.leased_files, self.runs_alive, self.runs_alive)
