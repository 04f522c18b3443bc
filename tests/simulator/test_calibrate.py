"""``landing simulate calibrate``: a history generated from a known scenario is fitted back to it.

Tolerances, stated once: arrival rates within 10 % (15 % for the thinner families), the burst's size within
15 % and its start within a minute; run-time models: per-MB within 15 %, the mean run at size 0 (start-up
+ lognormal mean, the well-determined sum) within 8 %, sigma within 0.1, failure rates within 0.03; the
calibrated scenario, simulated, gives the original's file count within 10 % and p95 latency within 25 %
(means of 4 seeds each).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.calibrate import STACK_WIDE, Calibration, calibrate, family_of, group_prefix
from landing_pipeline.simulator.calibrate_yaml import scenario_yaml
from landing_pipeline.simulator.fit_arrivals import fit_arrivals
from landing_pipeline.simulator.fit_runtime import failure_rate
from landing_pipeline.simulator.runner import simulate
from landing_pipeline.simulator.scenario import load_scenario
from landing_pipeline.simulator.sim_history import history_rows, write_history
from landing_pipeline.simulator.trace import read_trace

KNOWN = Path(__file__).with_name("calibrate_known.yaml")


@pytest.fixture(scope="module")
def spec(dev_spec: PipelineSpec) -> PipelineSpec:
    return dev_spec.replace(max_parallel_groups=8, batch_max_files=1)   # one file a run: a duration per file


@pytest.fixture(scope="module")
def history(spec: PipelineSpec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("calibrate") / "history.csv"
    write_history(history_rows(simulate(spec, load_scenario(KNOWN), seed=11)), path)
    return path


@pytest.fixture(scope="module")
def fitted(spec: PipelineSpec, history: Path) -> Calibration:
    return calibrate(read_trace(history), spec, source="history.csv", start_clock_s=8 * 3600, window_s=28800)


def test_arrival_rates_and_the_burst_are_recovered(fitted: Calibration) -> None:
    by_name = {f.name: f for f in fitted.families}
    assert set(by_name) == {"orders", "customers", "feed_"}
    assert (by_name["orders"].feed, by_name["feed_"].feed) == ("orders", None)
    assert by_name["orders"].arrivals.rate_per_s == pytest.approx(0.03, rel=0.10)
    assert by_name["customers"].arrivals.rate_per_s == pytest.approx(0.01, rel=0.15)
    feed = by_name["feed_"].arrivals
    assert feed.rate_per_s == pytest.approx(0.005, rel=0.15)
    (burst,) = feed.bursts
    assert burst.files == pytest.approx(150, rel=0.15) and burst.at_s == pytest.approx(7200, abs=60)
    assert by_name["orders"].arrivals.bursts == () and by_name["orders"].arrivals.kind == "poisson"
    assert [by_name[n].groups for n in ("orders", "customers", "feed_")] == [20, 5, 10]
    assert by_name["orders"].size_mean_mb == pytest.approx(5, rel=0.1)
    assert all(f.arrivals.ks <= f.arrivals.ks_critical for f in fitted.families if f.arrivals.ks is not None)


def test_run_time_models_are_recovered_per_feed(fitted: Calibration) -> None:
    orders, customers, job = (fitted.runtimes[n] for n in ("orders", "customers", STACK_WIDE))
    assert orders is not None and customers is not None and job is not None
    assert orders.per_mb_s == pytest.approx(3.0, rel=0.15)
    assert orders.startup_s + orders.mean_s == pytest.approx(20 + 60, rel=0.08)
    assert orders.sigma == pytest.approx(0.4, abs=0.1) and orders.failure_rate == pytest.approx(0.0, abs=0.03)
    size_mb = 2.0   # customers' files; their per-MB cost is 0, so any fitted slope is noise times 2 MB
    assert customers.startup_s + customers.mean_s + customers.per_mb_s * size_mb == pytest.approx(110, rel=0.08)
    assert customers.failure_rate == pytest.approx(0.08, abs=0.03)
    assert job.startup_s + job.mean_s + job.per_mb_s * 10 == pytest.approx(30 + 90 + 0.5 * 10, rel=0.08)
    assert job.failure_rate == pytest.approx(0.02, abs=0.03)


def test_the_calibrated_scenario_reproduces_file_count_and_p95(fitted: Calibration, spec: PipelineSpec,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "calibrated.yaml"
    path.write_text(scenario_yaml(fitted, "calibrated"))
    calibrated, known = load_scenario(path), load_scenario(KNOWN)
    assert {name for name, _ in calibrated.feed_jobs} == {"orders", "customers"}

    def means(scenario: object) -> tuple[float, float]:
        runs = [simulate(spec, scenario, seed=seed).metrics for seed in range(20, 24)]   # type: ignore[arg-type]
        return float(np.mean([m["files"] for m in runs])), float(np.mean([m["latency_p95_s"] for m in runs]))

    (files, p95), (files_known, p95_known) = means(calibrated), means(known)
    assert files == pytest.approx(files_known, rel=0.10)
    assert p95 == pytest.approx(p95_known, rel=0.25)


def test_a_diurnal_day_is_fitted_as_one_with_its_peak() -> None:
    rng = np.random.default_rng(0)
    day = 86400
    candidates = np.sort(rng.uniform(0, day, rng.poisson(0.08 * day)))
    hour = (candidates / 3600) % 24
    rate = 0.005 + 0.075 * (1 + np.cos(2 * np.pi * (hour - 14) / 24)) / 2
    times = candidates[rng.uniform(0, 0.08, len(candidates)) < rate]
    fit = fit_arrivals(times.tolist(), day, 0.0)
    assert fit.kind == "diurnal" and fit.bursts == ()
    assert fit.peak_rate_per_s == pytest.approx(0.08, rel=0.10)
    assert fit.trough_rate_per_s == pytest.approx(0.005, abs=0.005)
    assert fit.peak_hour == pytest.approx(14, abs=0.5)
    assert fit.hourly_error is not None and fit.hourly_error < 0.1


def test_failure_rate_counts_a_dead_files_attempts_as_all_failed() -> None:
    assert failure_rate([0, 0, 1, 3], max_attempts=3) == (4 / 7, 7)   # 1+1+2 attempts, then 3 that all failed


def test_family_names_and_prefixes() -> None:
    assert family_of("feed_012") == "feed_" and family_of("orders_20250915") == "orders_"
    assert group_prefix(["orders_000", "orders_019"]) == "orders_"


def test_the_command_writes_a_scenario_simulate_accepts(history: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "s.yaml"
    args = ["simulate", "calibrate", "--stack", "dev", "--trace", str(history), "-o", str(out),
            "--start-clock", "08:00:00"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Arrivals fitted to" in result.output and "Run-time models" in result.output
    text = out.read_text()
    assert "feeds:" in text and "# feed orders:" in text and "e-0" not in text
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists: give --force" in again.output
    bad = runner.invoke(app, [*args[:-1], "25:00", "--force"])
    assert bad.exit_code == 2 and "--start-clock '25:00' is not a time of day" in bad.output
    simulated = runner.invoke(app, ["simulate", "--stack", "dev", "--scenario", str(out)], catch_exceptions=False)
    assert simulated.exit_code == 0, simulated.output


def test_a_feed_column_is_used_over_the_keys_feed(spec: PipelineSpec, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,key,feed,state\n" + "".join(
        f"{10 * i},landing/x_{i:03d}_101500.csv,customers,SUCCEEDED\n" for i in range(30)))
    families = calibrate(read_trace(path), spec).families
    assert [(f.name, f.feed, f.arrivals.files) for f in families] == [("customers", "customers", 30)]


def test_a_trace_of_keys_and_times_only_still_gives_a_scenario(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time_s,key\n0,landing/a_1.csv\n5,landing/b_2.csv\n")
    out = tmp_path / "s.yaml"
    result = CliRunner().invoke(app, ["simulate", "calibrate", "--stack", "dev", "--trace", str(trace), "-o",
                                      str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "not fitted" in result.output and "sizes unknown: 1 MB" in out.read_text()
    scenario = load_scenario(out)
    assert len(scenario.arrivals) == 2 and scenario.feed_jobs == ()
