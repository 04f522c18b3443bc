"""Turn a scenario into the files that land, with the group the router would give each one.

Every file gets a real S3 key (the stack's key prefix, the group name, the
landing time as ``_HHMMSS`` and the stack's first suffix), then the stack's
own filters and ``runtime.grouping.group_for_key``: a scenario replayed
against a stack with another grouping rule groups its files differently, as
the deployed router would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from landing_pipeline.runtime.feeds import unmatched_reason
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.arrival_specs import ArrivalProcess, Burst, Diurnal, FileList, GroupChoice, Poisson
from landing_pipeline.simulator.distributions import draw_many
from landing_pipeline.simulator.scenario import Scenario

DAY_S = 86400
UNKNOWN_SIZE = -1.0


@dataclass
class Landed:
    """Files in landing order, before the intake: times, keys and what is known about each run."""

    land_s: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    size_mb: list[float] = field(default_factory=list)  # UNKNOWN_SIZE when a trace does not say
    exact_duration_s: list[float] = field(default_factory=list)  # -1: draw from the job model
    fail_attempts: list[int] = field(default_factory=list)  # -1: draw from the failure rate
    event_delay_s: list[float] = field(default_factory=list)  # the S3 event's extra delay (traces)
    base: list[int] = field(default_factory=list)  # index in ``bases`` of a generated key's stem, -1: none
    bases: list[str] = field(default_factory=list)  # key prefix + group name, shared by all parts

    COLUMNS = ("land_s", "keys", "size_mb", "exact_duration_s", "fail_attempts", "event_delay_s", "base")


_STAMPS: list[str] = []


def stamps(times: np.ndarray, start_clock_s: float) -> list[str]:
    """``_HHMMSS`` of each landing time (the file name's time field), from a table built once."""
    if not _STAMPS:
        sixty = [f"{n:02d}" for n in range(60)]   # one concatenation per second of the day, not three formats
        _STAMPS.extend(f"_{hh}{mm}{ss}" for hh in sixty[:DAY_S // 3600] for mm in sixty for ss in sixty)
    seconds = (np.floor(times + start_clock_s).astype(np.int64) % DAY_S).tolist()
    table = _STAMPS
    return [table[s] for s in seconds]


def group_probabilities(choice: GroupChoice) -> np.ndarray:
    count = choice.count or 1
    if choice.zipf_s <= 0:
        return np.full(count, 1.0 / count)
    weights: np.ndarray = 1.0 / np.arange(1, count + 1, dtype=float) ** choice.zipf_s
    return weights / float(weights.sum())


def diurnal_rate(process: Diurnal, start_clock_s: float) -> Callable[[np.ndarray], np.ndarray]:
    """Files per second at scenario time t: a cosine day peaking at ``peak_hour``."""
    span = process.peak_rate_per_s - process.trough_rate_per_s

    def rate(t: np.ndarray) -> np.ndarray:
        hour = ((start_clock_s + t) / 3600.0) % 24.0
        return process.trough_rate_per_s + span * (1.0 + np.cos(2 * np.pi * (hour - process.peak_hour) / 24.0)) / 2
    return rate


def _times(process: ArrivalProcess, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    if isinstance(process, Poisson):
        end = scenario.duration_s if process.end_s is None else process.end_s
        span = max(0.0, end - process.start_s)
        count = rng.poisson(process.rate_per_s * span)
        return np.sort(rng.uniform(process.start_s, process.start_s + span, count))
    if isinstance(process, Burst):
        if process.spread_s <= 0:
            return np.full(process.files, process.at_s)
        return np.sort(rng.uniform(process.at_s, process.at_s + process.spread_s, process.files))
    assert isinstance(process, Diurnal)
    candidates = np.sort(rng.uniform(0.0, scenario.duration_s, rng.poisson(process.peak_rate_per_s
                                                                           * scenario.duration_s)))
    keep = rng.uniform(0.0, process.peak_rate_per_s, len(candidates)) < diurnal_rate(
        process, scenario.start_clock_s)(candidates)
    return candidates[keep]


def _suffix(spec: PipelineSpec) -> str:
    return spec.key_suffixes[0] if spec.key_suffixes else ".csv"


def land(scenario: Scenario, spec: PipelineSpec, rng: np.random.Generator) -> Landed:
    """Every file of every process, with its key, in landing order (ties keep declaration order)."""
    parts: list[Landed] = []
    suffix = _suffix(spec)
    bases: list[str] = []
    base_ids: dict[str, int] = {}

    def base_id(stem: str) -> int:
        found = base_ids.get(stem)
        if found is None:
            found = base_ids[stem] = len(bases)
            bases.append(stem)
        return found

    for process in scenario.arrivals:
        part = Landed()
        if isinstance(process, FileList):
            for row in process.rows:
                part.land_s.append(row.time_s)
                part.keys.append(row.key)
                part.size_mb.append(row.size_mb if row.size_mb is not None else UNKNOWN_SIZE)
                part.exact_duration_s.append(-1.0 if row.duration_s is None else row.duration_s)
                part.fail_attempts.append(-1 if row.fail_attempts is None else row.fail_attempts)
                part.event_delay_s.append(row.event_delay_s)
                part.base.append(-1)
            parts.append(part)
            continue
        times = _times(process, scenario, rng)
        n = len(times)
        stamped = [stamp + suffix for stamp in stamps(times, scenario.start_clock_s)]
        if isinstance(process, Burst) and process.group is not None:
            stem = spec.key_prefix + process.group
            keys = [stem + tail for tail in stamped]
            part.base = [base_id(stem)] * n
        elif process.groups.count is None:  # unique: one group per file
            prefix = spec.key_prefix + process.groups.prefix + "u"
            keys = [f"{prefix}{i:07d}{tail}" for i, tail in enumerate(stamped)]
            part.base = [-1] * n
        else:
            choice = process.groups
            stems = [spec.key_prefix + choice.name(i) for i in range(choice.count or 1)]
            ids = [base_id(stem) for stem in stems]
            picks = rng.choice(len(stems), size=n, p=group_probabilities(choice)).tolist()
            keys = [stems[g] + tail for g, tail in zip(picks, stamped, strict=True)]
            part.base = [ids[g] for g in picks]
        part.land_s = times.tolist()
        part.keys = keys
        part.size_mb = draw_many(process.size_mb, rng, n).tolist()
        part.exact_duration_s = [-1.0] * n
        part.fail_attempts = [-1] * n
        part.event_delay_s = [0.0] * n
        parts.append(part)
    merged = _merge(parts)
    merged.bases = bases
    return merged


def _merge(parts: list[Landed]) -> Landed:
    if len(parts) == 1:
        only = parts[0]
        order = np.argsort(np.asarray(only.land_s, dtype=float), kind="stable").tolist()
        if order == list(range(len(order))):
            return only
        parts = [only]
    land_s = np.concatenate([np.asarray(p.land_s, dtype=float) for p in parts]) if parts else np.zeros(0)
    order = np.argsort(land_s, kind="stable").tolist()
    merged = Landed()
    for name in Landed.COLUMNS:
        joined: list[object] = [item for p in parts for item in getattr(p, name)]
        setattr(merged, name, [joined[i] for i in order])
    return merged


@dataclass
class Grouped:
    """The files the router accepts, each with its group index; the rest counted by reason."""

    landed: Landed
    group_of: list[int]
    group_names: list[str]
    ignored: int
    rejected: int


# Landing times that differ in every digit of the _HHMMSS field: if the grouping rule gives all of them
# the same group, the rule ignores the time field of that stem (see route_keys).
_PROBE_STAMPS = ("_000000", "_235959", "_123456", "_091817")


def route_keys(landed: Landed, spec: PipelineSpec) -> Grouped:
    """Apply the router's filters and ``group_for_key`` to every file.

    Generated keys are ``stem + _HHMMSS + suffix``. For the rules whose result either contains the whole
    time field verbatim or none of it (default, fields, and the global scope), probing a stem with
    landing times that differ in every digit decides exactly whether the time matters; when it does not,
    the stem's group is computed once. Otherwise (regex and filename rules, explicit keys), each key is
    grouped on its own, as the router does.
    """
    ignored_code, rejected_code, per_key = -2, -1, -3
    prefix, suffixes = spec.key_prefix, tuple(spec.key_suffixes)
    suffix = _suffix(spec)
    index_of: dict[str, int] = {}
    names: list[str] = []

    def classify(key: str) -> int:
        if (prefix and not key.startswith(prefix)) or (suffixes and not key.endswith(suffixes)) or (
                spec.ignore_folder_markers and key.endswith("/")):
            return ignored_code
        try:
            group = group_for_key(key, spec)
        except UngroupableKey:
            return rejected_code
        if unmatched_reason(spec.feeds, spec.unmatched_files, group, key) is not None:
            return rejected_code   # the router parks it in the intake DLQ (unmatchedFiles: reject)
        index = index_of.get(group)
        if index is None:
            index = index_of[group] = len(names)
            names.append(group)
        return index

    probing = spec.ordering_scope == "global" or spec.grouping_rule in ("default", "fields")
    by_stem: list[int | None] = [None if probing else per_key] * len(landed.bases)

    def probe(stem: int) -> int:
        found = {classify(landed.bases[stem] + stamp + suffix) for stamp in _PROBE_STAMPS}
        return found.pop() if len(found) == 1 else per_key

    by_key: dict[str, int] = {}
    keep: list[int] = []
    group_of: list[int] = []
    ignored = rejected = 0
    skip_empty = spec.ignore_empty_objects
    sizes, stems = landed.size_mb, landed.base
    for i, key in enumerate(landed.keys):
        stem = stems[i]
        index = per_key
        if stem >= 0:
            known = by_stem[stem]
            if known is None:
                known = by_stem[stem] = probe(stem)
            index = known
        if index == per_key:
            cached = by_key.get(key)
            index = by_key[key] = classify(key) if cached is None else cached
        if index < 0 or (skip_empty and sizes[i] == 0.0):
            if index == rejected_code:
                rejected += 1
            else:
                ignored += 1
            continue
        keep.append(i)
        group_of.append(index)
    if len(keep) != len(landed.keys):
        kept = Landed(bases=landed.bases)
        for name in Landed.COLUMNS:
            column = getattr(landed, name)
            setattr(kept, name, [column[i] for i in keep])
        landed = kept
    return Grouped(landed, group_of, names, ignored, rejected)
