"""The files the router records, numbered in the order it records them: the input of the event loop.

That order is not the order the pipeline keeps: EventBridge and the intake may deliver a group's files out
of landing order, and the ledger orders them by the stack's ``orderBy`` (``sort_keys``). ``land_index`` is
each file's place in landing order, which the model passes as the S3 sequencer (it orders events of one key).
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
    land_index: list[int]

    @property
    def files(self) -> int:
        return len(self.group)


def build_workload(scenario: Scenario, spec: PipelineSpec, rng: np.random.Generator) -> Workload:
    grouped = route_keys(land(scenario, spec, rng), spec)
    landed = grouped.landed
    land_s = np.asarray(landed.land_s, dtype=float)
    delays = np.asarray(landed.event_delay_s, dtype=float) if any(landed.event_delay_s) else None
    intake = run_intake(land_s, scenario.overheads, scenario.limits.lambda_concurrency, rng, delays)
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
        land_index=list(range(len(land_s))) if order is None else order,
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
