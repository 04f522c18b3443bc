"""Try every combination of settings against one scenario and recommend the cheapest that meets a target.

Each combination is simulated with the same seeds (common random numbers), so
the differences between rows come from the settings, not from luck. The job
duration is scaled from the stack's own DPUs (``job.parallel_fraction``), so
varying ``worker_count`` or ``worker_type`` trades cost against run time only
as far as the scenario says the job scales.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.runtime.errors import InputError, SpecError
from landing_pipeline.runtime.spec import SETTINGS_BY_KEY, SETTINGS_BY_NAME, PipelineSpec, Setting, coerce
from landing_pipeline.simulator.capacity import dpus
from landing_pipeline.simulator.metrics import NAMED_METRICS
from landing_pipeline.simulator.model import Design
from landing_pipeline.simulator.parallel import Simulation, run_all
from landing_pipeline.simulator.runner import aggregate, replicate
from landing_pipeline.simulator.scenario import Scenario

_TARGET = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>|==)\s*([-+0-9.eE]+[smhd]?)\s*$")
_WORDY = re.compile(r"^\s*([a-z0-9_]+):(le|lt|ge|gt|eq):([-+0-9.eE]+[smhd]?)\s*$")  # no shell metacharacters
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}
_WORD_OPS = {"le": "<=", "lt": "<", "ge": ">=", "gt": ">", "eq": "=="}
TARGET_FORMS = ("--target METRIC:OP:VALUE with OP one of le, lt, ge, gt, eq (e.g. --target latency_p95_s:le:2h), "
                "--target 'METRIC<=VALUE' in quotes (<, >=, >, == too; unquoted, the shell takes < and > for "
                "redirects), or --target-p95 DURATION (e.g. --target-p95 2h; durations like 90s, 30m, 2h, 1d)")
"""The accepted ways to write a target, for error messages and help: the shell-safe form first."""
_NOT_TARGETS = {"unstable_groups", "sim_events", "wall_s"}


class SweepError(InputError):
    """A --vary or --target the sweep cannot use; the message says which and how to write it."""


@dataclass(frozen=True)
class Vary:
    setting: Setting
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Target:
    metric: str
    op: str
    value: float

    def met(self, metrics: dict[str, Any]) -> bool:
        measured = metric_value(metrics, self.metric)
        return measured is not None and _OPS[self.op](measured, self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


@dataclass
class Row:
    settings: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    meets: bool = False


@dataclass
class SweepResult:
    rows: list[Row]
    targets: list[Target]
    best: Row | None


def metric_value(metrics: dict[str, Any], name: str) -> float | None:
    """A metric as a number: the mean when replicated."""
    value = metrics.get(name)
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_vary(text: str) -> Vary:
    name, sep, values = text.partition("=")
    name = name.strip()
    setting = SETTINGS_BY_NAME.get(name) or SETTINGS_BY_KEY.get(name)
    if not sep or not values.strip():
        raise SweepError(f"--vary {text!r}: write SETTING=V1,V2,..., e.g. --vary max_parallel_groups=2,4,8,16")
    if setting is None:
        raise SweepError(f"--vary {text!r}: {name!r} is not a setting of the pipeline; use a name such as "
                         "max_parallel_groups, worker_count, worker_type or max_attempts")
    if setting.kind == "array":
        raise SweepError(f"--vary {text!r}: {name} is a list setting and cannot be swept; vary a single value")
    parsed = []
    for raw in values.split(","):
        try:
            parsed.append(coerce(setting, raw.strip()))
        except ValueError as exc:
            raise SweepError(f"--vary {text!r}: {raw.strip()!r} is not valid for {name} ({exc})") from None
    return Vary(setting, tuple(dict.fromkeys(parsed)))


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``2h`` or ``1d``: latency targets are hours, not 7200s."""
    match = _DURATION.match(text)
    if not match:
        raise SweepError(f"{text!r} is not a duration: write a number with s, m, h or d, e.g. 90s, 30m, 2h, 1d")
    number, unit = match.groups()
    return float(number) * _UNIT_S[unit]


def target_metrics() -> list[str]:
    """The metrics a target may name: the named ones that are numbers, and those that explain them."""
    return [m for m in NAMED_METRICS if m not in _NOT_TARGETS] + [
        "dead_by_receive_ceiling", "blocked", "lost", "drain_s", "wait_p95_s", "throttled_starts", "receives_max"]


def parse_target(text: str) -> Target:
    """``METRIC:OP:VALUE`` (shell-safe) or ``METRIC<=VALUE``; a value of a ``*_s`` metric may be a duration.

    A bare metric name is what is left when the shell ate an unquoted ``<=...`` (or ``>=...``, which also
    creates a file named ``=...``): the error says so instead of only "bad syntax".
    """
    wordy, match = _WORDY.match(text), _TARGET.match(text)
    if wordy:
        metric, word, raw = wordy.groups()
        op = _WORD_OPS[word]
    elif match:
        metric, op, raw = match.groups()
    else:
        hint = (f" ({text.strip()!r} has no comparison: if you typed it unquoted, the shell took < or > for a "
                "redirect, and > may have created a file named '=...')" if re.fullmatch(r"\s*[a-z0-9_]+\s*", text)
                else "")
        raise SweepError(f"--target {text!r}: cannot read it{hint}; write {TARGET_FORMS}")
    known = target_metrics()
    if metric not in known:
        raise SweepError(f"--target {text!r}: {metric!r} is not a metric; use one of: {', '.join(known)}")
    if raw[-1] in "smhd" and not metric.endswith("_s"):
        raise SweepError(f"--target {text!r}: {metric} is a count, not a duration; write a plain number")
    try:
        value = parse_duration(raw) if metric.endswith("_s") else float(raw)
    except (SweepError, ValueError):
        kind = "a duration (seconds, or with s, m, h or d)" if metric.endswith("_s") else "a number"
        raise SweepError(f"--target {text!r}: {raw!r} is not {kind}; write {TARGET_FORMS}") from None
    return Target(metric, op, value)


