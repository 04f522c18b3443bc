"""``landing simulate calibrate``: a scenario fitted to a history of landings and runs.

A trace (the simulator's format, or ``landing history export``'s with ``feed`` and ``group`` columns) is
split into families: the stack's feeds (the ``feed`` column, else ``runtime.feeds.feed_of_key`` on the
group the stack's rule gives the key), and for files of no feed their group's name without its trailing
number or date (``feed_012`` and ``feed_140`` are family ``feed_``). Each family gets an arrival fit
(``fit_arrivals``), a size distribution and its group count; each feed, and the files of no feed together,
a run-time fit (``fit_runtime``). ``calibrate_yaml`` writes the result as a scenario.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from landing_pipeline.runtime.feeds import feed_of_key
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.fit_arrivals import ArrivalFit, fit_arrivals
from landing_pipeline.simulator.fit_runtime import RuntimeFit, fit_runtime
from landing_pipeline.simulator.trace import TraceRow

_TRAILING_NUMBER = re.compile(r"\d+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
STACK_WIDE = "(stack-wide)"
"""The run-time fit of the files of no feed (and of feeds with too few runs): the scenario's ``job:``."""


@dataclass(frozen=True)
class FamilyFit:
    """One family: its feed (None: no feed), the prefix generated groups get, and its fits."""

    name: str
    feed: str | None
    prefix: str
    groups: int
    arrivals: ArrivalFit
    size_mean_mb: float | None
    size_sigma: float
    prefix_ok: bool = True
    """Whether a group named ``prefix`` + number reaches the family's feed under the stack's feeds (a
    feed matched by a regex the prefix does not satisfy would not: the scenario's files would land as no
    feed's, and the CLI says so)."""


@dataclass(frozen=True)
class Calibration:
    source: str
    files: int
    window_s: float
    start_clock_s: float
    families: tuple[FamilyFit, ...]
    runtimes: dict[str, RuntimeFit | None] = field(default_factory=dict)
    """Per feed name, and ``STACK_WIDE``; None: too few runs with a duration to fit."""
    skipped: int = 0
    """Rows whose key the stack's grouping rule rejects: left out of every fit."""


def family_of(group: str) -> str:
    """``feed_012`` -> ``feed_``, ``orders_20250915`` -> ``orders_``: the group name without its number."""
    stem = _TRAILING_NUMBER.sub("", group)
    return _UNSAFE.sub("_", stem or group)


def group_prefix(groups: Sequence[str]) -> str:
    """A prefix every group of the family starts with, cut before a trailing number, usable as a name."""
    prefix = groups[0]
    for name in groups[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    prefix = _UNSAFE.sub("_", _TRAILING_NUMBER.sub("", prefix))
    return prefix if prefix and prefix[0].isalnum() else "g" + prefix


def _lognormal_size(sizes: list[float]) -> tuple[float | None, float]:
    if not sizes:
        return None, 0.0
    values = np.maximum(np.asarray(sizes, dtype=float), 1e-6)
    logs = np.log(values)
    sigma = float(logs.std())
    return float(math.exp(float(logs.mean()) + sigma**2 / 2)), sigma


def calibrate(rows: Sequence[TraceRow], spec: PipelineSpec, *, source: str = "<trace>",
              start_clock_s: float = 0.0, window_s: float | None = None) -> Calibration:
    """Fit every family's arrivals and every feed's run times (see the module's docstring)."""
    window = window_s if window_s is not None else max(1.0, math.ceil(max(r.time_s for r in rows) / 60) * 60)
    members: dict[tuple[str, str | None], list[tuple[TraceRow, str]]] = {}
    skipped = 0
    for row in rows:
        try:
            group = row.group or group_for_key(row.key, spec)
        except UngroupableKey:
            skipped += 1
            continue
        feed = row.feed
        if feed is None and spec.feeds:
            found = feed_of_key(spec.feeds, group, row.key)
            feed = None if found is None else found.name
        members.setdefault((feed, None) if feed else (family_of(group), None), []).append((row, group))
    families = []
    runtime_rows: dict[str, list[TraceRow]] = {}
    feed_names = {f.name for f in spec.feeds}
    for (name, _), items in sorted(members.items()):
        feed = name if name in feed_names else None
        groups = sorted({g for _, g in items})
        mean_mb, sigma = _lognormal_size([r.size_mb for r, _ in items if r.size_mb is not None])
        prefix = group_prefix(groups) if feed else name
        families.append(FamilyFit(name, feed, prefix, len(groups),
                                  fit_arrivals([r.time_s for r, _ in items], window, start_clock_s), mean_mb, sigma,
                                  _reaches(spec, prefix, feed)))
        runtime_rows.setdefault(feed or STACK_WIDE, []).extend(r for r, _ in items)
    if STACK_WIDE not in runtime_rows:   # every file has a feed: job: (for feeds too thin to fit) from all
        runtime_rows[STACK_WIDE] = [r for items in members.values() for r, _ in items]
    runtimes = {name: _runtime(chosen, spec.max_attempts) for name, chosen in runtime_rows.items()}
    return Calibration(source, len(rows), window, start_clock_s, tuple(families), runtimes, skipped)


def _reaches(spec: PipelineSpec, prefix: str, feed: str | None) -> bool:
    """Does a generated group ``prefix`` + ``000`` (and its key) reach ``feed``, as the simulator would file it?"""
    group = prefix + "000"
    suffix = spec.key_suffixes[0] if spec.key_suffixes else ".csv"
    found = feed_of_key(spec.feeds, group, f"{spec.key_prefix}{group}_000000{suffix}") if spec.feeds else None
    return (found.name if found else None) == feed


def _runtime(rows: list[TraceRow], max_attempts: int) -> RuntimeFit | None:
    timed = [r for r in rows if r.duration_s is not None]
    return fit_runtime([r.duration_s for r in timed if r.duration_s is not None], [r.size_mb for r in timed],
                       [r.fail_attempts for r in rows if r.fail_attempts is not None], max_attempts)
