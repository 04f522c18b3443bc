"""The fast model (``--fast``, ``simulator.queue_model``) against the full protocol model and against theory.

The fast model keeps the held design's timing without playing out each handler step, so it is only worth
having while it answers what the full model answers: the same scenarios through both, compared on what a
capacity planner reads (waits, latency percentiles, peak parallelism, drain time, runs and cost, deaths). The
tolerances are the documented ones (docs/simulator.md, "The fast model"); the metrics of both come from the
same ``simulator.metrics`` on each model's own records of what ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack
from landing_pipeline.simulator.errors import UnsupportedByFastModel
from landing_pipeline.simulator.ledger import DEAD
from landing_pipeline.simulator.runner import replicate, simulate
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.theory import mmc_wait_mean
from tests.simulator.conftest import ROOT, scenario

DAY_S = 86_400.0


def day(files: int, groups: int, slots: int, *, failure_rate: float = 0.01, mean_s: float = 55,
        startup_s: float = 10, **settings: Any) -> tuple[PipelineSpec, Scenario]:
    """A day of Poisson landings on the prod stack with ``slots`` Glue slots and realistic overheads."""
    spec = load_stack("prod", ROOT).replace(max_parallel_groups=slots, **settings)
    case = scenario({
        "duration_s": DAY_S, "overheads": "realistic",
        "arrivals": [{"poisson": {"rate_per_s": files / DAY_S, "groups": groups, "prefix": "feed_"}}],
        "job": {"startup_s": startup_s, "duration": {"dist": "lognormal", "mean_s": mean_s, "sigma": 0.5},
                "failure_rate": failure_rate},
        "limits": {"account_concurrent_runs": 1000, "job_concurrent_runs": 1000}})
    return spec, case


def both(spec: PipelineSpec, case: Scenario, replications: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    full = replicate(spec, case, replications, seed=1, design="held").metrics
    fast = replicate(spec, case, replications, seed=1, design="queue").metrics
    return full, fast


def mean(metrics: dict[str, Any], name: str) -> float:
    value = metrics[name]
    return float(value["mean"] if isinstance(value, dict) else value)


def assert_close(full: dict[str, Any], fast: dict[str, Any], tolerances: dict[str, float]) -> None:
    for name, tolerance in tolerances.items():
        a, b = mean(full, name), mean(fast, name)
        assert abs(b - a) <= tolerance * abs(a), f"{name}: full {a:.4g}, fast {b:.4g} (tolerance {tolerance:.0%})"


@pytest.mark.slow
def test_a_saturated_day_agrees_with_the_full_model() -> None:
    """30 slots about 94 % busy: the waits are the handoff's and the line's, which is what --fast is for."""
    spec, case = day(30_000, 3_000, 30)
    full, fast = both(spec, case)
    assert mean(fast, "files") == mean(full, "files")
    assert mean(fast, "succeeded") == mean(full, "succeeded")
    assert mean(fast, "max_parallel_groups") == mean(full, "max_parallel_groups") == 30
    assert_close(full, fast, {"wait_mean_s": 0.05, "wait_p95_s": 0.05, "latency_p50_s": 0.03,
                              "latency_p95_s": 0.05, "drain_s": 0.01, "glue_runs": 0.01, "cost_usd": 0.01,
                              "slot_busy_while_waiting": 0.01})
    assert mean(fast, "ordering_violations") == mean(fast, "overlapping_runs") == 0


@pytest.mark.slow
def test_batches_in_a_backlog_agree_with_the_full_model() -> None:
    """Small files piling up behind 6 slots: the batch each start takes decides the runs, so the waits."""
    spec, case = day(30_000, 300, 6, mean_s=8, startup_s=20)
    assert spec.batch_max_files > 1
    full, fast = both(spec, case)
    assert mean(fast, "glue_runs") < 0.5 * mean(fast, "files")   # batches did form
    assert_close(full, fast, {"wait_mean_s": 0.05, "wait_p95_s": 0.05, "latency_p95_s": 0.05, "glue_runs": 0.02,
                              "cost_usd": 0.02})


def test_failures_and_retries_agree_with_the_full_model() -> None:
    """A quarter of the runs fail: retries after the deployed backoff, deaths after maxAttempts. (With
    ``onFailure: block`` which groups die first decides most of the outcome, a coin both models toss
    differently: the rule itself is checked below, from the run log.)"""
    spec, case = day(6_000, 300, 8, failure_rate=0.25, max_attempts=2, on_failure="continue")
    full, fast = both(spec, case)
    assert mean(full, "dead") > 200
    assert_close(full, fast, {"dead": 0.15, "succeeded": 0.02, "wait_mean_s": 0.1, "latency_p50_s": 0.05,
                              "latency_p95_s": 0.05, "glue_runs": 0.03, "cost_usd": 0.03})


def test_no_file_of_a_blocked_group_runs_after_its_dead_file() -> None:
    """Checked from the run log and the file outcomes the model recorded, not from its group flags."""
    spec, case = day(3_000, 100, 8, failure_rate=0.3, max_attempts=1, on_failure="block")
    result = simulate(spec, case, seed=3, design="queue")
    model, runs = result.model, result.model.runs
    status = np.asarray(model.ledger.status)
    group = np.asarray(model.w.group)
    rank = np.asarray(model.rank)
    dead = np.flatnonzero(status == DEAD)
    assert len(dead) > 10
    for fid in dead:
        later = (group[runs.file] == group[fid]) & (rank[runs.file] > rank[fid])
        assert not np.any(runs.lease_at[later] > model.ledger.final_s[fid])


@pytest.mark.slow
def test_unique_groups_form_an_mmc_queue(dev_spec: PipelineSpec) -> None:
    """With no overheads and no settle window the fast model is M/M/c too (Erlang C within 3 %)."""
    servers, mean_s, rate = 2, 60.0, 0.5 * 2 / 60.0   # as tests/simulator/test_queueing_theory.py for the full model
    case = scenario({"duration_s": 25_000 / rate, "overheads": "none",
                     "arrivals": [{"poisson": {"rate_per_s": rate, "groups": "unique", "prefix": "q_"}}],
                     "job": {"startup_s": 0, "duration": {"dist": "exponential", "mean_s": mean_s}}})
    spec = dev_spec.replace(max_parallel_groups=servers, job_timeout_minutes=600, settle_seconds=0, batch_max_files=1)
    theory = mmc_wait_mean(rate, 1 / mean_s, servers)
    wait = replicate(spec, case, 16, seed=100, design="queue").metrics["wait_mean_s"]
    assert wait["ci95"] < 0.03 * theory, wait
    assert abs(wait["mean"] - theory) < 0.03 * theory, (wait, theory)


def test_what_it_does_not_model_is_refused_naming_the_way_out(dev_spec: PipelineSpec) -> None:
    faulty = scenario({"duration_s": 600, "arrivals": [{"burst": {"at_s": 0, "files": 10, "groups": 2}}],
                       "faults": {"crash": 0.1}, "limits": {"start_job_run_per_s": 5}})
    with pytest.raises(UnsupportedByFastModel) as caught:
        simulate(dev_spec.replace(late_files="park"), faulty, design="queue")
    text = str(caught.value)
    assert "faults" in text and "lateFiles: park" in text and "limits.start_job_run_per_s" in text
    assert text.count("drop --fast") >= 3
    few = scenario({"duration_s": 600, "arrivals": [{"burst": {"at_s": 0, "files": 10, "groups": 2}}],
                    "limits": {"account_concurrent_runs": 2}})
    with pytest.raises(UnsupportedByFastModel, match="fewer than maxParallelGroups 4"):
        simulate(dev_spec.replace(max_parallel_groups=4), few, design="queue")


def test_the_command_line_runs_it_and_says_so(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "small.yaml"
    path.write_text("duration_s: 3600\narrivals:\n  - poisson: {rate_per_s: 0.2, groups: 20}\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--stack", "dev", "--scenario", str(path), "--fast",
                                 "--json", str(tmp_path / "out.json")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "held design, fast model" in result.output
    assert '"design": "queue"' in (tmp_path / "out.json").read_text(encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--stack", "dev", "--scenario", str(path), "--fast", "--design", "seed"],
                           catch_exceptions=False)
    assert result.exit_code == 2
    assert "--fast models the held design" in result.output
    faulty = tmp_path / "faulty.yaml"
    faulty.write_text(path.read_text(encoding="utf-8") + "faults: {crash: 0.1}\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--stack", "dev", "--scenario", str(faulty), "--fast"],
                           catch_exceptions=False)
    assert result.exit_code == 2
    assert "drop --fast" in result.output
