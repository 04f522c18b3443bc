"""The files the ordered queue receives, numbered in enqueue order: the input of the event loop.

Numbering files by enqueue order makes "order within a group" a comparison of
file numbers, which keeps the model's hot path and the ordering checks simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.arrivals import land, route_keys
from landing_pipeline.simulator.intake import run_intake
from landing_pipeline.simulator.scenario import Scenario

T = TypeVar("T")


@dataclass
class Workload:
    keys: list[str]
    group_names: list[str]
    group: list[int]
    land_s: list[float]
    enqueue_s: list[float]
    size_mb: list[float]
    exact_duration_s: list[float]
    fail_attempts: list[int]
    ignored: int
    rejected: int
    router_invocations: int
    reordered_by_intake: int

    @property
    def files(self) -> int:
        return len(self.group)


def build_workload(scenario: Scenario, spec: PipelineSpec, rng: np.random.Generator) -> Workload:
    grouped = route_keys(land(scenario, spec, rng), spec)
    landed = grouped.landed
    land_s = np.asarray(landed.land_s, dtype=float)
    intake = run_intake(land_s, scenario.overheads, scenario.limits.lambda_concurrency, rng)
    order: list[int] | None = np.argsort(intake.enqueue_s, kind="stable").tolist()
    if order == list(range(len(land_s))):
        order = None  # already in enqueue order: no copies
    group = _pick(grouped.group_of, order)
    land_sorted = _pick(landed.land_s, order)
    return Workload(
        keys=_pick(landed.keys, order),
        group_names=grouped.group_names,
        group=group,
        land_s=land_sorted,
        enqueue_s=intake.enqueue_s.tolist() if order is None else intake.enqueue_s[order].tolist(),
        size_mb=_pick(landed.size_mb, order),
        exact_duration_s=_pick(landed.exact_duration_s, order),
        fail_attempts=_pick(landed.fail_attempts, order),
        ignored=grouped.ignored,
        rejected=grouped.rejected,
        router_invocations=intake.router_invocations,
        reordered_by_intake=0 if order is None else _reordered(group, land_sorted, len(grouped.group_names)),
    )


def _pick(column: list[T], order: list[int] | None) -> list[T]:
    return column if order is None else [column[i] for i in order]


def _reordered(group: list[int], land_s: list[float], groups: int) -> int:
    """Files enqueued after a file of their group that landed later (EventBridge reordering)."""
    latest = [float("-inf")] * groups
    count = 0
    for g, t in zip(group, land_s, strict=True):
        if t < latest[g]:
            count += 1
        else:
            latest[g] = t
    return count
