"""The Glue-slot handoff: waiters woken oldest first, one per freed slot; few receives; slots kept busy.

Before the handoff, a start refused for lack of a slot went back to the queue with a growing backoff, and
every return was a receive: under a normal backlog files reached maxReceiveCount and went DEAD, and slots
sat idle while the backoff ran. These tests hold the model of the handoff to what the design promises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.handoff import WaitingLine, busy_share_while_waiting
from landing_pipeline.simulator.ledger import SUCCEEDED
from landing_pipeline.simulator.runner import SimulationResult, simulate
from tests.simulator.conftest import scenario, trace_scenario

HANDOFF_WITHOUT_DELAYS = {"preset": "none", "throttle": "handoff"}


def test_waiters_are_woken_oldest_first_and_a_rewaiting_file_keeps_its_place() -> None:
    line = WaitingLine(4)
    for fid, now in ((2, 10.0), (0, 20.0), (3, 30.0)):
        line.throttled(fid, now)
        line.park(fid)
    assert line.wake_oldest() == 2
    line.throttled(2, 95.0)  # lost the slot to another delivery: waits again, still since 10
    line.park(2)
    assert (line.since[2], line.lost_races) == (10.0, 1)
    assert [line.wake_oldest(), line.wake_oldest(), line.wake_oldest(), line.wake_oldest()] == [2, 0, 3, -1]
    assert line.returns == [1, 0, 2, 1] and line.wakeups == 4 and line.waits == 3


def test_a_woken_or_reparked_waiter_ignores_its_old_fallback() -> None:
    line = WaitingLine(2)
    line.throttled(0, 0.0)
    first = line.park(0)
    assert line.wake_oldest() == 0
    assert not line.fallback(0, first)  # woken: its handle is no longer valid, the fallback is moot
    line.throttled(0, 50.0)
    second = line.park(0)
    assert not line.fallback(0, first)
    assert line.fallback(0, second)  # never woken from this park: the fallback brings it back
    assert line.wake_oldest() == -1  # redelivered by the fallback: no valid handle to wake
    line.stopped(0, 60.0)
    assert line.spans == [0.0, 60.0] and line.since[0] == -1.0 and line.fallbacks == 1


def test_busy_share_counts_slot_time_only_while_someone_waits() -> None:
    # one slot; a file waits 0-100; the slot is busy 0-40 and 50-200: idle 40-50 while waiting
    share = busy_share_while_waiting([0.0, 100.0], np.array([0.0, 50.0]), np.array([40.0, 200.0]), 1)
    assert share == pytest.approx(0.9)
    assert busy_share_while_waiting([], np.array([0.0]), np.array([1.0]), 1) is None


def schedule(result: SimulationResult) -> list[tuple[str, float, float]]:
    w, runs = result.workload, result.model.runs
    return sorted((w.keys[int(f)].removeprefix("landing/"), float(s), float(e))
                  for f, s, e in zip(runs.file, runs.start, runs.end, strict=True))


def test_freed_slots_go_to_the_oldest_waiter_and_the_fallback_wakes_the_forgotten(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1)  # fallback = hold visibility = 1800 + 600 s
    assert spec.hold_visibility_s == 2400
    rows = ["0,landing/a_000001.csv,1500,0",   # a: runs 0-1500
            "10,landing/b_000001.csv,1500,0",  # b: waits from 10, woken at 1500, runs 1500-3000
            "20,landing/c_000001.csv,1500,0",  # c: waits from 20; fallback at 2420 finds the slot busy, waits
            "30,landing/d_000001.csv,100,0"]   # d: waits from 30; fallback at 2430, again at 4830 (c runs)
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=HANDOFF_WITHOUT_DELAYS), seed=1)
    assert schedule(result) == [("a_000001.csv", 0.0, 1500.0), ("b_000001.csv", 1500.0, 3000.0),
                                ("c_000001.csv", 3000.0, 4500.0), ("d_000001.csv", 4500.0, 4600.0)]
    metrics = result.metrics
    # b: delivered, woken; c: delivered, fallback, woken; d: delivered, fallback at 2430, woken at 4500
    assert result.model.ledger.receives == [1, 2, 3, 3]
    assert (metrics["waits"], metrics["wakeups"], metrics["wakeups_lost"], metrics["fallback_wakeups"]) == (3, 3, 0, 2)
    assert metrics["throttled_starts"] == 5  # b, c, d at first; c and d after their fallbacks
    assert metrics["slot_busy_while_waiting"] == pytest.approx(1.0)


def test_a_woken_waiter_can_lose_the_slot_and_waits_again_in_its_place(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1)
    overheads = {**HANDOFF_WITHOUT_DELAYS, "dispatcher_s": {"dist": "fixed", "seconds": 1}}
    rows = ["0,landing/a_000001.csv,100,0",   # a: StartJobRun at 1, runs 1-101
            "10,landing/b_000001.csv,50,0",   # b: refused at 11, waits from 11
            "20,landing/c_000001.csv,50,0",   # c: refused at 21, waits from 21
            "100.5,landing/d_000001.csv,50,0"]  # d: a new group, delivered at 100.5, StartJobRun at 101.5
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=overheads), seed=1)
    # a ends at 101 and wakes b, whose StartJobRun comes at 102: d, already on its way, takes the slot at
    # 101.5; b waits again, still ahead of c, and the end of d's run wakes it
    assert schedule(result) == [("a_000001.csv", 1.0, 101.0), ("b_000001.csv", 152.5, 202.5),
                                ("c_000001.csv", 203.5, 253.5), ("d_000001.csv", 101.5, 151.5)]
    assert result.model.ledger.receives == [1, 3, 2, 1]
    assert (result.metrics["wakeups"], result.metrics["wakeups_lost"]) == (3, 1)


def test_the_woken_waiter_is_not_beaten_by_the_next_file_of_the_group_that_freed_the_slot(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=1)
    rows = ["0,landing/a_000001.csv,100,0", "5,landing/a_000002.csv,50,0", "10,landing/b_000001.csv,50,0"]
    result = simulate(spec, trace_scenario(tmp_path, rows, overheads=HANDOFF_WITHOUT_DELAYS), seed=1)
    # the completion handler wakes b before it releases group a (as runtime.outcomes does)
    assert schedule(result) == [("a_000001.csv", 0.0, 100.0), ("a_000002.csv", 150.0, 200.0),
                                ("b_000001.csv", 100.0, 150.0)]
    assert result.model.ledger.receives == [1, 2, 2]


def burst(throttle: str, failure_rate: float = 0.0) -> dict[str, Any]:
    """60 files landing within five minutes over up to 60 groups: a backlog for one or two slots."""
    return {"duration_s": 600,
            "arrivals": [{"burst": {"at_s": 0, "files": 60, "groups": 60, "spread_s": 300, "prefix": "feed_"}}],
            "job": {"startup_s": 20, "duration": {"dist": "lognormal", "mean_s": 120, "sigma": 0.3},
                    "failure_rate": failure_rate},
            "overheads": {"preset": "realistic", "throttle": throttle}}


def busy_until_the_last_waiter_started(result: SimulationResult, slots: int) -> float:
    """From the run log: slot-time busy (StartJobRun to run end) from the first start until the last file
    that waited for a slot got one (after that, only files queued behind their own group are left)."""
    taken, freed = np.asarray(result.model.run_dispatched), result.model.runs.end
    first, last = taken.min(), max(result.model.line.spans[1::2])
    busy = np.clip(np.minimum(freed, last) - np.maximum(taken, first), 0.0, None).sum()
    return float(busy / (slots * (last - first)))


@pytest.mark.parametrize("slots", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_backlog_costs_few_receives_and_keeps_the_slots_busy(dev_spec: PipelineSpec, slots: int,
                                                               seed: int) -> None:
    # runs of about 2.5 minutes against a 4-hour fallback: every waiter is woken by a freed slot
    spec = dev_spec.replace(max_parallel_groups=slots, job_timeout_minutes=240)
    result = simulate(spec, scenario(burst("handoff")), seed=seed)
    metrics, receives = result.metrics, np.asarray(result.model.ledger.receives)
    assert metrics["succeeded"] == 60 and metrics["dead_by_receive_ceiling"] == 0
    assert metrics["waits"] >= 40  # the backlog is real: most files found both slots busy
    assert metrics["fallback_wakeups"] == 0
    # one receive for the first delivery, one per wake-up (whether or not it won the slot)
    assert receives.tolist() == (1 + np.asarray(result.model.line.returns)).tolist()
    assert receives.max() <= 5
    assert busy_until_the_last_waiter_started(result, slots) > 0.95
    assert metrics["slot_busy_while_waiting"] > 0.95


def test_the_handoff_beats_the_backoff_it_replaced(dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(max_parallel_groups=2, job_timeout_minutes=240)
    handoff = simulate(spec, scenario(burst("handoff", 0.05)), seed=4)
    retry = simulate(spec, scenario(burst("retry", 0.05)), seed=4)
    assert retry.metrics["slot_busy_while_waiting"] < 0.9  # slots idle while backoffs run out
    assert handoff.metrics["slot_busy_while_waiting"] > retry.metrics["slot_busy_while_waiting"] + 0.1
    assert handoff.metrics["receives_mean"] < retry.metrics["receives_mean"] / 2
    assert handoff.metrics["drain_s"] < retry.metrics["drain_s"]
    assert retry.metrics["wakeups"] == handoff.metrics["fallback_wakeups"] == 0
    ledger = handoff.model.ledger
    assert ledger.status == [SUCCEEDED] * 60
    # with failures, each retry after a failed attempt is one more delivery
    assert ledger.receives == [a + r for a, r in zip(ledger.attempts, handoff.model.line.returns, strict=True)]


@pytest.mark.slow
def test_seed_card_on_dev_no_file_dies_waiting_for_a_slot(dev_spec: PipelineSpec) -> None:
    """The scenario that exposed the backoff: 2,003 files, two slots, a 38-hour backlog."""
    from landing_pipeline.simulator.scenario import load_scenario
    from tests.simulator.conftest import ROOT

    card = load_scenario(ROOT / "examples/seed-card.yaml")
    metrics = simulate(dev_spec, card, seed=card.seed or 0).metrics
    assert metrics["dead_by_receive_ceiling"] == 0 and metrics["dead"] == 0
    assert metrics["receives_max"] < dev_spec.receive_ceiling / 2
    assert metrics["slot_busy_while_waiting"] > 0.95


def test_a_low_receive_ceiling_parks_waiters_and_the_summary_says_why(dev_spec: PipelineSpec) -> None:
    from landing_pipeline.simulator.report import warnings

    spec = dev_spec.replace(max_parallel_groups=1, max_receives=4, job_timeout_minutes=240)
    card = scenario(burst("handoff"))
    result = simulate(spec, card, seed=0)
    metrics, ledger = result.metrics, result.model.ledger
    assert metrics["dead_by_receive_ceiling"] > 0
    assert metrics["succeeded"] + metrics["dead"] == 60
    assert max(ledger.receives) == spec.receive_ceiling + 1  # the delivery SQS turned into a DLQ move
    assert all(since < 0 for since in result.model.line.since)  # nobody is left waiting
    notes = warnings(metrics, spec, card)
    assert any("maxReceiveCount (4)" in note and "wake-up that lost the slot" in note for note in notes), notes
