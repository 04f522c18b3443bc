"""``landing history export``'s core: a deployed pipeline's ledger and Glue run history joined into a trace.

Pure: the reads (cli/history_read.py) hand over every file version the ledger knows and every Glue run of the
job; this module decides what the simulator's trace says about each file, so the rules are tested without AWS.

The rules, chosen so that the simulator's replay of the trace runs what the pipeline ran:

- ``time_s`` is the file's landing time (``landed_at``: S3's event time, the order key) minus the earliest
  landing in the window; the absolute start is returned (``Exported.start``) for the user to line it up.
- ``duration_s`` is the time the job spent on the file in its successful run (else in its last run). A run of
  one file: Glue's ``ExecutionTime`` (StartedOn to CompletedOn less the workers' start-up, which the simulator
  adds itself as ``glue_start_s``). A batch: the job commits each file as it finishes it, so file k's time is its
  commit (``finished_at``) minus file k-1's (the first's: minus the run's start after start-up); the file a
  failed batch stopped on takes the rest of the run. This is the split the simulator sums back: a batch's
  duration is the sum of its files' ``duration_s``.
- ``fail_attempts`` counts the runs that ended without committing the file while working on it (a failed
  single run, or a batch that stopped on it) before its successful one; files after the stopping point were
  never begun and get no attempt, as the simulator and the ledger count them.
- ``event_delay_s`` is the time from landing to the router's record when above ``EVENT_DELAY_MIN_S`` (a late
  S3 event); below, it is the intake's ordinary latency, which the simulator's overheads model.

Everything else known of a file (feed, group, state, runs, DPU-seconds, start and end) goes to the details
rows: simulator/trace.py refuses columns it does not know, so they live in a side file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from landing_pipeline.runtime.ledger_items import FileRecord

EVENT_DELAY_MIN_S = 5.0
"""Landing to record above this is a late event (replayed as ``event_delay_s``); below, ordinary intake latency."""
TRACE_HEADER = ("time_s", "key", "size_bytes", "duration_s", "fail_attempts", "event_delay_s")
DETAILS_HEADER = ("time_s", "key", "file_id", "group", "feed", "state", "landed_at", "recorded_at", "runs",
                  "failed_runs", "run_id", "batch_position", "started_at", "ended_at", "duration_s",
                  "dpu_seconds")


@dataclass(frozen=True)
class GlueRun:
    """One run of the job as GetJobRuns reports it, with the file ids its arguments name, head first."""

    run_id: str
    state: str
    started_at: float
    ended_at: float | None
    execution_s: float | None
    dpu_seconds: float | None
    files: tuple[str, ...]
    feed: str | None = None

    @property
    def startup_s(self) -> float:
        """StartedOn to the job's start: span less ExecutionTime (0 when Glue's figure does not fit the span)."""
        if self.ended_at is None or self.execution_s is None:
            return 0.0
        spare = (self.ended_at - self.started_at) - self.execution_s
        return spare if spare > 0 else 0.0

    @property
    def work_s(self) -> float | None:
        """The job's own time: ExecutionTime when it fits the span, else the span."""
        if self.ended_at is None:
            return self.execution_s
        span = max(0.0, self.ended_at - self.started_at)
        if self.execution_s is not None and 0 < self.execution_s <= span + 1.0:
            return min(self.execution_s, span)
        return span


@dataclass(frozen=True)
class Segment:
    """The part of one run spent on one file."""

    run: GlueRun
    position: int
    of: int
    started_at: float
    ended_at: float
    committed: bool

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    @property
    def failed(self) -> bool:
        """An attempt that failed on this file (a run that succeeded without committing it was fenced: none)."""
        return not self.committed and self.run.state != "SUCCEEDED"


@dataclass
class FileHistory:
    record: FileRecord
    segments: list[Segment] = field(default_factory=list)

    @property
    def landed_at(self) -> float:
        return float(self.record.landed_at or self.record.recorded_at or 0.0)

    @property
    def success(self) -> Segment | None:
        return next((s for s in self.segments if s.committed), None)

    @property
    def failures_before_success(self) -> int:
        done = self.success
        return sum(1 for s in self.segments if s.failed and (done is None or s.started_at < done.started_at))


@dataclass(frozen=True)
class Exported:
    """The trace and its details, and what a user needs to read them against the pipeline's own clock."""

    start: float
    trace: list[dict[str, object]]
    details: list[dict[str, object]]
    groups: int
    runs: int
    files_outside: int