def p95_target(text: str) -> Target:
    """``--target-p95 2h``: the common target, p95 latency (landing to done) at most that long."""
    try:
        return Target("latency_p95_s", "<=", parse_duration(text))
    except SweepError as exc:
        raise SweepError(f"--target-p95 {text!r}: {exc}") from None


def combinations(varies: list[Vary]) -> list[dict[str, Any]]:
    names = [v.setting.name for v in varies]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(v.values for v in varies))]


def run_sweep(spec: PipelineSpec, scenario: Scenario, varies: list[Vary], targets: list[Target], *,
              replications: int = 1, seed: int = 0, design: Design = "held",
              progress: Callable[[int, int, dict[str, Any]], None] | None = None, jobs: int = 1) -> SweepResult:
    """Every combination, ``replications`` runs each with the same seeds; the rows in ``--vary`` order.

    ``jobs > 1`` spreads every (combination, replication) pair over that many worker processes, so one
    combination of 8 replications uses 8 cores; the rows are the same as serial ones (``wall_s`` aside).
    ``progress(done, total, combo)`` counts combinations when serial (called as each starts) and runs when
    parallel (called as each ends, with its combination); both end with ``(total, total, {})``."""
    if jobs > 1:
        return _run_sweep_parallel(spec, scenario, varies, targets, replications, seed, design, progress, jobs)
    reference_dpus = dpus(spec)
    rows = []
    combos = combinations(varies)
    for index, combo in enumerate(combos):
        if progress is not None:
            progress(index, len(combos), combo)
        row = Row(settings=combo)
        try:
            variant = spec.replace(**combo)
        except SpecError as exc:
            row.error = _problems(exc)
            rows.append(row)
            continue
        row.metrics = replicate(variant, scenario, replications, design=design, seed=seed,
                                reference_dpus=reference_dpus).metrics
        row.meets = all(target.met(row.metrics) for target in targets)
        rows.append(row)
    if progress is not None:
        progress(len(combos), len(combos), {})
    return SweepResult(rows, targets, cheapest(rows))


def _problems(exc: SpecError) -> str:
    return "; ".join(f"{p.setting}: {p.message}" for p in exc.problems)


def _run_sweep_parallel(spec: PipelineSpec, scenario: Scenario, varies: list[Vary], targets: list[Target],
                        replications: int, seed: int, design: Design,
                        progress: Callable[[int, int, dict[str, Any]], None] | None, jobs: int) -> SweepResult:
    """The serial sweep's rows, from one pool over every run: an invalid combination is caught here, in the
    parent, before anything is submitted, and becomes its error row as it does serially."""
    reference_dpus = dpus(spec)
    rows = [Row(settings=combo) for combo in combinations(varies)]
    simulations: list[Simulation] = []
    owner: list[int] = []   # the row each simulation belongs to
    for index, row in enumerate(rows):
        try:
            variant = spec.replace(**row.settings)
        except SpecError as exc:
            row.error = _problems(exc)
            continue
        simulations += [Simulation(variant, scenario, design, seed + r, reference_dpus) for r in range(replications)]
        owner += [index] * replications
    count = {"done": 0}

    def done(task: int) -> None:
        count["done"] += 1
        if progress is not None:
            progress(count["done"], len(simulations), rows[owner[task]].settings)

    samples = run_all(simulations, jobs, done)
    for index, row in enumerate(rows):
        mine = [metrics for metrics, o in zip(samples, owner, strict=True) if o == index]
        if row.error:
            continue
        row.metrics = aggregate(mine) if replications > 1 else mine[0]
        row.meets = all(target.met(row.metrics) for target in targets)
    if progress is not None:
        progress(len(simulations), len(simulations), {})
    return SweepResult(rows, targets, cheapest(rows))


COST_TOLERANCE = 0.01
"""Costs within 1 % (or a cent) of the cheapest count as equal: Glue bills run time, not parallelism, so
settings like max_parallel_groups barely move the cost, and the noise of throttled Lambda calls must not
pick a bigger setting. Among equals the earlier combination (the smaller values, as --vary lists them) wins."""


def cheapest(rows: list[Row]) -> Row | None:
    """The first row, in --vary order, that meets every target at (about) the lowest cost."""
    candidates = [row for row in rows if row.meets and metric_value(row.metrics, "cost_usd") is not None]
    if not candidates:
        return None
    lowest = min(metric_value(row.metrics, "cost_usd") or 0.0 for row in candidates)
    limit = lowest * (1 + COST_TOLERANCE) + 0.01
    return next(row for row in candidates if (metric_value(row.metrics, "cost_usd") or 0.0) <= limit)
