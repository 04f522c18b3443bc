"""The seed card's design lets runs of one group overlap on a burst; the held design never does."""

from __future__ import annotations

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.runner import simulate
from tests.simulator.conftest import scenario

BURST_INTO_ONE_GROUP = {
    "duration_s": 600,
    "arrivals": [{"burst": {"at_s": 0, "files": 40, "group": "orders_20250915", "spread_s": 300}}],
    "job": {"startup_s": 20, "duration": {"dist": "lognormal", "mean_s": 120, "sigma": 0.3}},
}


def test_seed_design_overlaps_runs_of_one_group(dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=4, batch_max_files=1)   # the hold alone, not batches
    seed = simulate(spec, scenario(BURST_INTO_ONE_GROUP), design="seed", seed=11).metrics
    held = simulate(spec, scenario(BURST_INTO_ONE_GROUP), design="held", seed=11).metrics
    assert seed["groups"] == held["groups"] == 1
    assert seed["overlapping_runs"] > 10
    assert seed["max_runs_per_group"] == 4  # every Glue slot ran a file of the same group
    assert seed["ordering_violations"] > 10
    assert held["overlapping_runs"] == held["ordering_violations"] == 0
    assert held["max_runs_per_group"] == 1 and held["max_parallel_groups"] == 1
    # the price of order: one group drains one file at a time
    assert held["drain_s"] > 1.5 * seed["drain_s"]


def test_seed_design_loses_failed_runs_held_design_retries_them(dev_spec: PipelineSpec) -> None:
    document = {**BURST_INTO_ONE_GROUP, "job": {**BURST_INTO_ONE_GROUP["job"], "failure_rate": 0.3}}
    spec = dev_spec.replace(max_parallel_groups=4, max_attempts=5)
    seed = simulate(spec, scenario(document), design="seed", seed=2).metrics
    held = simulate(spec, scenario(document), design="held", seed=2).metrics
    assert seed["lost"] > 0 and seed["succeeded"] + seed["lost"] == 40
    assert held["lost"] == 0 and held["succeeded"] + held["dead"] == 40 and held["succeeded"] >= 38
