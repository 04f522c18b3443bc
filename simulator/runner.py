"""Run the model once or many times, and summarise replications as mean and 95 % confidence interval.

The event loop advances in slices of simulated time; between slices it samples
the dashboard series and reports progress, so neither needs events of its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.capacity import dispatcher_concurrency
from landing_pipeline.simulator.errors import UnsupportedByFastModel
from landing_pipeline.simulator.metrics import compute, is_number
from landing_pipeline.simulator.model import Design, PipelineModel
from landing_pipeline.simulator.processes import reconciler, router
from landing_pipeline.simulator.queue_model import QueueModel
from landing_pipeline.simulator.queue_scope import unsupported
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.seed_model import SeedModel, seed_dispatcher, seed_router
from landing_pipeline.simulator.stability import Stability, check
from landing_pipeline.simulator.theory import mean_ci95
from landing_pipeline.simulator.workload import Workload, build_workload

Progress = Callable[[int, int], None]
MAX_SAMPLES = 1200
Model = PipelineModel | SeedModel | QueueModel


@dataclass
class SimulationResult:
    metrics: dict[str, Any]
    model: Model
    stability: Stability
    design: Design
    seed: int

    @property
    def workload(self) -> Workload:
        return self.model.w

    def run_order(self) -> dict[str, list[str]]:
        """Per group, the keys of its Glue runs in the order they started (a retried file appears once per
        attempt): what the agreement test compares with the emulator's runs of the same trace. A batch lists
        the files its job began, in its order: those it finished and the one it stopped on, not those after
        (the emulator's run log has no run of a file the job never began)."""
        runs, w = self.model.runs, self.model.w
        begun: list[int] = []
        current, stopped = None, False
        for index in range(len(runs)):   # a run's rows are consecutive (``Model.started``), in the job's order
            fid = int(runs.file[index])
            run = (w.group[fid], runs.lease_at[index], runs.dispatched[index], runs.end[index])
            if run != current:
                current, stopped = run, False
            if not stopped:
                begun.append(index)
                stopped = not runs.ok[index]
        order: dict[str, list[str]] = {}
        for index in sorted(begun, key=lambda i: (runs.start[i], i)):
            fid = int(runs.file[index])
            order.setdefault(w.group_names[w.group[fid]], []).append(w.keys[fid])
        return order


def _events_scheduled(env: simpy.Environment) -> int:
    """SimPy numbers every scheduled event; reading the counter costs nothing per event."""
    counter = getattr(env, "_eid", None)
    return int(next(counter)) if counter is not None else -1


def simulate(spec: PipelineSpec, scenario: Scenario, *, design: Design = "held", seed: int = 0,
             progress: Progress | None = None, reference_dpus: float | None = None) -> SimulationResult:
    """One run of ``scenario`` against ``spec``."""
    started = time.perf_counter()
    np_rng = np.random.default_rng(seed)
    workload = build_workload(scenario, spec, np_rng)
    stability = check(scenario, spec, reference_dpus)
    if design == "queue":
        return _simulate_queue(spec, scenario, workload, np_rng, stability, seed, started, progress, reference_dpus)
    env = simpy.Environment()
    model: Model
    if design == "seed":
        model = SeedModel(env, spec, scenario, workload, np_rng, reference_dpus)
        env.process(seed_router(env, model))
        for _ in range(dispatcher_concurrency(spec)):
            env.process(seed_dispatcher(env, model))
    else:
        model = PipelineModel(env, spec, scenario, workload, np_rng, reference_dpus)
        env.process(router(env, model))
        env.process(reconciler(env, model))
    end_s = _run(env, model, scenario, progress)
    wall = time.perf_counter() - started
    metrics = compute(model, scenario, stability, wall, _events_scheduled(env), end_s)
    return SimulationResult(metrics, model, stability, design, seed)


def _simulate_queue(spec: PipelineSpec, scenario: Scenario, workload: Workload, rng: np.random.Generator,
                    stability: Stability, seed: int, started: float, progress: Progress | None,
                    reference_dpus: float | None) -> SimulationResult:
    """The fast model (``simulator.queue_model``): its own event loop, the same metrics."""
    problems = unsupported(spec, scenario)
    if problems:
        raise UnsupportedByFastModel(problems)
    model = QueueModel(spec, scenario, workload, rng, reference_dpus)
    end_s = model.run(scenario.limits.drain_limit_s, progress)
    wall = time.perf_counter() - started
    metrics = compute(model, scenario, stability, wall, model.seq, end_s)
    return SimulationResult(metrics, model, stability, "queue", seed)


def _run(env: simpy.Environment, model: Model, scenario: Scenario, progress: Progress | None) -> float:
    """Advance until every file is finished (or blocked), or the drain limit passes; returns the end time."""
    total = model.w.files
    last_enqueue = model.w.enqueue_s[-1] if total else 0.0
    limit = last_enqueue + scenario.limits.drain_limit_s
    step = max(scenario.duration_s / 400.0, 1.0)
    t = 0.0
    model.sample()
    while model.busy:
        upcoming = env.peek()
        if upcoming == math.inf or t >= limit:
            break
        if upcoming > t + step:  # nothing happens for a while: skip to the slice holding the next event
            t = math.floor(upcoming / step) * step
        t = min(t + step, limit)
        if t <= env.now:
            break
        env.run(until=t)
        model.sample()
        if len(model.series.t) > MAX_SAMPLES:
            model.series.decimate()
            step *= 2
        if progress is not None:
            progress(total - model.outstanding, total)
    return max(model.last_final_s, env.now if model.outstanding > 0 else model.last_final_s)


@dataclass
class Replicated:
    """Metrics of N independent runs: numbers as {mean, ci95}, other values from the first run.

    ``first`` is run 0 in full (its model draws the plots); ``samples`` are every run's own metrics, in seed
    order. Only run 0 keeps its model: the others may have run in another process, and a model holds
    SimPy's generators, which do not pickle."""

    metrics: dict[str, Any]
    first: SimulationResult
    samples: list[dict[str, Any]]


def replicate(spec: PipelineSpec, scenario: Scenario, replications: int, *, design: Design = "held",
              seed: int = 0, progress: Progress | None = None,
              reference_dpus: float | None = None, jobs: int = 1) -> Replicated:
    """``replications`` runs with seeds ``seed``, ``seed + 1``, ...; with ``jobs > 1`` runs 1 and on go to
    up to ``jobs`` worker processes while this process simulates run 0, with the same metrics as serial.

    Progress counts files over all runs: run 0's as they finish, another run's all at once when it ends
    (a worker reports nothing before then)."""
    if jobs <= 1 or replications <= 1:
        return _replicate_here(spec, scenario, replications, design, seed, progress, reference_dpus)
    from landing_pipeline.simulator.parallel import Batch, Simulation

    rest = [Simulation(spec, scenario, design, seed + index, reference_dpus) for index in range(1, replications)]
    with Batch(rest, jobs) as batch:
        batch.start(pool=True)
        state = {"total": 0, "ended": 0}

        def report(done: int, total: int) -> None:
            state["total"] = total
            if progress is not None:
                others = max(state["ended"], batch.finished())
                progress(done + others * total, replications * total)

        first = simulate(spec, scenario, design=design, seed=seed, reference_dpus=reference_dpus,
                         progress=report if progress is not None else None)

        def ended(_index: int) -> None:
            state["ended"] += 1
            if state["total"]:
                report(state["total"], state["total"])

        samples = [first.metrics, *batch.results(ended)]
    return Replicated(aggregate(samples), first, samples)


def _replicate_here(spec: PipelineSpec, scenario: Scenario, replications: int, design: Design, seed: int,
                    progress: Progress | None, reference_dpus: float | None) -> Replicated:
    """The serial loop, in this process: progress advances within every run."""
    first: SimulationResult | None = None
    samples = []
    for index in range(replications):
        inner = None
        if progress is not None:
            def inner(done: int, total: int, index: int = index) -> None:
                progress(index * total + done, replications * total)
        result = simulate(spec, scenario, design=design, seed=seed + index, progress=inner,
                          reference_dpus=reference_dpus)
        if first is None:   # the later runs' models are not kept: only their metrics are used
            first = result
        samples.append(result.metrics)
    if first is None:
        raise ValueError("replications must be at least 1")
    return Replicated(aggregate(samples) if replications > 1 else first.metrics, first, samples)


def aggregate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric metric as {"mean", "ci95"} over replications, and how many replications there were."""
    return {**_merge(samples), "replications": len(samples)}


def _merge(samples: list[dict[str, Any]], missing: Any = None) -> dict[str, Any]:
    """Numbers as {"mean", "ci95"}; lists and mappings merged as they are. The count of replications is not
    added here: inside a mapping such as cost_breakdown it would read as one more item. Inside a mapping, a
    name some runs lack (a decision kind one run never took) counts 0 there."""
    result: dict[str, Any] = {}
    names = dict.fromkeys(name for sample in samples for name in sample)
    for name in names:
        values = [sample.get(name, missing) for sample in samples]
        first = next(v for v in values if v is not None) if any(v is not None for v in values) else None
        if all(is_number(v) for v in values):
            mean, half = mean_ci95([float(v) for v in values])
            result[name] = {"mean": mean, "ci95": half}
        elif isinstance(first, dict):
            result[name] = _merge([v for v in values if isinstance(v, dict)], missing=0)
        elif isinstance(first, list):
            result[name] = sorted({item for v in values for item in v})
        else:  # a metric that had no value in some run (no file succeeded, say)
            numbers = [float(v) for v in values if is_number(v)]
            result[name] = ({"mean": mean_ci95(numbers)[0], "ci95": mean_ci95(numbers)[1], "runs": len(numbers)}
                            if numbers else None)
    return result
