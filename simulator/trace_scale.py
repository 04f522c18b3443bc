"""``--scale F``: a trace replayed at another volume, with more (or fewer) files of the same shape.

The unit scaled is the group, not the file. Each group of the trace is kept ``floor(F)`` times plus once
more with probability ``F - floor(F)`` (so F = 2.5 gives every group two or three instances, F = 0.5 keeps
about half the groups). The first instance is the original; every further one is a copy in a new group of
the same family: the group's name with ``-cN`` added where it stands in the key (``orders_20250915_101500.csv``
becomes ``orders_20250915-c1_101500.csv``, group ``orders_20250915-c1``), checked against the stack's own
grouping rule and feeds, so the copy has the original's feed.

Why new groups rather than more files in the same group: a group is the unit of ordering, so its files run
one after another. Twice the files in one group doubles its arrival rate and can make it unstable, a
different question (one partner sending more) from the one ``--scale`` answers (twice the traffic of the
same kind: more partners, more feeds' days). A copy keeps each file's size, run duration and forced
failures, and its whole group is shifted by one random offset within ``jitter_s`` (default 5 minutes), so
it lands at the same time of day with its files in the same order and spacing: the day's shape is kept,
not just its clock sped up. When the stack's rule gives the copied name no new group (``orderingScope:
global``, or a regex that ignores the tag), the copy joins the original's group with a tagged key instead,
and the result says how many did.

Deterministic for a seed: the draws come from their own generator seeded by ``--seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from landing_pipeline.runtime.feeds import feed_of_key
from landing_pipeline.runtime.grouping import UngroupableKey, file_name, group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.arrival_specs import FileList
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.trace import TraceRow

JITTER_S = 300.0


class ScaleError(ValueError):
    """A --scale that cannot be applied; the message names the option and the fix."""


@dataclass(frozen=True)
class Scaled:
    rows: tuple[TraceRow, ...]
    groups_in: int
    groups_out: int
    same_group_copies: int
    """Copies the stack's rule put in their original's group (no new group could be named)."""


def _group(key: str, spec: PipelineSpec) -> str | None:
    try:
        return group_for_key(key, spec)
    except UngroupableKey:
        return None


def _feed(spec: PipelineSpec, group: str | None, key: str) -> str | None:
    if group is None or not spec.feeds:
        return None
    feed = feed_of_key(spec.feeds, group, key)
    return None if feed is None else feed.name


def copy_key(key: str, group: str | None, copy: int, spec: PipelineSpec) -> tuple[str, bool]:
    """The key of copy ``copy`` of ``key``, and whether it is in a new group (else the original's)."""
    folder, name = key[: len(key) - len(file_name(key))], file_name(key)
    tag = f"-c{copy}"
    feed = _feed(spec, group, key)
    if group is not None and group in name:
        at = name.index(group) + len(group)
        candidate = folder + name[:at] + tag + name[at:]
        new_group = _group(candidate, spec)
        if new_group is not None and new_group != group and _feed(spec, new_group, candidate) == feed:
            return candidate, True
    stem, dot, suffix = name.partition(".")
    same = folder + stem + tag + dot + suffix
    if _group(same, spec) == group:
        return same, False
    return folder + f"c{copy}-" + name, False   # a last resort: a distinct key, grouped as the rule says


def scale_rows(rows: tuple[TraceRow, ...], spec: PipelineSpec, factor: float, seed: int,
               jitter_s: float = JITTER_S) -> Scaled:
    """The trace's rows at ``factor`` times the volume (see the module's docstring), sorted by time."""
    if not math.isfinite(factor) or factor <= 0:
        raise ScaleError(f"--scale {factor:g}: must be a number greater than 0 (e.g. --scale 2 for twice the "
                         "files, --scale 0.5 for half)")
    rng = np.random.default_rng([seed, 0x5CA1E])
    by_group: dict[str, list[TraceRow]] = {}
    group_of: dict[str, str | None] = {}
    for row in rows:
        group = group_of[row.key] = _group(row.key, spec)
        by_group.setdefault(group if group is not None else "\0" + row.key, []).append(row)
    whole, part = math.floor(factor), factor - math.floor(factor)
    out: list[TraceRow] = []
    groups_out = same_group = 0
    for members in by_group.values():
        instances = whole + int(rng.random() < part)
        groups_out += instances
        if instances >= 1:
            out.extend(members)
        for copy in range(1, instances):
            shift = float(rng.uniform(-jitter_s, jitter_s))
            new_group = True
            for row in members:
                key, fresh = copy_key(row.key, group_of[row.key], copy, spec)
                new_group = new_group and fresh
                out.append(replace(row, key=key, time_s=max(0.0, row.time_s + shift), group=None))
            same_group += 0 if new_group else len(members)
    out.sort(key=lambda row: row.time_s)
    return Scaled(tuple(out), len(by_group), groups_out, same_group)


def scale_scenario(scenario: Scenario, spec: PipelineSpec, factor: float, seed: int) -> tuple[Scenario, Scaled]:
    """The scenario with its trace scaled; refused for generated arrivals, whose rates say the volume."""
    traces = [p for p in scenario.arrivals if isinstance(p, FileList)]
    if len(traces) != len(scenario.arrivals) or not traces:
        raise ScaleError("--scale replays a trace at another volume; this scenario generates its files "
                         "(poisson, burst, diurnal): raise their rates or files in the scenario instead, or give "
                         "--trace CSV")
    rows = tuple(row for process in traces for row in process.rows)
    scaled = scale_rows(rows, spec, factor, seed)
    if not scaled.rows:
        raise ScaleError(f"--scale {factor:g} keeps no group of the trace's {scaled.groups_in}: give a larger "
                         "factor (a group is kept with probability F)")
    last = max(row.time_s for row in scaled.rows)
    return replace(scenario, arrivals=(FileList(scaled.rows),), duration_s=max(scenario.duration_s, last),
                   name=f"{scenario.name} x{factor:g}"), scaled