def segments_of(run: GlueRun, records: dict[str, FileRecord]) -> list[tuple[str, Segment]]:
    """(file id, segment) for each file the run began, in the job's order (see the module's rules)."""
    if run.ended_at is None:   # still running: nothing to say about its files yet
        return []
    begin = run.started_at + run.startup_s
    if len(run.files) == 1:
        work = run.work_s or 0.0
        fid = run.files[0]
        committed = run.state == "SUCCEEDED" and _committed_by(records.get(fid), run.run_id, allow_unnamed=True)
        return [(fid, Segment(run, 1, 1, begin, begin + work, committed))]
    found: list[tuple[str, Segment]] = []
    cursor = begin
    for position, fid in enumerate(run.files, 1):
        record = records.get(fid)
        if _committed_by(record, run.run_id) and record is not None and record.finished_at is not None:
            end = min(max(cursor, float(record.finished_at)), run.ended_at)
            found.append((fid, Segment(run, position, len(run.files), cursor, end, True)))
            cursor = end
            continue
        if run.state != "SUCCEEDED":   # the file the batch stopped on: the rest of the run, one failed attempt
            found.append((fid, Segment(run, position, len(run.files), cursor, run.ended_at, False)))
        break
    return found


def _committed_by(record: FileRecord | None, run_id: str, *, allow_unnamed: bool = False) -> bool:
    if record is None or record.status != "SUCCEEDED":
        return False
    if record.processed_by:
        return record.processed_by == run_id
    return allow_unnamed


def export(records: Iterable[FileRecord], runs: Iterable[GlueRun], *, since: float | None = None,
           until: float | None = None) -> Exported:
    """The trace rows (TRACE_HEADER) and details rows (DETAILS_HEADER) of the files landed in [since, until]."""
    by_id = {r.file_id: r for r in records}
    histories = {fid: FileHistory(r) for fid, r in by_id.items()}
    all_runs = sorted(runs, key=lambda r: r.started_at)
    for run in all_runs:
        for fid, segment in segments_of(run, by_id):
            if fid in histories:
                histories[fid].segments.append(segment)
    inside = [h for h in histories.values() if _within(h.landed_at, since, until)]
    inside.sort(key=lambda h: (h.landed_at, h.record.key, h.record.sort_key))
    start = inside[0].landed_at if inside else 0.0
    trace: list[dict[str, object]] = []
    details: list[dict[str, object]] = []
    used_runs: set[str] = set()
    for h in inside:
        row, detail = _rows(h, start)
        trace.append(row)
        details.append(detail)
        used_runs.update(s.run.run_id for s in h.segments)
    return Exported(start, trace, details, groups=len({h.record.group for h in inside}), runs=len(used_runs),
                    files_outside=len(histories) - len(inside))


def _within(at: float, since: float | None, until: float | None) -> bool:
    return (since is None or at >= since) and (until is None or at <= until)


def _rows(h: FileHistory, start: float) -> tuple[dict[str, object], dict[str, object]]:
    record, chosen = h.record, h.success or (h.segments[-1] if h.segments else None)
    delay = (record.recorded_at or h.landed_at) - h.landed_at
    time_s = _num(h.landed_at - start)
    row: dict[str, object] = {
        "time_s": time_s, "key": record.key, "size_bytes": "" if record.size is None else record.size,
        "duration_s": "" if chosen is None else _num(chosen.duration_s),
        "fail_attempts": h.failures_before_success if h.segments else "",
        "event_delay_s": _num(delay) if delay > EVENT_DELAY_MIN_S else ""}
    detail: dict[str, object] = {
        "time_s": time_s, "key": record.key, "file_id": record.file_id, "group": record.group,
        "feed": next((s.run.feed for s in h.segments if s.run.feed), "") or "", "state": record.status,
        "landed_at": iso(h.landed_at), "recorded_at": iso(record.recorded_at) if record.recorded_at else "",
        "runs": len(h.segments), "failed_runs": sum(1 for s in h.segments if s.failed),
        "run_id": chosen.run.run_id if chosen else "",
        "batch_position": f"{chosen.position}/{chosen.of}" if chosen else "",
        "started_at": iso(chosen.started_at) if chosen else "", "ended_at": iso(chosen.ended_at) if chosen else "",
        "duration_s": row["duration_s"], "dpu_seconds": _dpu_share(chosen)}
    return row, detail


def _dpu_share(segment: Segment | None) -> object:
    """The file's share of its run's DPU-seconds, by its share of the run's work."""
    if segment is None or segment.run.dpu_seconds is None:
        return ""
    work = segment.run.work_s or 0.0
    share = segment.duration_s / work if work > 0 else 1.0 / segment.of
    return _num(segment.run.dpu_seconds * min(1.0, share))


def _num(value: float) -> float | int:
    rounded = round(value, 3)
    return int(rounded) if float(rounded).is_integer() else rounded


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_csv(rows: Sequence[dict[str, object]], header: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
