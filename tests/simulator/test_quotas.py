"""AWS quotas in the model (issue 15): a scenario that exceeds one is reported with the quota's name, when it
was first hit, how often, and what it cost in latency; what the quota holds back is checked from Glue's own
run records (when each run was started and ran), not from the quota log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.errors import ScenarioError
from landing_pipeline.simulator.limits import QUOTAS, Limits
from landing_pipeline.simulator.report import warnings
from landing_pipeline.simulator.runner import SimulationResult, simulate
from tests.simulator.conftest import scenario, trace_scenario

NO_DELAYS = {"preset": "none"}
ONE_SECOND_DISPATCH = {"preset": "none", "dispatcher_s": {"dist": "fixed", "seconds": 1}}


def most_runs_alive(result: SimulationResult) -> int:
    """From Glue's run records: most runs holding a slot (StartJobRun to end) at once."""
    events = sorted([(r.dispatched, 1) for r in result.model.glue.runs] + [(r.end, -1) for r in result.model.glue.runs],
                    key=lambda e: (e[0], e[1]))
    alive = peak = 0
    for _, step in events:
        alive += step
        peak = max(peak, alive)
    return peak


def first_running(result: SimulationResult) -> dict[str, float]:
    """Per key, when its first run was RUNNING (Glue's records)."""
    w, seen = result.workload, {}
    for run in result.model.glue.runs:
        for fid in run.fids:
            key = w.keys[fid].removeprefix("landing/")
            seen[key] = min(seen.get(key, run.running_at), run.running_at)
    return seen


# --- Glue: the account's concurrent runs -----------------------------------------------------------------------
def test_more_parallel_groups_than_the_account_allows_is_reported_as_the_glue_quota(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=8, settle_seconds=0)
    rows = [f"0,landing/g{i:02d}_000000.csv,100,0" for i in range(12)]
    # a refused start frees its slot and wakes the next waiter, which tries at once: a dispatch takes 1 s here
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=ONE_SECOND_DISPATCH,
                                           limits={"account_concurrent_runs": 3}), seed=1)
    m = result.metrics
    assert m["succeeded"] == 12 and m["ordering_violations"] == 0
    assert most_runs_alive(result) == 3          # Glue never ran more than the quota, whatever the ledger let through
    hit = m["quotas"]["account_concurrent_runs"]
    assert hit["first_hit_s"] == 1.0             # the fourth start, a dispatch (1 s) after the landing
    assert hit["hits"] >= 5                      # starts 4 to 8 of the ledger's 8 slots, at least
    assert m["decisions"].get("refused", 0) == hit["hits"]   # each refusal went through runtime.decide.start_refused
    # 12 runs of 100 s on 3 slots: the last four start at 300 s; every group refused waited for its start
    starts = sorted(first_running(result).values())
    assert starts[-1] == pytest.approx(301.0, abs=3.0)
    assert hit["delayed"] >= 5 and hit["delay_max_s"] >= 200.0
    notes = " ".join(warnings(m, spec, result.model.scenario))
    assert QUOTAS["account_concurrent_runs"].title in notes and "Service Quotas" in notes


def test_within_the_account_quota_nothing_is_reported(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=8, settle_seconds=0)
    rows = [f"0,landing/g{i:02d}_000000.csv,100,0" for i in range(12)]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=ONE_SECOND_DISPATCH), seed=1)
    assert result.metrics["quotas"] == {} and most_runs_alive(result) == 8
    assert result.metrics["decisions"].get("refused", 0) == 0


def test_the_account_dpu_quota_refuses_starts_as_resource_number_limit_exceeded(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=8, settle_seconds=0, worker_type="G.1X", worker_count=10)
    rows = [f"0,landing/g{i:02d}_000000.csv,100,0" for i in range(6)]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=ONE_SECOND_DISPATCH,
                                           limits={"account_dpus": 25}), seed=1)
    assert most_runs_alive(result) == 2          # 10 DPUs a run, 25 allowed
    assert result.metrics["quotas"]["account_dpus"]["hits"] >= 1
    assert result.metrics["succeeded"] == 6


