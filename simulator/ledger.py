"""What the model records about every file and run: the simulated counterpart of the ledger.

Kept as flat, parallel lists indexed by file number (enqueue order) and compact
arrays for runs, because a million-file run must not allocate an object per
file; metrics and plots read these after the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PENDING, SUCCEEDED, DEAD, LOST, BLOCKED = 0, 1, 2, 3, 4
STATUS_NAMES = {PENDING: "PENDING", SUCCEEDED: "SUCCEEDED", DEAD: "DEAD", LOST: "LOST", BLOCKED: "BLOCKED"}


@dataclass
class RunLog:
    """One row per Glue run: file, when it was RUNNING, when it ended, and whether it succeeded."""

    file: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ok: np.ndarray

    @classmethod
    def from_flat(cls, flat: list[float]) -> RunLog:
        """From the model's flat record: file, start, end, ok, file, start, ... (one list, cheap to append)."""
        table = np.asarray(flat, dtype=float).reshape(-1, 4)
        return cls(table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy(), table[:, 3] > 0)

    def __len__(self) -> int:
        return len(self.file)

    def billed_seconds(self, minimum_s: float) -> float:
        """Glue bills each run per second with a minimum; the run's RUNNING time is what is billed."""
        return float(np.maximum(self.end - self.start, minimum_s).sum())


@dataclass
class FileLedger:
    """Per-file outcome; -1.0 marks a time that never came."""

    first_start: list[float]
    final_s: list[float]
    done_s: list[float]
    status: list[int]
    attempts: list[int]
    receives: list[int]
    dead_by_ceiling: int = 0

    @classmethod
    def empty(cls, files: int) -> FileLedger:
        return cls([-1.0] * files, [-1.0] * files, [-1.0] * files, [PENDING] * files, [0] * files, [0] * files)


@dataclass
class Series:
    """The dashboard: backlog, messages in flight, Glue runs and groups running, sampled over time."""

    t: list[float] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    inflight: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    groups_running: list[int] = field(default_factory=list)

    def add(self, t: float, backlog: int, inflight: int, runs: int, groups_running: int) -> None:
        self.t.append(t)
        self.backlog.append(backlog)
        self.inflight.append(inflight)
        self.runs.append(runs)
        self.groups_running.append(groups_running)

    def decimate(self) -> None:
        """Keep every other sample, so a long drain does not grow the series without bound."""
        for name in ("t", "backlog", "inflight", "runs", "groups_running"):
            setattr(self, name, getattr(self, name)[::2])
