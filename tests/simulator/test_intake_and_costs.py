"""The router stage, the analytic stability check, and what a run costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.distributions import Distribution
from landing_pipeline.simulator.intake import ROUTER_BATCH, run_intake
from landing_pipeline.simulator.overheads import NONE, REALISTIC
from landing_pipeline.simulator.prices import DEFAULT_PRICES, Usage, cost_breakdown
from landing_pipeline.simulator.runner import simulate
from landing_pipeline.simulator.stability import check
from tests.simulator.conftest import scenario, trace_scenario


def test_a_saturated_router_takes_batches_of_ten_in_arrival_order() -> None:
    slow = REALISTIC.__class__(**{**REALISTIC.__dict__, "eventbridge_s": Distribution.fixed(0.0),
                                  "router_poll_s": Distribution.fixed(0.0),
                                  "router_invoke_s": Distribution.fixed(2.0)})
    land = np.zeros(35)
    intake = run_intake(land, slow, 1, np.random.default_rng(0))  # one router invocation at a time
    assert intake.router_invocations == 4  # 10, 10, 10, 5: each batch waits for the one before
    assert sorted(set(intake.enqueue_s.tolist())) == [2.0, 4.0, 6.0, 8.0]
    assert np.count_nonzero(intake.enqueue_s == 4.0) == ROUTER_BATCH
    assert np.count_nonzero(intake.enqueue_s == 8.0) == 5
    assert list(np.argsort(intake.enqueue_s, kind="stable")) == list(range(35))


def test_an_idle_router_adds_only_its_latencies() -> None:
    land = np.arange(0.0, 100.0, 10.0)
    assert run_intake(land, NONE, 1000, np.random.default_rng(0)).enqueue_s.tolist() == land.tolist()
    realistic = run_intake(land, REALISTIC, 1000, np.random.default_rng(0))
    delays = realistic.enqueue_s - land
    assert realistic.router_invocations == 10
    assert np.all(delays > 0.15) and np.all(delays < 30)


def test_glue_is_billed_per_second_with_a_one_minute_minimum(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    rows = ["0,landing/a_000001.csv,30,0", "0,landing/b_000001.csv,600,0"]
    result = simulate(dev_spec.replace(worker_count=5, worker_type="G.2X"),
                      trace_scenario(tmp_path, rows, overheads="none"), seed=1)
    # 10 DPUs x (60 s minimum + 600 s) = 6600 DPU-seconds
    assert result.metrics["glue_dpu_hours"] == pytest.approx(6600 / 3600)
    assert result.metrics["cost_breakdown"]["glue"] == pytest.approx(6600 / 3600 * 0.44)
    assert result.metrics["cost_usd"] == pytest.approx(sum(result.metrics["cost_breakdown"].values()))


def test_request_prices_add_up() -> None:
    usage = Usage(router_invocations=1_000_000, sqs_standard_requests=2_000_000, sqs_fifo_requests=1_000_000,
                  ledger_writes=1_000_000, ledger_reads=2_000_000, eventbridge_events=5_000_000)
    costs = cost_breakdown(usage, DEFAULT_PRICES, lambda_memory_mb=1024)
    assert costs["lambda"] == pytest.approx(0.20 + 1_000_000 * 0.150 * 0.0000133334)   # Arm: the functions are arm64
    assert costs["sqs"] == pytest.approx(0.80 + 0.50)
    assert costs["dynamodb"] == pytest.approx(0.625 + 0.25)
    assert costs["eventbridge"] == 0.0  # S3 and Glue events are AWS service events: free


def test_stability_check_flags_a_group_that_can_never_keep_up(dev_spec: PipelineSpec) -> None:
    case = scenario({"duration_s": 3600, "overheads": "none",
                     "arrivals": [{"burst": {"at_s": 0, "files": 40, "group": "hot", "spread_s": 600}},
                                  {"poisson": {"rate_per_s": 0.05, "groups": 20, "prefix": "calm_"}}],
                     "job": {"startup_s": 0, "duration": {"dist": "fixed", "seconds": 120}}})
    stability = check(case, dev_spec)
    assert stability.unstable_names == ["hot"]  # 40 x 120 s = 4800 s of work in a 3600 s window
    assert stability.unstable[0].utilization == pytest.approx(4800 / 3600)
    assert stability.offered_load == pytest.approx((40 + 180) * 120 / 3600)
    assert stability.parallel_groups_needed == 8
    assert simulate(dev_spec, case, seed=1).metrics["unstable_groups"] == ["hot"]


def test_files_of_unique_groups_count_in_the_offered_load(dev_spec: PipelineSpec) -> None:
    case = scenario({"duration_s": 6000, "overheads": "none",
                     "arrivals": [{"poisson": {"rate_per_s": 0.1, "groups": "unique"}}],
                     "job": {"startup_s": 0, "duration": {"dist": "fixed", "seconds": 100}}})
    stability = check(case, dev_spec)
    assert stability.offered_load == pytest.approx(10.0)  # 0.1 files/s x 100 s
    assert stability.unstable == [] and stability.parallel_groups_needed == 10
