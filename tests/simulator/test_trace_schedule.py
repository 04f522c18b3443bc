"""A trace with exact durations gives exactly the schedule worked out by hand, through runtime.decide."""

from __future__ import annotations

from pathlib import Path

import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.ledger import SUCCEEDED
from landing_pipeline.simulator.runner import simulate
from landing_pipeline.simulator.scenario import parse_scenario
from tests.simulator.conftest import trace_scenario

ROWS = [
    "0,landing/a_000001.csv,100,0",   # group a: runs 0-100
    "10,landing/a_000002.csv,50,0",   # group a: behind a_000001 until 100, runs 100-150
    "20,landing/b_000001.csv,30,1",   # group b: fails 20-50, backoff 30 s, waits for a slot, runs 90-120
    "30,landing/c_000001.csv,40,0",   # group c: both slots busy (a, b) until b fails at 50, runs 50-90
]


def test_trace_gives_the_hand_computed_schedule(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, retry_backoff_base_s=30, settle_seconds=0)
    result = simulate(spec, trace_scenario(tmp_path, ROWS, overheads="none"), seed=1)
    w, runs = result.workload, result.model.runs
    schedule = [(w.keys[int(f)].removeprefix("landing/"), float(s), float(e), bool(ok))
                for f, s, e, ok in zip(runs.file, runs.start, runs.end, runs.ok, strict=True)]
    assert sorted(schedule, key=lambda run: (run[1], run[0])) == [
        ("a_000001.csv", 0.0, 100.0, True),
        ("b_000001.csv", 20.0, 50.0, False),
        ("c_000001.csv", 50.0, 90.0, True),
        ("b_000001.csv", 90.0, 120.0, True),
        ("a_000002.csv", 100.0, 150.0, True),
    ]
    assert [w.group_names[g] for g in w.group] == ["a", "a", "b", "c"]
    assert result.model.ledger.status == [SUCCEEDED] * 4
    metrics = result.metrics
    assert metrics["wait_mean_s"] == pytest.approx((0 + 90 + 0 + 20) / 4)
    assert metrics["latency_p50_s"] == pytest.approx(100.0)  # latencies 100, 140, 100, 60
    assert metrics["max_parallel_groups"] == 2
    assert metrics["waits"] == 2  # c at 30, b's retry at 80: each woken by a freed slot
    assert metrics["waiters_woken"] == 2 and metrics["starts_refused"] == 0
    assert metrics["failed_runs"] == 1
    assert metrics["drain_s"] == pytest.approx(150.0)
    assert metrics["backlog_max"] == 2  # at 30: a_000002 behind a_000001, c_000001 waiting for a slot
    assert metrics["ordering_violations"] == metrics["late"] == metrics["overlapping_runs"] == 0


def test_no_file_starts_before_it_is_settle_seconds_old(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    """The settle window counts from the S3 event's time in whole seconds, and shows in the latency."""
    spec = dev_spec.replace(max_parallel_groups=2, retry_backoff_base_s=30, settle_seconds=30)
    rows = ["0.4,landing/a_000001.csv,100,0", "10,landing/a_000002.csv,50,0", "20.7,landing/b_000001.csv,30,0"]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads="none"), seed=1)
    w, runs = result.workload, result.model.runs
    schedule = sorted((w.keys[int(f)].removeprefix("landing/"), float(s), float(e))
                      for f, s, e in zip(runs.file, runs.start, runs.end, strict=True))
    # the dispatcher holds a wake-up for whole seconds (ceil(30 - 0.4) = 30: back at 30.4); a_000002 is settled
    # long before a_000001 is done and starts as its release wakes the group; b counts from 20 (its second)
    assert schedule == [("a_000001.csv", 30.4, 130.4), ("a_000002.csv", 130.4, 180.4), ("b_000001.csv", 50.7, 80.7)]
    assert result.metrics["latency_p50_s"] == pytest.approx(130.0)
    assert result.metrics["decisions"]["settle"] == 2  # a's and b's wake-ups held until they are 30 s old


