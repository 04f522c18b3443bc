"""Properties of the held design over random scenarios: never two runs of a group at once, always in order.

Hypothesis draws small traces (a few groups, random landing times, durations and failures), stack
settings and both overhead presets (realistic: the Glue-slot handoff; none: an ideal wait); every run of
the held design must respect the group hold, and every receive must be an attempt or a waiter's return.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, PENDING, SUCCEEDED
from landing_pipeline.simulator.runner import SimulationResult, simulate
from landing_pipeline.simulator.scenario import parse_scenario
from tests.simulator.conftest import ROOT

DEV = load_stack("dev", ROOT)

row = st.tuples(st.integers(0, 3), st.floats(0, 500, allow_nan=False), st.floats(1, 200, allow_nan=False),
                st.integers(0, 4) | st.none())


@st.composite
def cases(draw: Any) -> tuple[PipelineSpec, dict[str, Any], str]:
    rows = draw(st.lists(row, min_size=1, max_size=25))
    files = [{"at_s": round(at, 3), "key": f"landing/g{group}_{index:06d}.csv", "duration_s": round(duration, 3),
              **({} if fails is None else {"fail_attempts": fails})}
             for index, (group, at, duration, fails) in enumerate(rows)]
    spec = DEV.replace(max_parallel_groups=draw(st.integers(1, 3)), max_attempts=draw(st.integers(1, 3)),
                       on_failure=draw(st.sampled_from(["continue", "block"])),
                       retry_backoff_base_s=draw(st.integers(1, 60)), throttle_backoff_s=draw(st.integers(1, 30)))
    document = {"duration_s": 600, "arrivals": [{"files": files}],
                "overheads": draw(st.sampled_from(["realistic", "none"])),
                "job": {"failure_rate": draw(st.sampled_from([0.0, 0.3]))}}
    return spec, document, draw(st.sampled_from(["held", "seed"]))


def runs_by_group(result: SimulationResult) -> dict[int, list[tuple[float, float, int]]]:
    runs, group = result.model.runs, result.workload.group
    by_group: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for fid, start, end in zip(runs.file.tolist(), runs.start.tolist(), runs.end.tolist(), strict=True):
        by_group[group[fid]].append((start, end, fid))
    return by_group


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_held_design_never_overlaps_and_keeps_enqueue_order(case: tuple[PipelineSpec, dict[str, Any], str]) -> None:
    spec, document, _ = case
    result = simulate(spec, parse_scenario(document, "<hypothesis>", Path(".")), design="held", seed=3)
    for runs in runs_by_group(result).values():
        runs.sort()
        for (_, end, _), (start, _, _) in pairwise(runs):
            assert start >= end, "a run started before the previous run of its group ended"
        files = [fid for _, _, fid in runs]
        assert files == sorted(files), "a group's runs are not in enqueue order"
    metrics = result.metrics
    assert metrics["overlapping_runs"] == 0
    assert metrics["ordering_violations"] == 0
    assert metrics["max_runs_per_group"] <= 1
    assert metrics["max_concurrent_runs"] <= min(spec.max_parallel_groups, 50)
    status = result.model.ledger.status
    assert status.count(PENDING) == 0
    assert status.count(SUCCEEDED) + status.count(DEAD) + status.count(BLOCKED) == len(status)
    assert max(result.model.ledger.attempts) <= spec.max_attempts
    # receives are attempts plus wake-ups and fallbacks of a waiter (the handoff), never anything else
    ledger, returns = result.model.ledger, result.model.line.returns
    assert ledger.receives == [a + r for a, r in zip(ledger.attempts, returns, strict=True)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_file_is_accounted_for_in_both_designs(case: tuple[PipelineSpec, dict[str, Any], str]) -> None:
    spec, document, design = case
    result = simulate(spec, parse_scenario(document, "<hypothesis>", Path(".")), design=design, seed=5)  # type: ignore[arg-type]
    metrics = result.metrics
    assert (metrics["succeeded"] + metrics["dead"] + metrics["lost"] + metrics["blocked"] + metrics["unfinished"]
            == metrics["files"] == len(document["arrivals"][0]["files"]))
    assert metrics["max_concurrent_runs"] <= spec.max_parallel_groups
