"""``landing simulate``: the JSON contract, replications, plots, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.simulator.metrics import NAMED_METRICS
from tests.simulator.conftest import ROOT

runner = CliRunner()

SMALL = """\
duration_s: 600
arrivals:
  - burst: {at_s: 0, files: 30, groups: 5, spread_s: 300}
job:
  startup_s: 10
  duration: {dist: lognormal, mean_s: 60, sigma: 0.4}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["simulate", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_command_writes_every_named_metric_and_the_plots(tmp_path: Path) -> None:
    code, output = invoke("--stack", "dev", "--scenario", str(ROOT / "examples/seed-card.yaml"),
                          "--json", str(tmp_path / "simulation.json"), "--plots", str(tmp_path))
    assert code == 0, output
    document = json.loads((tmp_path / "simulation.json").read_text())
    for name in NAMED_METRICS:
        assert name in document, name
        assert name in document["metrics"], name
    assert document["files"] == 2003
    assert document["succeeded"] + document["dead"] == 2003
    assert document["ordering_violations"] == 0 and document["overlapping_runs"] == 0
    assert document["max_runs_per_group"] == 1
    assert document["max_parallel_groups"] == 2
    assert document["unstable_groups"] == []  # 2,000 files over 300 groups: no group is hopeless
    assert document["cost_usd"] > 0 and document["glue_dpu_hours"] > 0
    for picture in ("backlog.png", "gantt.png", "latency_cdf.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Outcome" in output and "Cost" in output and "parallel group(s) are needed" in output


def test_replications_report_mean_and_ci95(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(SMALL)
    code, output = invoke("--stack", "dev", "--scenario", str(tmp_path / "small.yaml"), "--replications", "3",
                          "--json", str(tmp_path / "out.json"))
    assert code == 0, output
    document = json.loads((tmp_path / "out.json").read_text())
    for name in NAMED_METRICS:
        if name == "unstable_groups":
            assert isinstance(document[name], list)
        else:
            assert set(document[name]) >= {"mean", "ci95"}, name
    assert document["files"] == {"mean": 30.0, "ci95": 0.0}
    assert document["latency_p95_s"]["ci95"] > 0  # the runs differ, so the interval is not empty
    assert "±" in output


def test_seed_design_and_overheads_none_and_trace_from_the_command_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time_s,key,duration_s\n0,landing/o_101500.csv,300\n10,landing/o_101510.csv,300\n")
    code, output = invoke("--stack", "dev", "--trace", str(trace), "--overheads", "none", "--design", "seed",
                          "--json", str(tmp_path / "out.json"))
    assert code == 0, output
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["overlapping_runs"] == 1 and document["max_runs_per_group"] == 2
    assert document["wait_mean_s"] == 0.0
    assert "run(s) started while another run of their group" in output


@pytest.mark.parametrize(("text", "expected"), [
    ("duration_s: 600\narrivals:\n  - burst: {at_s: 0, files: many}\n",
     ["arrivals[0].burst.files", "'many'", "whole number"]),
    ("duration_s: 600\narrivals:\n  - poison: {rate_per_s: 1}\n",
     ["arrivals[0]", "'poison'", "use one of: poisson, burst, diurnal, files (did you mean 'poisson'?)"]),
    ("duration_s: -5\narrivals:\n  - poisson: {rate_per_s: 1}\njob: {duration: {dist: gamma}}\n",
     ["duration_s = -5", "job.duration.dist", "use one of: fixed, exponential, lognormal"]),
    ("arrivals: [\n", ["not valid YAML"]),
])
def test_bad_scenario_fails_naming_the_field_and_the_fix(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    code, output = invoke("--stack", "dev", "--scenario", str(tmp_path / "bad.yaml"))
    assert code == 2
    for fragment in expected:
        assert fragment in output, (fragment, output)
    assert "Fix:" in output or "fix the YAML" in output


def test_conflicting_or_missing_inputs_are_usage_errors(tmp_path: Path) -> None:
    code, output = invoke("--stack", "dev")
    assert code == 2 and "exactly one of --scenario FILE or --trace CSV" in output
    code, output = invoke("--stack", "nope", "--scenario", str(ROOT / "examples/seed-card.yaml"))
    assert code == 2 and "no stack file" in output


def test_help_describes_options_and_gives_examples() -> None:
    code, output = invoke("--help")
    assert code == 0
    for fragment in ("--scenario", "--trace", "--overheads", "--design", "--replications", "--plots", "Examples",
                     "sweep"):
        assert fragment in output


def test_replications_are_not_a_cost_item_and_the_cost_says_it_is_per_run(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(SMALL)
    code, output = invoke("--stack", "dev", "--scenario", str(tmp_path / "small.yaml"), "--replications", "3",
                          "--json", str(tmp_path / "out.json"))
    assert code == 0, output
    document = json.loads((tmp_path / "out.json").read_text())
    assert set(document["metrics"]["cost_breakdown"]) == {"glue", "lambda", "sqs", "eventbridge", "dynamodb"}
    assert document["replications"] == 3 and document["metrics"]["replications"] == 3
    total = sum(item["mean"] for item in document["metrics"]["cost_breakdown"].values())
    assert abs(total - document["cost_usd"]["mean"]) < 1e-9  # the items add up to the per-run total
    flat = " ".join(output.split())
    assert "replications │" not in flat and "$3.00" not in flat
    assert "Cost per run: mean ± 95 % CI of 3 replications" in flat
    assert "3 replications (mean ± 95 % CI)" in flat  # the run summary's first line
    code, output = invoke("--stack", "dev", "--scenario", str(tmp_path / "small.yaml"))
    assert "Cost of this run" in " ".join(output.split())
