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
class FileInRun:
    """One file of a batch run, as the run's executor saw the job go through it (pipeline time)."""

    position: int
    file_id: str
    key: str
    start: float
    end: float | None = None
    state: str = "RUNNING"
    message: str = ""


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
    files: list[FileInRun] = field(default_factory=list)
    """A batch run's files, in the order the job went through them (empty: a run of one file)."""
    ordered_at: float | None = None
    """For one file of a batch (``per_file``): when its batch run started, which is when the file was started in
    its group's order (the lease covered it from then on); None: ``start``."""
    batch: RunObservation | None = None
    """For one file of a batch (``per_file``): the Glue run it was part of, so a picture can draw the run once
    with its files inside it rather than as one run per file."""
    place: int | None = None
    """For one file of a batch (``per_file``): its position in the batch, from 1."""


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

    def file_started(self, run_id: str, position: int, file_id: str, key: str, at: float) -> None:
        with self._lock:
            run = self.runs.get(run_id)
            if run is not None:   # a run the engine logged (a test's executor may run one it did not)
                run.files.append(FileInRun(position, file_id, key, at))
            self.touch(at)

    def file_finished(self, run_id: str, position: int, at: float, state: str, message: str = "") -> None:
        with self._lock:
            run = self.runs.get(run_id)
            for f in run.files if run is not None else []:
                if f.position == position and f.end is None:
                    f.end, f.state, f.message = at, state, message
            self.touch(at)

    def snapshot_runs(self) -> list[RunObservation]:
        with self._lock:
            return [RunObservation(**{**vars(run), "files": [FileInRun(**vars(f)) for f in run.files]})
                    for run in self.runs.values()]

    def succeeded_files(self) -> int:
        with self._lock:
            return len({run.file_id for run in self.runs.values() if run.state == "SUCCEEDED"})

    def running_groups(self) -> set[str]:
        with self._lock:
            return {run.group for run in self.runs.values() if run.end is None}

    def active_runs(self) -> int:
        with self._lock:
            return sum(1 for run in self.runs.values() if run.end is None)


def per_file(runs: list[RunObservation]) -> list[RunObservation]:
    """The run log with each batch run as one run per file it went through, from when the job began the file to
    when it finished it (the run's end and state for the file it was on when the run ended): what the invariants
    judge a file by. A run of one file, or a batch that ended before its first file (fenced, no capacity), stays
    as it is; files of a batch the run never reached did not run."""
    out: list[RunObservation] = []
    for run in runs:
        if not run.files:
            out.append(run)
            continue
        for f in sorted(run.files, key=lambda x: x.position):
            if run.end is not None and f.start > run.end:
                continue   # begun by local Spark after Glue had ended the run: not run, as far as Glue goes
            end, state, message = f.end, f.state, f.message
            if end is None or (run.end is not None and end > run.end):
                # the file it was on when the run ended (local Spark cannot be stopped at a timeout: what the job
                # still did after Glue's end is thrown away, as Glue kills the run)
                end, state, message = run.end, run.state, run.message
            out.append(RunObservation(run_id=f"{run.run_id}/{f.position}", key=f.key, file_id=f.file_id,
                                      group=run.group, attempt=run.attempt, start=f.start, end=end, state=state,
                                      message=message, fenced=run.fenced, ordered_at=run.start,
                                      start_seq=run.start_seq, batch=run, place=f.position))
    return out
