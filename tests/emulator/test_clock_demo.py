"""Virtual time through the whole stack: the same outcomes as scaled real time, in exact pipeline times."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from landing_pipeline.emulator.demo import DemoResult
from landing_pipeline.emulator.workload import builtin
from tests.emulator.conftest import assert_group_order, assert_nothing_lost, by_key, demo, explain


def _runs_per_group(result: DemoResult) -> dict[str, list[tuple[str, str]]]:
    """Each group's runs in start order: (file, end state), from the Glue engine's own log."""
    runs = sorted(result.recorder.snapshot_runs() if result.recorder else [], key=lambda run: run.start)
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for run in runs:
        groups[run.group].append((run.key.rsplit("/", 1)[-1], run.state))
    return dict(groups)


def test_a_virtual_time_demo_runs_every_file_for_exactly_its_duration() -> None:
    result = demo(virtual_time=True)
    assert_nothing_lost(result)
    assert_group_order(result)
    durations = {arrival.name: arrival.duration_s for arrival in builtin()}
    for name, file in by_key(result).items():
        assert file["status"] == "SUCCEEDED", explain(result)
        for run in file["runs"]:  # no wall time leaks into pipeline time: a run lasts its duration, to the ms
            assert run["end"] - run["start"] == pytest.approx(durations[name], abs=1e-3)
    first = by_key(result)["orders_20250915_101500.csv"]["runs"][0]
    # landed at 0, started the moment it was settleSeconds (30) old: handlers take no time
    assert first["start"] == pytest.approx(30.0, abs=0.01)  # (the ledger keeps times to the ms)
    assert result.moto_s > 0 and result.moto_cpu_s > 0
    assert result.speedup > 60  # far faster than the scaled clock's default for the sleep engine


@pytest.mark.slow
def test_virtual_time_gives_the_outcomes_and_run_order_of_scaled_real_time() -> None:
    # One file a run: which files a batch takes depends on when its start is decided (orders_..._103000 lands 30 s
    # after the first file was settled), and the scaled clock's start slips by the machine's load; the order and
    # outcomes compared here are the clocks', not the batches'.
    one_a_run = {"batchMaxFiles": 1}
    scaled = demo(speedup=60.0, overrides=one_a_run)
    virtual = demo(virtual_time=True, overrides=one_a_run)
    assert {k: (f["status"], f["attempts"]) for k, f in by_key(virtual).items()} == {
        k: (f["status"], f["attempts"]) for k, f in by_key(scaled).items()}, explain(virtual)
    assert _runs_per_group(virtual) == _runs_per_group(scaled)
    assert virtual.report["summary"]["wall_s"] < scaled.report["summary"]["wall_s"]


@pytest.mark.slow
def test_virtual_time_waits_out_retries_and_a_delayed_glue_event() -> None:
    """Deadlines of every kind: a failed run's retry after its backoff (SQS visibility), a Glue event held back
    by a call_later timer; the demo ends quiet with every file processed."""
    result = demo(virtual_time=True, faults=("fail-run:orders_20250915_101500.csv",
                                             "delay-glue-event:customers_20250915_102000.csv:600"))
    assert_nothing_lost(result)
    files = by_key(result)
    assert {f["status"] for f in files.values()} == {"SUCCEEDED"}, explain(result)
    assert len(files["orders_20250915_101500.csv"]["runs"]) == 2
    customers = files["customers_20250915_102000.csv"]["runs"][0]
    assert result.report["summary"]["files"] == 6
    assert customers["state"] == "SUCCEEDED"


def test_landing_demo_fast_runs_on_virtual_time_and_refuses_a_speedup(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from landing_pipeline.cli.main import app

    runner, out = CliRunner(), tmp_path / "demo.json"
    result = runner.invoke(app, ["demo", "--engine", "sleep", "--fast", "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())["summary"]
    assert summary["files"] == 6 and summary["succeeded"] == 6
    refused = runner.invoke(app, ["demo", "--engine", "sleep", "--fast", "--speedup", "10"])
    assert refused.exit_code == 2 and "not both" in refused.output
