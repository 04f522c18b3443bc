"""The protocol, not only the policy: duplicate deliveries, crashes between a commit and its actions, lost Glue
events, and what the reconciler repairs, on small traces whose course can be worked out by hand.

The tests marked ``xfail(strict=True)`` are defects of today's rules (runtime/decide.py, runtime/acting.py,
runtime/reconciler.py) that the simulator exposes; each fails for the reason given, and starts passing (so
the mark must go) when the rules are fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.runtime.group_state import Phase
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.acting import Actor, Crash
from landing_pipeline.simulator.runner import SimulationResult, simulate
from landing_pipeline.simulator.scenario import parse_scenario


def run(tmp_path: Path, spec: PipelineSpec, rows: list[str], *, seed: int = 1, **document: Any) -> SimulationResult:
    (tmp_path / "trace.csv").write_text("time_s,key,duration_s\n" + "\n".join(rows) + "\n", encoding="utf-8")
    scenario = parse_scenario({"trace": "trace.csv", "overheads": "none", **document}, str(tmp_path / "s.yaml"),
                              tmp_path)
    return simulate(spec, scenario, seed=seed)


def starts(result: SimulationResult) -> list[tuple[str, float, float]]:
    w, runs = result.workload, result.model.runs
    return sorted((w.keys[int(f)].removeprefix("landing/"), float(s), float(e))
                  for f, s, e in zip(runs.file, runs.dispatched, runs.end, strict=True))


@pytest.fixture
def crash_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the handler die once at the first step whose name is appended to the returned list."""
    wanted: list[str] = []
    original = Actor._maybe_crash

    def crash(self: Actor, g: int, where: str) -> None:
        if wanted and where == wanted[0]:
            wanted.pop()
            raise Crash(where)
        original(self, g, where)

    monkeypatch.setattr(Actor, "_maybe_crash", crash)
    return wanted


