"""The analytic check run before simulating: which groups can never keep up, and how many slots are needed.

A group holds the pipeline for one file at a time, so a group whose files
arrive faster than one hold time each (utilization = arrival rate x mean hold
>= 1) builds a backlog that no ``max_parallel_groups`` can drain: only a
faster job or a finer grouping rule helps. Across groups, the mean number of
busy Glue slots is the offered load; fewer slots than that cannot keep up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from landing_pipeline.runtime.feeds import feed_of_key
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.arrival_specs import Burst, Diurnal, FileList, GroupChoice, Poisson
from landing_pipeline.simulator.arrivals import diurnal_rate, group_probabilities
from landing_pipeline.simulator.capacity import dpus, duration_scale
from landing_pipeline.simulator.scenario import JobModel, Scenario


@dataclass(frozen=True)
class GroupLoad:
    group: str
    files: float
    utilization: float


@dataclass
class Stability:
    hold_mean_s: float
    """Mean time a file holds its group: dispatch, Glue start, run(s), completion, retry backoffs."""
    slot_mean_s: float
    """Mean time a file holds a Glue slot (start latency plus run, over its expected attempts)."""
    offered_load: float
    """Glue slots busy on average over the arrival window."""
    unstable: list[GroupLoad] = field(default_factory=list)

    @property
    def parallel_groups_needed(self) -> int:
        """The fewest parallel groups that keep up on average (more are needed for low latency)."""
        return max(1, math.ceil(self.offered_load - 1e-9))

    @property
    def unstable_names(self) -> list[str]:
        return [load.group for load in self.unstable]


def _expected_attempts(failure_rate: float, max_attempts: int) -> float:
    return sum(failure_rate**k for k in range(max_attempts))


def check(scenario: Scenario, spec: PipelineSpec, reference_dpus: float | None = None) -> Stability:
    job, over = scenario.job, scenario.overheads
    reference = reference_dpus or dpus(spec)

    def scale_of(model: JobModel) -> float:   # as the model scales each run (simulator.model)
        return duration_scale(spec, reference, model.parallel_fraction)

    scale = scale_of(job)
    attempts = _expected_attempts(job.failure_rate, spec.max_attempts)
    backoff = sum(job.failure_rate**k * spec.retry_backoff_s(k) for k in range(1, spec.max_attempts))
    per_attempt_overhead = over.dispatcher_s.mean + over.glue_start_s.mean + over.completion_s.mean
    work = _expected_work(scenario, spec, scale_of)
    total_files = sum(files for files, _ in work.values())
    total_run = sum(run for _, run in work.values())
    mean_run = total_run / total_files if total_files else job.mean_run_s(scale=scale)
    window = scenario.duration_s
    unstable = []
    for group, (files, run_s) in work.items():
        if group == UNIQUE:
            continue
        hold = attempts * (per_attempt_overhead * files + run_s) + backoff * files
        utilization = hold / window
        if files > 1 and utilization >= 1.0:
            unstable.append(GroupLoad(group, files, utilization))
    unstable.sort(key=lambda load: -load.utilization)
    slot = attempts * (over.glue_start_s.mean + mean_run)
    return Stability(hold_mean_s=attempts * (per_attempt_overhead + mean_run) + backoff,
                     slot_mean_s=slot, offered_load=total_files * slot / window, unstable=unstable)


UNIQUE = ""
"""The bucket for files of processes with one group per file: they count in the offered load, and a group
of one file never queues behind itself. (No group name is empty, so the key cannot collide.)"""


def _expected_work(scenario: Scenario, spec: PipelineSpec,
                   scale_of: Callable[[JobModel], float]) -> dict[str, tuple[float, float]]:
    """Per group: expected files over the window and their expected total run time (one attempt each).

    A group of a feed the scenario models (``feeds:``) runs with that feed's model (``simulator.feed_models``);
    the retries' share stays ``job:``'s (``check``)."""
    job = scenario.job
    models = dict(scenario.feed_jobs)
    work: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    suffix = spec.key_suffixes[0] if spec.key_suffixes else ".csv"
    timeout = float(spec.job_timeout_s)

    def mean_run(group: str, key: str, size_mb: float) -> float:
        feed = feed_of_key(spec.feeds, group, key) if models and spec.feeds else None
        model = models.get(feed.name, job) if feed is not None else job
        return model.mean_run_s(size_mb, scale_of(model))

    def add(key: str, files: float, size_mb: float, exact_s: float | None = None) -> None:
        try:
            group = group_for_key(key, spec)
        except UngroupableKey:
            return
        run_s = exact_s if exact_s is not None else mean_run(group, key, size_mb)
        entry = work[group]
        entry[0] += files
        entry[1] += files * min(run_s, timeout)

    for process in scenario.arrivals:
        if isinstance(process, FileList):
            for row in process.rows:
                add(row.key, 1.0, max(0.0, row.size_mb or 0.0), row.duration_s)
            continue
        size = process.size_mb.mean
        if isinstance(process, Poisson):
            end = scenario.duration_s if process.end_s is None else process.end_s
            files = process.rate_per_s * max(0.0, end - process.start_s)
        elif isinstance(process, Burst):
            files = float(process.files)
            if process.group is not None:
                add(spec.key_prefix + process.group + "_000000" + suffix, files, size)
                continue
        else:
            assert isinstance(process, Diurnal)
            grid = np.linspace(0.0, scenario.duration_s, 1441)
            files = float(np.mean(diurnal_rate(process, scenario.start_clock_s)(grid))) * scenario.duration_s
        if process.groups.count is None:
            run = job.mean_run_s(size, scale_of(job))
            entry = work[UNIQUE]
            entry[0] += files
            entry[1] += files * min(run, timeout)
            continue
        _spread(process.groups, files, size, spec.key_prefix, suffix, add)
    return {group: (entry[0], entry[1]) for group, entry in work.items()}


def _spread(choice: GroupChoice, files: float, size_mb: float, key_prefix: str, suffix: str,
            add: Callable[[str, float, float], None]) -> None:
    for index, share in enumerate(group_probabilities(choice).tolist()):
        add(key_prefix + choice.name(index) + "_000000" + suffix, files * share, size_mb)


def expected_files(scenario: Scenario) -> float:
    """About how many files the scenario lands (to decide whether a progress bar is worth showing)."""
    total = 0.0
    for process in scenario.arrivals:
        if isinstance(process, FileList):
            total += len(process.rows)
        elif isinstance(process, Poisson):
            end = scenario.duration_s if process.end_s is None else process.end_s
            total += process.rate_per_s * max(0.0, end - process.start_s)
        elif isinstance(process, Burst):
            total += process.files
        else:
            total += (process.peak_rate_per_s + process.trough_rate_per_s) / 2 * scenario.duration_s
    return total
