"""What the model records about every file and run, apart from the ledger table the protocol decides on.

The metrics check order and exclusion against these records (when each file was recorded, first RUNNING
and finished; when each run's lease was taken, when it ran and how it ended), never against the table the
decisions read, so a protocol bug shows instead of being hidden by its own bookkeeping. Kept as flat,
parallel lists indexed by file number (router order) and compact arrays for runs, because a million-file
run must not allocate an object per file.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PENDING, SUCCEEDED, DEAD, LOST, BLOCKED = 0, 1, 2, 3, 4
STATUS_NAMES = {PENDING: "PENDING", SUCCEEDED: "SUCCEEDED", DEAD: "DEAD", LOST: "LOST", BLOCKED: "BLOCKED"}


@dataclass
class RunLog:
    """One row per file of a Glue run: the file, when the run's lease was taken (the start the ordering check
    reads), when StartJobRun took a Glue slot, when it was RUNNING, when it ended, and whether it succeeded."""

    file: np.ndarray
    lease_at: np.ndarray
    dispatched: np.ndarray
    start: np.ndarray
    end: np.ndarray
    ok: np.ndarray

    @classmethod
    def from_flat(cls, flat: Sequence[float]) -> RunLog:
        """From the model's flat record, six numbers a row (one list or ``array('d')``, cheap to append)."""
        table = np.asarray(flat, dtype=float).reshape(-1, 6)
        return cls(table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy(), table[:, 3].copy(),
                   table[:, 4].copy(), table[:, 5] > 0)

    @classmethod
    def of(cls, cached: RunLog | None, flat: Sequence[float]) -> RunLog:
        """The log of ``flat``, reusing ``cached`` while no row has been appended since it was built."""
        if cached is not None and 6 * len(cached) == len(flat):
            return cached
        return cls.from_flat(flat)

    def __len__(self) -> int:
        return len(self.file)

    def billed_seconds(self, minimum_s: float) -> float:
        """Glue bills each run per second with a minimum; the run's RUNNING time is what is billed."""
        return float(np.maximum(self.end - self.start, minimum_s).sum())


@dataclass
class FileLedger:
    """Per-file outcome; -1.0 marks a time that never came."""

    first_start: array[float]
    final_s: array[float]
    done_s: array[float]
    status: list[int]
    attempts: list[int]

    @classmethod
    def empty(cls, files: int) -> FileLedger:
        """The times are ``array('d')``: 8 bytes a file each, where a list holds a float object (32 bytes) for
        every time written (a saturated day of 1,000,000 files: 70 MB less)."""
        unset = array("d", (-1.0,))
        return cls(unset * files, unset * files, unset * files, [PENDING] * files, [0] * files)


@dataclass
class Series:
    """The dashboard, sampled over time: files recorded and waiting (``backlog``), files in a lease
    (``inflight``), Glue runs and groups running."""

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
