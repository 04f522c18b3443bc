"""What the emulator saw while the pipeline ran: uploads, events, invocations and Glue runs.

The report is built from the ledger (what the pipeline believes) and from
these observations (what actually happened in emulated AWS): run intervals
come from the Glue engine, not from the ledger, so an overlap the ledger never
hears of (the seed design's) is still visible.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Upload:
    key: str
    version_id: str | None
    etag: str
    size: int
    at: float


@dataclass
class RunObservation:
    run_id: str
    key: str
    file_id: str
    group: str
    attempt: int
    start: float
    end: float | None = None
    state: str = "RUNNING"
    message: str = ""
    fenced: bool = False
    """The run lost its group lease's claim and did no work (a restart of a lease whose first start had
    taken effect): it is not a second processing of its file."""
    start_seq: int | None = None
    """The recorder's sequence number at the start (``Recorder.tick``): on virtual time many things happen at
    one instant, and this says which came first (the start is recorded inside StartJobRun, before it answers,
    so whatever the start causes comes after it)."""
    end_seq: int | None = None
    """The same at the end; recorded once the run's state is visible in Glue, so a start the end let happen
    may carry a lower number: only for showing a timeline, never judged."""


@dataclass
class Recorder:
    """Thread-safe log of observations, read by the progress display and the report."""

    uploads: list[Upload] = field(default_factory=list)
    runs: dict[str, RunObservation] = field(default_factory=dict)
    intake_messages: dict[str, set[str]] = field(default_factory=dict)
    """file id -> ids of distinct intake messages announcing it (redeliveries of one message count once)."""
    enqueued: dict[str, int] = field(default_factory=dict)
    """file id -> position of its first message in the ordered queue (1, 2, ...): the order the router really
    enqueued files in."""
    deliveries: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    """(pipeline time, function, message id, ApproximateReceiveCount, kept | deleted | error) per record: what
    each delivery came to, for explaining a surprising end."""
    invocations: Counter[str] = field(default_factory=Counter)
    function_errors: list[str] = field(default_factory=list)
    crashes: int = 0
    last_activity: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ticks: itertools.count[int] = field(default_factory=itertools.count)

    def tick(self) -> int:
        """The next number of one sequence shared by everything stamped with it (run starts and ends, an
        operator's actions): the order of things that happened at one pipeline instant."""
        return next(self._ticks)

    def touch(self, now: float) -> None:
        self.last_activity = max(self.last_activity, now)

    def uploaded(self, upload: Upload) -> None:
        with self._lock:
            self.uploads.append(upload)
            self.touch(upload.at)

    def intake_message(self, file_id: str, message_id: str) -> None:
        with self._lock:
            self.intake_messages.setdefault(file_id, set()).add(message_id)

    def enqueued_as(self, file_id: str, sequence: int) -> None:
        with self._lock:
            self.enqueued[file_id] = min(sequence, self.enqueued.get(file_id, sequence))

    def invoked(self, function: str, now: float, error: str | None = None, crashed: bool = False,
                outcomes: list[tuple[str, str, str]] | None = None) -> None:
        with self._lock:
            self.deliveries.extend((now, function, *outcome) for outcome in outcomes or [])
            self.invocations[function] += 1
            if error:
                self.function_errors.append(f"{function}: {error}")
            if crashed:
                self.crashes += 1
            self.touch(now)

    def run_started(self, run: RunObservation) -> None:
        with self._lock:
            run.start_seq = self.tick()
            self.runs[run.run_id] = run
            self.touch(run.start)

    def run_finished(self, run_id: str, end: float, state: str, message: str, fenced: bool = False) -> None:
        with self._lock:
            run = self.runs[run_id]
            run.end, run.state, run.message, run.fenced = end, state, message, fenced
            run.end_seq = self.tick()
            self.touch(end)

    def snapshot_runs(self) -> list[RunObservation]:
        with self._lock:
            return [RunObservation(**vars(run)) for run in self.runs.values()]

    def succeeded_files(self) -> int:
        with self._lock:
            return len({run.file_id for run in self.runs.values() if run.state == "SUCCEEDED"})

    def running_groups(self) -> set[str]:
        with self._lock:
            return {run.group for run in self.runs.values() if run.end is None}

    def active_runs(self) -> int:
        with self._lock:
            return sum(1 for run in self.runs.values() if run.end is None)