# --- SQS: messages in flight on the FIFO queue --------------------------------------------------------------
def test_a_full_fifo_queue_holds_back_wake_ups_and_is_reported_as_the_in_flight_quota(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    # ten groups fail their first run and hold their wake-ups for the retry backoff (in flight, as a
    # ChangeMessageVisibility keeps them); ten more land while those are held: with a limit of 10 in flight,
    # their wake-ups cannot be received until a held one comes back
    spec = dev_spec.replace(max_parallel_groups=20, settle_seconds=0, retry_backoff_base_s=300)
    held = [f"0,landing/a{i}_000000.csv,1,1" for i in range(10)]
    late = [f"20,landing/b{i}_000020.csv,10,0" for i in range(10)]
    limited = simulate(spec, trace_scenario(tmp_path, held + late, overheads=NO_DELAYS,
                                            limits={"fifo_in_flight": 10}), seed=1)
    free = simulate(spec, trace_scenario(tmp_path, held + late, overheads=NO_DELAYS), seed=1)
    assert limited.metrics["succeeded"] == free.metrics["succeeded"] == 20
    assert limited.metrics["fifo_in_flight_max"] == 10
    started, started_free = first_running(limited), first_running(free)
    b_keys = [f"b{i}_000020.csv" for i in range(10)]
    assert max(started_free[k] for k in b_keys) == pytest.approx(20.0, abs=1.0)
    assert min(started[k] for k in b_keys) >= 300.0      # held back until the first backoff ended
    hit = limited.metrics["quotas"]["fifo_in_flight"]
    assert 19.0 <= hit["first_hit_s"] <= 21.0
    assert hit["delayed"] == 10 and hit["delay_max_s"] >= 270.0
    assert free.metrics["quotas"] == {}
    notes = " ".join(warnings(limited.metrics, spec, limited.model.scenario))
    assert QUOTAS["fifo_in_flight"].title in notes and "AWS Support" in notes


# --- Lambda: the dispatcher's concurrency ---------------------------------------------------------------------
def test_reserved_concurrency_below_the_mapping_s_makes_wake_ups_wait(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=8, settle_seconds=0)
    rows = [f"0,landing/g{i}_000000.csv,10,0" for i in range(8)]
    overheads = {"preset": "none", "dispatcher_s": {"dist": "fixed", "seconds": 1}}
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=overheads,
                                           limits={"lambda_function_concurrency": 2}), seed=1)
    hit = result.metrics["quotas"]["lambda_function_concurrency"]
    assert hit["first_hit_s"] == 0.0 and hit["delayed"] == 6
    assert sorted(first_running(result).values())[-1] == pytest.approx(4.0, abs=0.01)   # two at a time, 1 s each


# --- the scenario's limits: entry -----------------------------------------------------------------------------
def test_limits_have_the_documented_defaults_and_bad_entries_name_the_fix() -> None:
    assert Limits().account_concurrent_runs == 50 and Limits().fifo_in_flight == 120_000
    assert Limits().lambda_concurrency == 1000 and Limits().account_dpus is None
    with pytest.raises(ScenarioError) as caught:
        scenario({"duration_s": 10, "arrivals": [{"poisson": {"rate_per_s": 1, "groups": 2}}],
                  "limits": {"fifo_inflight": 5, "account_concurrent_runs": 0}})
    text = str(caught.value)
    assert "limits.fifo_inflight" in text and "did you mean 'fifo_in_flight'" in text
    assert "limits.account_concurrent_runs" in text and "Max concurrent job runs per account" in text


# --- request rates ------------------------------------------------------------------------------------------
def test_start_job_run_past_its_rate_is_throttled_and_backs_off(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=8, settle_seconds=0, retry_backoff_base_s=60)
    rows = [f"0,landing/g{i}_000000.csv,100,0" for i in range(6)]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=ONE_SECOND_DISPATCH,
                                           limits={"start_job_run_per_s": 2}), seed=1)
    assert result.metrics["succeeded"] == 6
    per_second: dict[int, int] = {}
    for run in result.model.glue.runs:   # Glue's records: StartJobRun calls that got a run
        per_second[int(run.dispatched)] = per_second.get(int(run.dispatched), 0) + 1
    assert max(per_second.values()) == 2 and per_second[1] == 2
    hit = result.metrics["quotas"]["start_job_run_per_s"]
    assert hit["first_hit_s"] == 1.0 and hit["hits"] >= 4
    # ThrottlingException is start_refused(no_slot=False): a short backoff (min(30 s, retryBackoffBaseSeconds))
    assert hit["delay_max_s"] >= 30.0
    assert "account_concurrent_runs" not in result.metrics["quotas"]


def test_fifo_sends_past_the_rate_reach_the_queue_later(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=10, settle_seconds=0)
    rows = [f"0,landing/g{i}_000000.csv,100,0" for i in range(10)]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=NO_DELAYS, limits={"fifo_calls_per_s": 2}),
                      seed=1)
    starts = sorted(first_running(result).values())
    assert starts == pytest.approx([0.5 * i for i in range(10)])   # the router's ten wake-ups, 2 a second
    hit = result.metrics["quotas"]["fifo_calls_per_s"]
    assert hit["first_hit_s"] == 0.0 and hit["delayed"] == 9 and hit["delay_max_s"] == pytest.approx(4.5)


@pytest.mark.slow
def test_the_documented_120_000_in_flight_are_reached_by_a_wide_burst(dev_spec: PipelineSpec) -> None:
    """At the default quota: 125,000 files of their own groups in a minute, each wake-up held for a 300 s settle
    window, received by up to 500 dispatcher invocations at once (about two minutes on one core)."""
    spec = dev_spec.replace(max_parallel_groups=500, settle_seconds=300)
    document = {"duration_s": 60, "seed": 1, "overheads": "realistic",
                "arrivals": [{"burst": {"at_s": 0, "files": 125_000, "groups": "unique", "spread_s": 60}}],
                "job": {"startup_s": 5, "duration": {"dist": "fixed", "seconds": 5}},
                "limits": {"account_concurrent_runs": 500}}
    result = simulate(spec, scenario(document), seed=1)
    m = result.metrics
    assert m["succeeded"] == 125_000 and m["ordering_violations"] == 0
    assert m["fifo_in_flight_max"] == Limits().fifo_in_flight == 120_000
    hit = m["quotas"]["fifo_in_flight"]
    assert hit["hits"] > 0 and 60.0 < hit["first_hit_s"] < 300.0
    assert QUOTAS["fifo_in_flight"].title in " ".join(warnings(m, spec, result.model.scenario))
