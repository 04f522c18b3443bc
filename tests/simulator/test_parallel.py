"""``--jobs N``: runs spread over worker processes give the rows and metrics of a serial run, in its order.

The serial run (``jobs=1``, in this process, no pool) is the independent record: its metrics are compared
with the parallel ones as JSON text, so a reordered row, a lost replication or a differently merged value
shows up. Only ``wall_s`` (seconds of wall clock a run took) may differ.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.parallel import Simulation, run_all
from landing_pipeline.simulator.runner import replicate
from landing_pipeline.simulator.sweep import SweepResult, parse_vary, run_sweep
from tests.simulator.conftest import scenario

BURST = {"duration_s": 600, "seed": 3, "arrivals": [{"burst": {"at_s": 0, "files": 60, "groups": 30, "spread_s": 60}}],
         "job": {"startup_s": 10, "duration": {"dist": "lognormal", "mean_s": 110, "sigma": 0.5},
                 "failure_rate": 0.1}}
CLOCK = {"wall_s"}


def without_clock(metrics: dict[str, Any]) -> str:
    """The metrics as JSON text, in their order, less the wall-clock time."""
    return json.dumps({k: v for k, v in metrics.items() if k not in CLOCK}, default=str)


def rows(result: SweepResult) -> list[tuple[str, str, bool, str]]:
    return [(json.dumps(r.settings), r.error, r.meets, without_clock(r.metrics)) for r in result.rows]


def test_a_parallel_sweep_gives_the_serial_rows_in_order(dev_spec: PipelineSpec) -> None:
    varies = [parse_vary("max_parallel_groups=1,4,16")]
    serial = run_sweep(dev_spec, scenario(BURST), varies, [], replications=2, seed=5)
    seen: list[tuple[int, int]] = []
    parallel = run_sweep(dev_spec, scenario(BURST), varies, [], replications=2, seed=5, jobs=2,
                         progress=lambda done, total, _combo: seen.append((done, total)))
    assert rows(parallel) == rows(serial)
    assert len({row[3] for row in rows(serial)}) == 3   # the settings matter: a row mixed up would show
    assert serial.rows[0].metrics["replications"] == 2
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)   # the bar only moves forward
    assert seen[-1] == (6, 6)   # 3 combinations x 2 replications, each counted as it ends
    assert parallel.best is not None and serial.best is not None
    assert parallel.best.settings == serial.best.settings


def test_parallel_replications_equal_serial_ones_and_keep_run_0_whole(dev_spec: PipelineSpec) -> None:
    serial = replicate(dev_spec, scenario(BURST), 3, seed=7)
    calls: list[tuple[int, int]] = []
    parallel = replicate(dev_spec, scenario(BURST), 3, seed=7, jobs=2, progress=lambda d, t: calls.append((d, t)))
    assert without_clock(parallel.metrics) == without_clock(serial.metrics)
    assert [without_clock(m) for m in parallel.samples] == [without_clock(m) for m in serial.samples]
    assert len({without_clock(m) for m in serial.samples}) == 3   # the seeds differ, so the runs do
    assert parallel.first.seed == 7 and parallel.first.model.w.files == 60   # run 0's model, for --plots
    assert calls[-1] == (180, 180)   # 3 runs of 60 files


def test_an_invalid_combination_is_still_an_error_row_in_parallel(dev_spec: PipelineSpec) -> None:
    result = run_sweep(dev_spec, scenario(BURST), [parse_vary("worker_count=1,2")], [], replications=2, seed=1,
                       jobs=2)
    assert "workerCount" in result.rows[0].error and not result.rows[0].metrics
    assert result.rows[1].metrics["files"] == {"mean": 60.0, "ci95": 0.0}


def test_a_run_that_raises_in_a_worker_raises_in_the_caller(dev_spec: PipelineSpec) -> None:
    good = Simulation(dev_spec, scenario(BURST), "held", 1)
    bad = Simulation(dev_spec, None, "held", 2)  # type: ignore[arg-type]  # simulate() fails on it
    pickle.dumps(good)   # what a worker is sent must pickle
    with pytest.raises(Exception) as serial:
        run_all([good, bad], 1)
    with pytest.raises(Exception) as parallel:
        run_all([good, bad, good], 2)
    assert type(parallel.value) is type(serial.value)
    assert str(parallel.value) == str(serial.value)


def test_the_cli_takes_jobs_and_rejects_zero(tmp_path: Path) -> None:
    (tmp_path / "burst.yaml").write_text(
        "duration_s: 600\nseed: 3\narrivals:\n  - burst: {at_s: 0, files: 30, groups: 10, spread_s: 60}\n"
        "job:\n  startup_s: 10\n  duration: {dist: lognormal, mean_s: 60, sigma: 0.4}\n")
    runner = CliRunner()
    common = ["--stack", "dev", "--scenario", str(tmp_path / "burst.yaml"), "--replications", "2"]
    for jobs, name in (("1", "one.json"), ("2", "two.json")):
        result = runner.invoke(app, ["simulate", "sweep", *common, "--vary", "max_parallel_groups=2,4",
                                     "--jobs", jobs, "--json", str(tmp_path / name)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    one, two = (json.loads((tmp_path / n).read_text()) for n in ("one.json", "two.json"))
    assert [without_clock(r["metrics"]) for r in two["rows"]] == [without_clock(r["metrics"]) for r in one["rows"]]
    result = runner.invoke(app, ["simulate", *common, "--jobs", "2", "--json", str(tmp_path / "sim.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "sim.json").read_text())["files"] == {"mean": 30.0, "ci95": 0.0}
    for command in (["simulate"], ["simulate", "sweep", "--vary", "max_parallel_groups=2"]):
        result = runner.invoke(app, [*command, *common, "--jobs", "0"])
        assert result.exit_code == 2
        flat = " ".join(result.output.split())
        assert "Invalid value for '--jobs'" in flat and "greater than or equal to 1" in flat, result.output


def test_the_default_is_every_core() -> None:
    from landing_pipeline.simulator.parallel import default_jobs

    expected = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    assert default_jobs() == expected
