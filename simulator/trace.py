"""Trace files: the landings of a real day (or a hand-made schedule), replayed exactly.

``time_s,key`` are required; ``size_bytes``, ``duration_s`` (the run's exact
duration, every attempt), ``fail_attempts`` (the first N attempts fail) and
``event_delay_s`` (the file's S3 event reaches EventBridge that much late, as the
emulator's ``delay-event`` fault) are optional, so a trace can pin down every run
and make a simulation deterministic, for tests and for comparing with the emulator.

``feed`` and ``group`` (as ``landing history export`` writes them) are kept for
``landing simulate calibrate``, which would otherwise derive them from the key.
Any other column (``state``, ``run_id``, ``dpu_seconds``, ...) is ignored, so an
exported history replays as it is; only a column one typo away from a trace
column (``duraton_s``) is refused, since ignoring it would silently drop the data.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from landing_pipeline.simulator.errors import Problems, ScenarioError, ScenarioProblem

REQUIRED_COLUMNS = ("time_s", "key")
OPTIONAL_COLUMNS = ("size_bytes", "duration_s", "fail_attempts", "event_delay_s")
LABEL_COLUMNS = ("feed", "group")


@dataclass(frozen=True)
class TraceRow:
    """One landed file: when (seconds from the scenario's start), its S3 key, and what is known of its run."""

    time_s: float
    key: str
    size_bytes: float | None = None
    duration_s: float | None = None
    fail_attempts: int | None = None
    event_delay_s: float = 0.0
    feed: str | None = None
    """The feed the history says the file belonged to (column ``feed``); ``None``: not given."""
    group: str | None = None
    """The group the history says the file belonged to (column ``group``); ``None``: not given."""

    @property
    def size_mb(self) -> float | None:
        return None if self.size_bytes is None else self.size_bytes / 1_000_000.0


def _number(problems: Problems, where: str, raw: str, *, whole: bool = False) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.add(where, raw, "not a number", "write a plain number, or leave the cell empty")
        return None
    if not math.isfinite(value) or value < 0 or (whole and not value.is_integer()):
        kind = "a whole number" if whole else "a number"
        problems.add(where, raw, f"must be {kind} >= 0", f"write {kind} >= 0, or leave the cell empty")
        return None
    return value


def read_trace(path: Path, max_problems: int = 20) -> list[TraceRow]:
    """Every row of a trace CSV, sorted by time (ties keep file order); all problems reported at once."""
    problems = Problems()
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), [_missing(path, exc)]) from None
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + LABEL_COLUMNS
        unknown = [name for name in header if name not in known and _typo_of(name, known)]
        if missing:
            problems.add(f"{path.name}: header", ",".join(header), f"missing column(s) {', '.join(missing)}",
                         "start the file with a header line such as: time_s,key,size_bytes,duration_s,fail_attempts")
        for name in unknown:
            problems.add(f"{path.name}: header", name, f"not a trace column (did you mean {_typo_of(name, known)!r}?)",
                         f"rename it (trace columns: {', '.join(known)}); columns far from these are ignored")
        problems.raise_if_any(str(path))
        reader.fieldnames = header
        rows: list[TraceRow] = []
        for line, record in enumerate(reader, start=2):
            if len(problems.items) >= max_problems:
                break
            rows.append(_row(problems, f"{path.name}:{line}", record))
    if not rows and not problems.items:
        problems.add(path.name, None, "the trace has no rows", "add one line per landed file after the header")
    problems.raise_if_any(str(path))
    return sorted(rows, key=lambda row: row.time_s)


def _row(problems: Problems, where: str, record: dict[str, str | None]) -> TraceRow:
    key = (record.get("key") or "").strip()
    if not key:
        problems.add(f"{where} key", record.get("key"), "empty key",
                     "give the file's S3 key, e.g. landing/a_101500.csv")
    time_s = _number(problems, f"{where} time_s", record.get("time_s") or "")
    if time_s is None and not (record.get("time_s") or "").strip():
        problems.add(f"{where} time_s", "", "empty time", "give seconds since the scenario's start, e.g. 12.5")
    fail = _number(problems, f"{where} fail_attempts", record.get("fail_attempts") or "", whole=True)
    delay = _number(problems, f"{where} event_delay_s", record.get("event_delay_s") or "")
    return TraceRow(time_s=time_s or 0.0, key=key,
                    size_bytes=_number(problems, f"{where} size_bytes", record.get("size_bytes") or ""),
                    duration_s=_number(problems, f"{where} duration_s", record.get("duration_s") or ""),
                    fail_attempts=None if fail is None else int(fail), event_delay_s=delay or 0.0,
                    feed=(record.get("feed") or "").strip() or None, group=(record.get("group") or "").strip() or None)


def _typo_of(name: str, known: tuple[str, ...]) -> str:
    """The trace column ``name`` is one slip away from (``duraton_s``), or ``""``; a strict cutoff, so an
    export's own columns (``attempts``, ``size_mb``, ``state``) are ignored rather than refused."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.85)
    return close[0] if close else ""


def _missing(path: Path, exc: OSError) -> ScenarioProblem:
    return ScenarioProblem(str(path), None, f"cannot read the trace ({exc.strerror})",
                           "check the path; relative paths in a scenario are relative to the scenario file")
