"""The Glue-slot handoff of v2: a group that finds every slot taken waits in the slot line (its waiting-since
time), each release wakes the group that waited longest, and a woken group that loses the slot to another
start waits again in its old place. Slots stay busy while groups wait.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.metrics import busy_share_while_waiting
from landing_pipeline.simulator.runner import SimulationResult, simulate
from tests.simulator.conftest import scenario, trace_scenario

NO_DELAYS = {"preset": "none"}


def schedule(result: SimulationResult) -> list[tuple[str, float, float]]:
    w, runs = result.workload, result.model.runs
    return sorted((w.keys[int(f)].removeprefix("landing/"), float(s), float(e))
                  for f, s, e in zip(runs.file, runs.start, runs.end, strict=True))


def test_busy_share_counts_slot_time_only_while_someone_waits() -> None:
    # one slot; a group waits 0-100; the slot is busy 0-40 and 50-200: idle 40-50 while waiting
    share = busy_share_while_waiting([0.0, 100.0], np.array([0.0, 50.0]), np.array([40.0, 200.0]), 1)
    assert share == pytest.approx(0.9)
    assert busy_share_while_waiting([], np.array([0.0]), np.array([1.0]), 1) is None


def test_freed_slots_go_to_the_group_that_waited_longest(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1, settle_seconds=0)
    rows = ["0,landing/a_000001.csv,100,0",    # a: runs 0-100
            "10,landing/z_000001.csv,90,0",    # z: waits from 10, woken by a's release
            "20,landing/y_000001.csv,90,0",    # y: waits from 20
            "30,landing/x_000001.csv,50,0"]    # x: waits from 30 (name order would put it first)
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=NO_DELAYS), seed=1)
    assert schedule(result) == [("a_000001.csv", 0.0, 100.0), ("x_000001.csv", 280.0, 330.0),
                                ("y_000001.csv", 190.0, 280.0), ("z_000001.csv", 100.0, 190.0)]
    metrics = result.metrics
    assert (metrics["waits"], metrics["waiters_woken"], metrics["starts_refused"]) == (3, 3, 0)
    assert metrics["slot_busy_while_waiting"] == pytest.approx(1.0)


def test_a_woken_waiter_can_lose_the_slot_and_waits_again_in_its_place(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1, settle_seconds=0)
    overheads = {**NO_DELAYS, "dispatcher_s": {"dist": "fixed", "seconds": 1}}
    rows = ["0,landing/a_000001.csv,100,0",     # a: StartJobRun at 1, runs 1-101
            "10,landing/b_000001.csv,50,0",     # b: no slot at 11, waits from 11
            "20,landing/c_000001.csv,50,0",     # c: no slot at 21, waits from 21
            "100.5,landing/d_000001.csv,50,0"]  # d: a new group, its dispatcher decides at 101.5
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=overheads), seed=1)
    # a's release at 101 wakes b, whose dispatcher decides at 102: d took the slot at 101.5. b waits again,
    # still ahead of c, and d's release wakes it
    assert schedule(result) == [("a_000001.csv", 1.0, 101.0), ("b_000001.csv", 152.5, 202.5),
                                ("c_000001.csv", 203.5, 253.5), ("d_000001.csv", 101.5, 151.5)]
    assert result.metrics["waiters_woken"] == 3 and result.metrics["decisions"]["wait_for_slot"] == 3


def test_the_woken_waiter_is_not_beaten_by_the_next_file_of_the_group_that_freed_the_slot(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1, settle_seconds=0)
    rows = ["0,landing/a_000001.csv,100,0", "5,landing/a_000002.csv,50,0", "10,landing/b_000001.csv,50,0"]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=NO_DELAYS), seed=1)
    assert schedule(result) == [("a_000001.csv", 0.0, 100.0), ("a_000002.csv", 150.0, 200.0),
                                ("b_000001.csv", 100.0, 150.0)]


def test_two_slots_freed_together_wake_two_waiters(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, settle_seconds=0)
    overheads = {**NO_DELAYS, "dispatcher_s": {"dist": "fixed", "seconds": 1}}
    rows = ["0,landing/a_000001.csv,100,0", "0,landing/b_000001.csv,100.5,0",   # both slots until 101, 101.5
            "10,landing/c_000001.csv,50,0", "20,landing/e_000001.csv,50,0"]     # c and e wait
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=overheads), seed=1)
    assert schedule(result) == [("a_000001.csv", 1.0, 101.0), ("b_000001.csv", 1.0, 101.5),
                                ("c_000001.csv", 102.0, 152.0), ("e_000001.csv", 102.5, 152.5)]


def burst(failure_rate: float = 0.0) -> dict[str, Any]:
    """60 files landing within five minutes over up to 60 groups: a backlog for one or two slots."""
    return {"duration_s": 600,
            "arrivals": [{"burst": {"at_s": 0, "files": 60, "groups": 60, "spread_s": 300, "prefix": "feed_"}}],
            "job": {"startup_s": 20, "duration": {"dist": "lognormal", "mean_s": 120, "sigma": 0.3},
                    "failure_rate": failure_rate},
            "overheads": "realistic"}


def busy_until_the_last_waiter_started(result: SimulationResult, slots: int) -> float:
    """From the run log: slot-time busy (StartJobRun to run end) from the first start until the last group
    that waited for a slot got one (after that, only files queued behind their own group are left)."""
    taken, freed = result.model.runs.dispatched, result.model.runs.end
    first, last = taken.min(), max(result.model.wait_spans[1::2])   # type: ignore[union-attr]
    busy = np.clip(np.minimum(freed, last) - np.maximum(taken, first), 0.0, None).sum()
    return float(busy / (slots * (last - first)))


@pytest.mark.parametrize("slots", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_backlog_keeps_the_slots_busy(dev_spec: PipelineSpec, slots: int, seed: int) -> None:
    # one file a run: with batches the burst's 60 files need too few runs to keep a backlog of groups waiting
    spec = dev_spec.replace(max_parallel_groups=slots, job_timeout_minutes=240, batch_max_files=1)
    result = simulate(spec, scenario(burst(0.05)), seed=seed)
    metrics = result.metrics
    assert metrics["succeeded"] + metrics["dead"] == 60 and metrics["wakeups_to_dlq"] == 0
    assert metrics["waits"] >= 40  # the backlog is real: most groups found every slot taken
    assert busy_until_the_last_waiter_started(result, slots) > 0.95
    assert metrics["slot_busy_while_waiting"] > 0.95
    assert metrics["ordering_violations"] == metrics["overlapping_runs"] == 0


@pytest.mark.slow
def test_seed_card_on_dev_keeps_both_slots_busy(dev_spec: PipelineSpec) -> None:
    """The scenario that exposed v1's backoff: 2,003 files, two slots, a backlog of about 38 hours."""
    from landing_pipeline.simulator.scenario import load_scenario
    from tests.simulator.conftest import ROOT

    card = load_scenario(ROOT / "examples/seed-card.yaml")
    metrics = simulate(dev_spec, card, seed=card.seed or 0).metrics
    assert metrics["dead"] == 0 and metrics["wakeups_to_dlq"] == 0
    assert metrics["slot_busy_while_waiting"] > 0.95
    assert metrics["ordering_violations"] == metrics["overlapping_runs"] == 0