def test_a_duplicate_delivery_loses_its_guard_and_starts_nothing(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    rows = ["0,landing/a_000001.csv,100", "200,landing/a_000002.csv,100"]
    result = run(tmp_path, dev_spec, rows, overheads="realistic", faults={"duplicate_delivery": 0.99})
    metrics = result.metrics
    assert metrics["faults"]["duplicate_deliveries"] >= 2
    assert metrics["guard_conflicts"] >= 1   # the twin decided on the state before the other's commit
    assert metrics["glue_runs"] == 2 and metrics["succeeded"] == 2 and metrics["overlapping_runs"] == 0


def test_a_lost_glue_event_costs_at_most_one_reconciler_interval(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(settle_seconds=0, reconcile_minutes=5)
    result = run(tmp_path, spec, ["0,landing/a_000001.csv,100", "10,landing/a_000002.csv,100"],
                 faults={"lost_glue_event": 0.99})
    assert result.metrics["faults"]["lost_glue_events"] == 2
    # a_000001 ends at 100 and nobody hears of it; the pass at 300 finishes it and wakes the group
    assert starts(result) == [("a_000001.csv", 0.0, 100.0), ("a_000002.csv", 300.0, 400.0)]
    assert result.metrics["reconciler"]["released"] == 2 and result.metrics["succeeded"] == 2


def test_a_crash_before_start_job_run_is_restarted_with_the_same_token(
        tmp_path: Path, dev_spec: PipelineSpec, crash_once: list[str]) -> None:
    crash_once.append("before StartJobRun")
    spec = dev_spec.replace(settle_seconds=0)
    result = run(tmp_path, spec, ["0,landing/a_000001.csv,100"])
    # the lease is STARTING with no run; its grace (dispatcher timeout + 90 s = 150 s) is past at the pass at
    # 300, which finds no run for the token and starts again with it
    assert starts(result) == [("a_000001.csv", 300.0, 400.0)]
    assert result.metrics["restarts"] == 1 and result.metrics["succeeded"] == 1
    assert len({run.token for run in result.model.glue.runs}) == 1


def test_a_crash_after_start_job_run_leaves_a_run_the_completion_finds_by_its_token(
        tmp_path: Path, dev_spec: PipelineSpec, crash_once: list[str]) -> None:
    crash_once.append("after StartJobRun")
    spec = dev_spec.replace(settle_seconds=0)
    result = run(tmp_path, spec, ["0,landing/a_000001.csv,100", "10,landing/a_000002.csv,50"])
    # the completion handler knows the run by its token and releases it at 100; its wake-up for a_000002
    # waits in the FIFO group behind the dead invocation's message, which is back only after the queue's
    # visibility timeout (6 x the dispatcher's 60 s): a crash costs the group that long
    assert starts(result) == [("a_000001.csv", 0.0, 100.0), ("a_000002.csv", 360.0, 410.0)]
    assert result.metrics["glue_runs"] == 2 and result.metrics["restarts"] == 0
    assert result.metrics["decisions"]["released"] == 2


def test_a_dead_file_whose_announcement_died_with_its_handler_is_announced_by_the_reconciler(
        tmp_path: Path, dev_spec: PipelineSpec, crash_once: list[str]) -> None:
    crash_once.append("after the commit of released")
    spec = dev_spec.replace(settle_seconds=0, max_attempts=1)
    path = tmp_path / "trace.csv"
    path.write_text("time_s,key,duration_s,fail_attempts\n0,landing/a_000001.csv,100,1\n", encoding="utf-8")
    result = simulate(spec, parse_scenario({"trace": "trace.csv", "overheads": "none"}, str(tmp_path / "s.yaml"),
                                           tmp_path), seed=1)
    assert result.metrics["dead"] == 1 and result.metrics["dead_not_announced"] == 0
    assert result.model.actor.announced == {("0", 1): 300.0}   # the next pass, not the dead handler


def test_a_run_the_dispatcher_finds_ended_does_not_leave_its_group_stuck(tmp_path: Path,
                                                                         dev_spec: PipelineSpec) -> None:
    # seed 21: the dispatcher dies after StartJobRun, the run's end event is lost, and the wake-up comes back
    # to a dispatcher that finds the run ended (found by its token)
    result = run(tmp_path, dev_spec, ["0,landing/a_000001.csv,100", "10,landing/a_000002.csv,100"], seed=21,
                 faults={"crash": 0.3, "lost_glue_event": 0.9})
    group = result.model.table.groups[0]
    assert not (group.state == Phase.STARTING and group.token is None)
    assert result.metrics["unfinished"] == 0


def test_a_reconciler_pass_keeps_waiting_groups_in_their_place(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(settle_seconds=0, max_parallel_groups=1)
    # one slot, busy until 1000; zz waits from 10, aa from 20: zz must run first
    result = run(tmp_path, spec, ["0,landing/first_000001.csv,1000", "10,landing/zz_000001.csv,10",
                                  "20,landing/aa_000001.csv,10"])
    assert [name for name, _, _ in sorted(starts(result), key=lambda s: s[1])] == [
        "first_000001.csv", "zz_000001.csv", "aa_000001.csv"]
    assert result.metrics["reconciler"].get("wake", 0) == 0


def test_a_slot_recount_between_a_run_end_and_its_release_refuses_no_start(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(settle_seconds=0, max_parallel_groups=1)
    overheads = {"preset": "none", "completion_s": {"dist": "fixed", "seconds": 10},
                 "dispatcher_s": {"dist": "fixed", "seconds": 1}}
    # a runs 201-296 and is released at 306; at the pass at 300 its check is not due yet (lease + 150 s) and
    # Glue shows no active run: the counter goes to 0, and a's release takes it to -1. b (woken at 306) and c
    # (woken by the pass at 600) both pass the counter with one Glue slot: c is refused until b ends
    result = run(tmp_path, spec, ["200,landing/a_000001.csv,95", "210,landing/b_000001.csv,1000",
                                  "220,landing/c_000001.csv,10"], overheads=overheads)
    assert result.metrics["starts_refused"] == 0
