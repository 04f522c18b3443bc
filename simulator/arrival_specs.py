"""The arrival processes a scenario may declare, and how they are read from YAML.

Each process is written as a one-key mapping, ``- poisson: {...}``, or with
``type: poisson`` beside its fields. Groups are named by a prefix and a
number; the simulator then builds an S3 key for every file and lets the
stack's own grouping rule decide the group, exactly as the router would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from landing_pipeline.simulator.distributions import Distribution, read_distribution, read_int, read_number
from landing_pipeline.simulator.errors import Problems, did_you_mean
from landing_pipeline.simulator.trace import TraceRow

_ZIPF = re.compile(r"^zipf\s+([0-9]*\.?[0-9]+)$")
KINDS = ("poisson", "burst", "diurnal", "files")
_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class GroupChoice:
    """How a process spreads its files over groups: ``count`` named groups (None: one per file), Zipf skew."""

    count: int | None
    prefix: str
    zipf_s: float = 0.0

    def name(self, index: int) -> str:
        width = max(3, len(str((self.count or 1) - 1)))
        return f"{self.prefix}{index:0{width}d}"


@dataclass(frozen=True)
class Poisson:
    rate_per_s: float
    groups: GroupChoice
    size_mb: Distribution
    start_s: float = 0.0
    end_s: float | None = None  # None: the scenario's duration


@dataclass(frozen=True)
class Burst:
    at_s: float
    files: int
    spread_s: float
    groups: GroupChoice
    size_mb: Distribution
    group: str | None = None  # every file into this one group


@dataclass(frozen=True)
class Diurnal:
    peak_rate_per_s: float
    peak_hour: float
    trough_rate_per_s: float
    groups: GroupChoice
    size_mb: Distribution


@dataclass(frozen=True)
class FileList:
    rows: tuple[TraceRow, ...]


ArrivalProcess = Poisson | Burst | Diurnal | FileList

_FIELDS = {
    "poisson": {"rate_per_s", "groups", "skew", "prefix", "size_mb", "start_s", "end_s"},
    "burst": {"at_s", "files", "spread_s", "group", "groups", "skew", "prefix", "size_mb"},
    "diurnal": {"peak_rate_per_s", "peak_hour", "trough_rate_per_s", "groups", "skew", "prefix", "size_mb"},
}
_EXAMPLES = {
    "poisson": "- poisson: {rate_per_s: 0.5, groups: 200, skew: zipf 1.1}",
    "burst": "- burst: {at_s: 600, files: 2000, groups: 300, spread_s: 600}",
    "diurnal": "- diurnal: {peak_rate_per_s: 2, peak_hour: 14, groups: 100}",
    "files": "- files: [{at_s: 900, key: landing/orders_20250915_101500.csv}]",
}


def read_arrivals(problems: Problems, where: str, value: Any) -> tuple[ArrivalProcess, ...]:
    if not isinstance(value, list) or not value:
        problems.add(where, value, "expected a non-empty list of arrival processes",
                     "write e.g. arrivals:\n      " + _EXAMPLES["poisson"])
        return ()
    result = []
    for index, item in enumerate(value):
        here = f"{where}[{index}]"
        kind, body = _kind_and_body(problems, here, item)
        if kind is None:
            continue
        process: ArrivalProcess | None
        if kind == "files":
            process = _files(problems, f"{here}.files", body)
        else:
            process = _generated(problems, f"{here}.{kind}", kind, body, index)
        if process is not None:
            result.append(process)
    return tuple(result)


def _kind_and_body(problems: Problems, here: str, item: Any) -> tuple[str | None, Any]:
    if isinstance(item, Mapping) and "type" in item:
        kind = item["type"]
        body: Any = {k: v for k, v in item.items() if k != "type"}
    elif isinstance(item, Mapping) and len(item) == 1:
        kind, body = next(iter(item.items()))
    else:
        problems.add(here, item, "expected one process such as poisson, burst, diurnal or files",
                     "write e.g. " + _EXAMPLES["burst"])
        return None, None
    if kind not in KINDS:
        problems.add(here, kind, "not a known arrival process",
                     f"use one of: {', '.join(KINDS)}{did_you_mean(kind, KINDS)}")
        return None, None
    return str(kind), body


def _groups(problems: Problems, where: str, body: Mapping[str, Any], default_prefix: str) -> GroupChoice:
    raw = body.get("groups", 1)
    count: int | None
    if raw == "unique":
        count = None
    else:
        count = read_int(problems, f"{where}.groups", raw, minimum=1,
                         fix="give how many groups the files spread over, or 'unique' for one group per file")
    skew = body.get("skew", "none")
    zipf_s = 0.0
    if skew != "none":
        match = _ZIPF.match(str(skew).strip())
        if not match or float(match.group(1)) <= 0:
            problems.add(f"{where}.skew", skew, "not a known skew", "write none, or zipf S with S > 0 (e.g. zipf 1.1)")
        else:
            zipf_s = float(match.group(1))
            if count is None:
                problems.add(f"{where}.skew", skew, "unique groups get one file each and cannot be skewed",
                             "drop skew, or give groups a number")
    prefix = body.get("prefix", default_prefix)
    if not isinstance(prefix, str) or not _GROUP_NAME.match(prefix):
        problems.add(f"{where}.prefix", prefix, "not usable in a file name",
                     "use letters, digits, '.', '_' or '-', e.g. prefix: orders_")
        prefix = default_prefix
    return GroupChoice(count=count or None, prefix=prefix, zipf_s=zipf_s)


def _generated(problems: Problems, where: str, kind: str, body: Any, index: int) -> ArrivalProcess | None:
    if not isinstance(body, Mapping):
        problems.add(where, body, "expected a mapping of fields", "write e.g. " + _EXAMPLES[kind])
        return None
    for extra in sorted(set(body) - _FIELDS[kind]):
        problems.add(f"{where}.{extra}", body[extra], f"not a field of {kind}",
                     f"use only: {', '.join(sorted(_FIELDS[kind]))}{did_you_mean(extra, sorted(_FIELDS[kind]))}")
    groups = _groups(problems, where, body, f"{kind}{index}_")
    size = read_distribution(problems, f"{where}.size_mb", body.get("size_mb", 1.0), "mb")
    size = size or Distribution.fixed(1.0)
    if kind == "poisson":
        rate = read_number(problems, f"{where}.rate_per_s", body.get("rate_per_s"), strictly_positive=True,
                           fix="give files per second, e.g. rate_per_s: 0.5")
        start = read_number(problems, f"{where}.start_s", body.get("start_s", 0.0))
        end = body.get("end_s")
        end_s = None if end is None else read_number(problems, f"{where}.end_s", end)
        if rate is None or start is None:
            return None
        return Poisson(rate, groups, size, start, end_s)
    if kind == "burst":
        return _burst(problems, where, body, groups, size)
    peak = read_number(problems, f"{where}.peak_rate_per_s", body.get("peak_rate_per_s"), strictly_positive=True,
                       fix="give the busiest hour's files per second, e.g. peak_rate_per_s: 2")
    hour = read_number(problems, f"{where}.peak_hour", body.get("peak_hour", 12), fix="give an hour from 0 to 24")
    trough = read_number(problems, f"{where}.trough_rate_per_s", body.get("trough_rate_per_s", 0.0))
    if hour is not None and hour > 24:
        problems.add(f"{where}.peak_hour", hour, "not an hour of the day", "give an hour from 0 to 24, e.g. 14.5")
    if peak is not None and trough is not None and trough > peak:
        problems.add(f"{where}.trough_rate_per_s", trough, "higher than the peak rate",
                     "give a trough below peak_rate_per_s")
    if peak is None or hour is None or trough is None:
        return None
    return Diurnal(peak, hour, trough, groups, size)


def _burst(problems: Problems, where: str, body: Mapping[str, Any], groups: GroupChoice,
           size: Distribution) -> Burst | None:
    at_s = read_number(problems, f"{where}.at_s", body.get("at_s"), fix="give when the burst starts, e.g. at_s: 600")
    files = read_int(problems, f"{where}.files", body.get("files"), minimum=1, fix="give how many files, e.g. 2000")
    spread = read_number(problems, f"{where}.spread_s", body.get("spread_s", 0.0))
    group = body.get("group")
    if group is not None and "groups" in body:
        problems.add(f"{where}.group", group, "both group and groups are given",
                     "give group (one group) or groups (a count or 'unique'), not both")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        problems.add(f"{where}.group", group, "expected a group name", "write e.g. group: orders_20250915")
        group = None
    if at_s is None or files is None or spread is None:
        return None
    return Burst(at_s, files, spread, groups, size, group)


def _files(problems: Problems, where: str, body: Any) -> FileList | None:
    if not isinstance(body, list) or not body:
        problems.add(where, body, "expected a list of files", "write e.g. " + _EXAMPLES["files"])
        return None
    rows = []
    allowed = {"at_s", "key", "size_mb", "duration_s", "fail_attempts", "event_delay_s"}
    for index, entry in enumerate(body):
        here = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            problems.add(here, entry, "expected {at_s, key, ...}", "write e.g. {at_s: 900, key: a_101500.csv}")
            continue
        for extra in sorted(set(entry) - allowed):
            problems.add(f"{here}.{extra}", entry[extra], "not a field of a file",
                         f"use only: {', '.join(sorted(allowed))}")
        at_s = read_number(problems, f"{here}.at_s", entry.get("at_s"))
        key = entry.get("key")
        if not isinstance(key, str) or not key.strip():
            problems.add(f"{here}.key", key, "expected the file's S3 key", "write e.g. key: landing/a_101500.csv")
            continue
        size = entry.get("size_mb")
        size_mb = None if size is None else read_number(problems, f"{here}.size_mb", size)
        duration = entry.get("duration_s")
        duration_s = None if duration is None else read_number(problems, f"{here}.duration_s", duration)
        fail = entry.get("fail_attempts")
        fail_attempts = None if fail is None else read_int(problems, f"{here}.fail_attempts", fail)
        delay = entry.get("event_delay_s")
        delay_s = None if delay is None else read_number(problems, f"{here}.event_delay_s", delay)
        if at_s is not None:
            rows.append(TraceRow(at_s, key.strip(), None if size_mb is None else size_mb * 1_000_000.0,
                                 duration_s, fail_attempts, delay_s or 0.0))
    return FileList(tuple(rows)) if rows else None