def test_retries_use_up_max_attempts_then_park_the_file(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, max_attempts=3, retry_backoff_base_s=10, on_failure="continue",
                            settle_seconds=0, batch_max_files=1)   # with batches a_000002 would join each retry
    rows = ["0,landing/a_000001.csv,20,9", "5,landing/a_000002.csv,20,0"]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads="none"), seed=1)
    runs = result.model.runs
    # attempts at 0-20, 30-50 (backoff 10), 70-90 (backoff 20), then DEAD; the next file starts at once
    assert [(int(f), float(s), float(e)) for f, s, e in zip(runs.file, runs.start, runs.end, strict=True)] == [
        (0, 0.0, 20.0), (0, 30.0, 50.0), (0, 70.0, 90.0), (1, 90.0, 110.0)]
    assert result.metrics["dead"] == 1
    assert result.metrics["succeeded"] == 1
    assert result.metrics["ordering_violations"] == 0
    assert result.metrics["dead_not_announced"] == 0  # its death went to the dead-files queue


def test_on_failure_block_halts_the_group_and_only_that_group(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, max_attempts=1, on_failure="block", settle_seconds=0)
    rows = ["0,landing/a_000001.csv,20,1", "5,landing/a_000002.csv,20,0", "6,landing/b_000001.csv,20,0",
            "50,landing/a_000003.csv,20,0"]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads="none"), seed=1)
    metrics = result.metrics
    assert (metrics["dead"], metrics["blocked"], metrics["succeeded"]) == (1, 2, 1)
    assert result.workload.keys[int(result.model.runs.file[-1])] == "landing/b_000001.csv"
    assert metrics["oldest_age_max_s"] == pytest.approx(metrics["drain_s"] - 5.0, abs=1e-6)


def test_run_order_lists_each_groups_runs_in_start_order(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, retry_backoff_base_s=30, settle_seconds=0)
    result = simulate(spec, trace_scenario(tmp_path, ROWS, overheads="none"), seed=1)
    assert result.run_order() == {"a": ["landing/a_000001.csv", "landing/a_000002.csv"],
                                  "b": ["landing/b_000001.csv", "landing/b_000001.csv"],
                                  "c": ["landing/c_000001.csv"]}


def late_trace(tmp_path: Path, delay_s: float) -> list[str]:
    """Two files of one group landing one second apart; the earlier one's S3 event ``delay_s`` late."""
    path = tmp_path / "trace.csv"
    path.write_text("time_s,key,duration_s,fail_attempts,event_delay_s\n"
                    f"0,landing/a_000001.csv,100,0,{delay_s}\n1,landing/a_000002.csv,50,0,0\n", encoding="utf-8")
    return ["landing/a_000001.csv", "landing/a_000002.csv"]


@pytest.mark.parametrize("overheads", ["none", "realistic"])
def test_an_event_delayed_within_the_settle_window_still_runs_in_landing_order(
        tmp_path: Path, dev_spec: PipelineSpec, overheads: str) -> None:
    keys = late_trace(tmp_path, 10)
    result = simulate(dev_spec, parse_scenario({"trace": "trace.csv", "overheads": overheads},
                                               str(tmp_path / "s.yaml"), tmp_path), seed=1)
    assert result.run_order() == {"a": keys}
    assert result.metrics["late"] == result.metrics["ordering_violations"] == 0


@pytest.mark.parametrize("late_files", ["run", "park"])
def test_an_event_delayed_past_the_settle_window_is_counted_late(
        tmp_path: Path, dev_spec: PipelineSpec, late_files: str) -> None:
    keys = late_trace(tmp_path, 45)   # settleSeconds 30: a_000002 started at 31, a_000001 recorded at 45
    spec = dev_spec.replace(late_files=late_files)
    result = simulate(spec, parse_scenario({"trace": "trace.csv", "overheads": "none"}, str(tmp_path / "s.yaml"),
                                           tmp_path), seed=1)
    metrics = result.metrics
    assert metrics["late"] == metrics["late_recorded"] == 1 and metrics["ordering_violations"] == 0
    if late_files == "run":   # run next, after the file already started: the order is reported as it was
        assert result.run_order() == {"a": [keys[1], keys[0]]} and metrics["succeeded"] == 2
    else:                     # parked as DEAD for an operator, and announced
        assert result.run_order() == {"a": [keys[1]]} and metrics["dead"] == 1
        assert metrics["dead_not_announced"] == 0
