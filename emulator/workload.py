"""What lands in the demo: the built-in example set, a folder of files, or a trace.

Every source becomes a list of ``Arrival``: when (pipeline seconds after the
start), under which name (relative to the stack's key prefix), with which bytes,
and for the sleep engine how long its run takes and how many of its first runs
fail. Bad input is reported with the file, the line and the fix, before anything
is uploaded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.spec import PipelineSpec

DEFAULT_RUN_S = 60.0
"""Pipeline seconds a sleep-engine run takes when the source gives no duration."""
ARRIVALS_FILE = "arrivals.csv"


class WorkloadError(InputError):
    """A files folder or trace the demo cannot use; the message names the file, line and fix."""


@dataclass(frozen=True)
class Arrival:
    at: float
    name: str
    body: bytes
    duration_s: float | None = None
    fail_attempts: int = 0


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


_ORDERS = "order_id,customer_id,amount,order_ts"
_CUSTOMERS = "customer_id,name,country,updated_at"


def builtin() -> list[Arrival]:
    """The seed card's example flow, plus a second day, a file with malformed rows and one with updates.

    ``orders_20250915_103000.csv`` lands while ``..._101500`` is still running (same group: it must wait),
    ``customers_20250915_102000.csv`` lands meanwhile (another group: it runs in parallel), and
    ``orders_20250915_110000.csv`` updates orders of the first file, so the group's merged snapshot is only
    right when its files are applied in order.
    """
    return [
        Arrival(0, "orders_20250915_101500.csv", _csv(_ORDERS, [
            "o-1001,c-01,120.50,2025-09-15 10:02:11", "o-1002,c-02,75.00,2025-09-15 10:05:40",
            "o-1003,c-01,19.99,2025-09-15 10:09:02", "o-1004,c-03,250.00,2025-09-15 10:14:55"]), 240),
        Arrival(30, "customers_20250915_102000.csv", _csv(_CUSTOMERS, [   # the customers feed's own columns
            "c-01,Ada Lovelace,GB,2025-09-15 10:20:00", "c-02,Grace Hopper,US,2025-09-15 10:20:00",
            "c-03,Katherine Johnson,US,2025-09-15 10:20:00"]), 180),
        Arrival(60, "orders_20250915_103000.csv", _csv(_ORDERS, [
            "o-1005,c-04,42.00,2025-09-15 10:21:13", "o-1006,c-02,310.75,2025-09-15 10:26:30",
            "o-1002,c-02,80.00,2025-09-15 10:29:59"]), 180),
        Arrival(90, "orders_20250916_090000.csv", _csv(_ORDERS, [
            "o-3001,c-05,15.00,2025-09-16 08:40:00", "o-3002,c-06,99.90,2025-09-16 08:55:12"]), 150),
        Arrival(120, "orders_20250916_093000.csv", _csv(_ORDERS, [
            "o-3003,c-05,61.20,2025-09-16 09:10:00", "o-3004,c-07,not-a-number,2025-09-16 09:12:00",
            "o-3005,c-08,12.00,2025-09-16 09:99:99", "o-3006,c-06,5.50,2025-09-16 09:25:41"]), 120),
        Arrival(150, "orders_20250915_110000.csv", _csv(_ORDERS, [
            "o-1001,c-01,130.50,2025-09-15 10:45:00", "o-1004,c-03,0.00,2025-09-15 10:50:21",
            "o-1007,c-05,64.00,2025-09-15 10:58:03"]), 120),
    ]


def from_folder(folder: Path) -> list[Arrival]:
    """Every file under ``folder`` in name order at time 0, or as ``arrivals.csv`` (``time_s,file``) says."""
    if not folder.is_dir():
        raise WorkloadError(f"--files {folder}: not a folder. Fix: give a folder of files to upload")
    schedule = folder / ARRIVALS_FILE
    if schedule.is_file():
        return _scheduled(folder, schedule)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise WorkloadError(f"--files {folder}: the folder is empty. Fix: put the files to land in it")
    return [Arrival(0.0, p.relative_to(folder).as_posix(), p.read_bytes()) for p in files]


def _scheduled(folder: Path, schedule: Path) -> list[Arrival]:
    rows = _read_rows(schedule, required=("time_s", "file"))
    arrivals = []
    for line, row in rows:
        at = _number(row["time_s"], schedule, line, "time_s")
        path = folder / row["file"]
        if not path.is_file():
            raise WorkloadError(f"{schedule}:{line}: file {row['file']!r} is not in {folder}. Fix: correct the name "
                                "or add the file")
        arrivals.append(Arrival(at, row["file"], path.read_bytes()))
    return sorted(arrivals, key=lambda a: a.at)


def from_trace(trace: Path, spec: PipelineSpec) -> list[Arrival]:
    """A trace ``time_s,key[,size_bytes,duration_s,fail_attempts]`` as generated files (rows fit the schema)."""
    rows = _read_rows(trace, required=("time_s", "key"))
    arrivals = []
    for line, row in rows:
        at = _number(row["time_s"], trace, line, "time_s")
        key = row["key"].strip()
        if not key:
            raise WorkloadError(f"{trace}:{line}: key is empty")
        name = key[len(spec.key_prefix):] if spec.key_prefix and key.startswith(spec.key_prefix) else key
        size = int(_number(row.get("size_bytes") or "0", trace, line, "size_bytes"))
        duration = row.get("duration_s")
        fails = row.get("fail_attempts")
        arrivals.append(Arrival(
            at, name, generated_rows(spec, size, seed=line, key=key),
            _number(duration, trace, line, "duration_s") if duration not in (None, "") else None,
            int(_number(fails, trace, line, "fail_attempts")) if fails not in (None, "") else 0))
    return sorted(arrivals, key=lambda a: a.at)


def generated_rows(spec: PipelineSpec, size_bytes: int, *, seed: int, key: str = "") -> bytes:
    """A CSV of about ``size_bytes`` whose rows fit the schema the file is read with (its feed's, else the
    stack's), so the Spark engine accepts it."""
    columns = _columns_for(spec, key) or [("id", "string"), ("value", "double")]
    out = io.StringIO()
    out.write(",".join(name for name, _ in columns) + "\n")
    row = 0
    while row == 0 or out.tell() < size_bytes:
        out.write(",".join(_value(kind, name, seed, row) for name, kind in columns) + "\n")
        row += 1
    return out.getvalue().encode("utf-8")


def _columns_for(spec: PipelineSpec, key: str) -> list[tuple[str, str]]:
    from landing_pipeline.runtime.feeds import feed_of_key
    from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
    from landing_pipeline.runtime.spec import _split_column

    if key and spec.feeds:
        full = key if key.startswith(spec.key_prefix) else spec.key_prefix + key
        try:
            feed = feed_of_key(spec.feeds, group_for_key(full, spec), full)
        except UngroupableKey:
            feed = None
        if feed is not None:
            return [_split_column(column) for column in feed.schema]
    return list(spec.schema_columns)


def _value(kind: str, name: str, seed: int, row: int) -> str:
    if kind in ("int", "bigint"):
        return str(seed * 1000 + row)
    if kind in ("double", "float") or kind.startswith("decimal"):
        return f"{(seed * 31 + row * 7) % 1000}.{row % 100:02d}"
    if kind == "boolean":
        return "true" if row % 2 else "false"
    if kind == "date":
        return f"2025-09-{1 + row % 28:02d}"
    if kind == "timestamp":
        return f"2025-09-{1 + row % 28:02d} {row % 24:02d}:{row % 60:02d}:00"
    return f"{name}-{seed}-{row}"


def durations_of(arrivals: list[Arrival], key_prefix: str) -> dict[str, float]:
    return {key_prefix + a.name: a.duration_s for a in arrivals if a.duration_s is not None}


def fail_attempts_of(arrivals: list[Arrival], key_prefix: str) -> dict[str, int]:
    return {key_prefix + a.name: a.fail_attempts for a in arrivals if a.fail_attempts}


def _read_rows(path: Path, *, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise WorkloadError(f"{path}: no such file")
    reader = csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise WorkloadError(f"{path}: the header lacks {', '.join(missing)} (it has {', '.join(header) or 'nothing'}). "
                            f"Fix: start the file with a header line like '{','.join(required)}'")
    rows = []
    for line, row in enumerate(reader, start=2):
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if any(clean.values()):
            rows.append((line, clean))
    if not rows:
        raise WorkloadError(f"{path}: no rows after the header")
    return rows


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise WorkloadError(f"{path}:{line}: {column} {text!r} is not a number") from None
    if value < 0:
        raise WorkloadError(f"{path}:{line}: {column} must not be negative (got {text})")
    return value
