"""The sweep recommends the cheapest combination meeting the target, and --write-stack keeps the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack_file
from landing_pipeline.simulator.stackfile import StackWriteError, updated_text, write_settings
from landing_pipeline.simulator.sweep import SweepError, parse_target, parse_vary, run_sweep
from tests.simulator.conftest import ROOT, scenario

BURST = {"duration_s": 600, "seed": 3, "arrivals": [{"burst": {"at_s": 0, "files": 60, "groups": 30, "spread_s": 60}}],
         "job": {"startup_s": 10, "duration": {"dist": "fixed", "seconds": 110}}}


def test_vary_and_target_are_parsed_with_clear_errors() -> None:
    vary = parse_vary("maxParallelGroups=2,4,4,8")
    assert vary.setting.name == "max_parallel_groups" and vary.values == (2, 4, 8)
    assert parse_vary("worker_type=G.1X,G.2X").values == ("G.1X", "G.2X")
    target = parse_target("latency_p95_s<=900")
    assert (target.metric, target.op, target.value) == ("latency_p95_s", "<=", 900.0)
    with pytest.raises(SweepError, match="not a setting of the pipeline"):
        parse_vary("max_paralel_groups=2")
    with pytest.raises(SweepError, match="'lots' is not valid for max_parallel_groups"):
        parse_vary("max_parallel_groups=2,lots")
    with pytest.raises(SweepError, match="list setting"):
        parse_vary("key_suffixes=.csv")
    with pytest.raises(SweepError, match="write --target METRIC:OP:VALUE with OP one of le, lt, ge, gt, eq"):
        parse_target("p95 under 900")
    with pytest.raises(SweepError, match="'latency_p96_s' is not a metric"):
        parse_target("latency_p96_s<=900")


def test_more_parallel_groups_cut_latency_and_the_smallest_meeting_the_target_wins(dev_spec: PipelineSpec) -> None:
    # one file a run: how batches fill depends on how long groups wait, so their cost would vary with parallelism
    result = run_sweep(dev_spec.replace(batch_max_files=1), scenario(BURST),
                       [parse_vary("max_parallel_groups=1,2,4,8,16")],
                       [parse_target("latency_p95_s<=900")], seed=3)
    p95 = [row.metrics["latency_p95_s"] for row in result.rows]
    assert p95 == sorted(p95, reverse=True)  # monotone: each step up helps
    assert [row.meets for row in result.rows] == [p <= 900 for p in p95]
    assert result.best is not None
    first_meeting = next(row for row in result.rows if row.meets)
    assert result.best is first_meeting  # Glue bills run time, not parallelism: the smallest setting wins
    costs = [row.metrics["glue_dpu_hours"] for row in result.rows]
    assert max(costs) - min(costs) < 0.01 * max(costs)


def test_worker_count_trades_cost_against_time_as_the_job_scales(dev_spec: PipelineSpec) -> None:
    scaling = {**BURST, "job": {**BURST["job"], "parallel_fraction": 0.9}}
    result = run_sweep(dev_spec.replace(max_parallel_groups=4), scenario(scaling),
                       [parse_vary("worker_count=2,4")], [], seed=3)
    two, four = (row.metrics for row in result.rows)
    assert four["latency_p95_s"] < two["latency_p95_s"]
    assert four["cost_usd"] > two["cost_usd"]  # 4 workers for 55 % of the time cost more than 2 for all of it


def test_invalid_combinations_are_reported_not_simulated(dev_spec: PipelineSpec) -> None:
    result = run_sweep(dev_spec, scenario(BURST), [parse_vary("worker_count=1,2")], [], seed=1)
    assert "workerCount" in result.rows[0].error and not result.rows[0].metrics
    assert result.rows[1].metrics["files"] == 60


def copy_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    return tmp_path / "Pulumi.dev.yaml"


def test_write_settings_changes_only_those_lines(tmp_path: Path) -> None:
    stack = copy_project(tmp_path)
    before = stack.read_text()
    stack.write_text(before.replace("landing-pipeline:maxParallelGroups: 2",
                                    "landing-pipeline:maxParallelGroups: 2   # raised after the sweep"))
    spec = write_settings(stack, {"max_parallel_groups": 24, "worker_type": "G.2X"})
    after = stack.read_text()
    assert spec.max_parallel_groups == 24 and spec.worker_type == "G.2X"
    assert "landing-pipeline:maxParallelGroups: 24   # raised after the sweep\n" in after
    assert after.startswith("# A small development stack")  # comments and order kept
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ["  landing-pipeline:maxParallelGroups: 24   # raised after the sweep",
                       "  landing-pipeline:workerType: G.2X"]
    assert load_stack_file(stack).tags == ("Environment=dev", "Owner=data-platform")


def test_a_write_that_would_not_load_leaves_the_file_alone(tmp_path: Path) -> None:
    stack = copy_project(tmp_path)
    before = stack.read_text()
    with pytest.raises(StackWriteError, match="left as it was"):
        write_settings(stack, {"max_parallel_groups": 0})
    assert stack.read_text() == before
    assert list(tmp_path.glob(".landing-*")) == []
    with pytest.raises(StackWriteError, match="several lines"):
        updated_text("config:\n  landing-pipeline:maxParallelGroups:\n    8\n", {"max_parallel_groups": 4})


def test_sweep_command_recommends_and_writes_the_stack(tmp_path: Path) -> None:
    stack = copy_project(tmp_path)
    (tmp_path / "burst.yaml").write_text(
        "duration_s: 600\nseed: 3\narrivals:\n  - burst: {at_s: 0, files: 60, groups: 30, spread_s: 60}\n"
        "job:\n  startup_s: 10\n  duration: {dist: fixed, seconds: 110}\n")
    result = CliRunner().invoke(app, ["simulate", "sweep", "--spec", str(stack), "--scenario",
                                      str(tmp_path / "burst.yaml"), "--vary", "max_parallel_groups=2,4,8,16",
                                      "--target", "latency_p95_s<=900", "--write-stack",
                                      "--json", str(tmp_path / "sweep.json")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "cheapest meeting the target: max_parallel_groups=" in result.output
    chosen = load_stack_file(stack).max_parallel_groups
    assert chosen in (4, 8, 16)
    assert f"wrote max_parallel_groups={chosen} into {stack}" in result.output.replace("\n", "")
    result = CliRunner().invoke(app, ["simulate", "sweep", "--spec", str(stack), "--scenario",
                                      str(tmp_path / "burst.yaml"), "--vary", "max_parallel_groups=1",
                                      "--target", "latency_p95_s<=1", "--write-stack"])
    assert result.exit_code == 1 and "nothing written" in result.output
    assert load_stack_file(stack).max_parallel_groups == chosen
