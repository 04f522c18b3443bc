"""The reconciler's repeated stay-in-line decisions (``runtime.decide_deadline`` in
``simulator.processes._reconcile_group``) change the simulator's cost, never what it models: with the shortcut
and without it (every pass running ``decide``), the same run logs every decision, failed commit and crash in
the same order and ends with the same table and metrics. Checked on backlogs (where the shortcut takes most
of the reconciler's decisions) and on hypothesis' random traces with faults. The table's count of leases held
(what the slot repair reads) is checked against the group items themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator import acting, processes
from landing_pipeline.simulator.runner import SimulationResult, simulate
from landing_pipeline.simulator.scenario import parse_scenario
from tests.simulator.test_handoff import burst
from tests.simulator.test_properties import cases


def _logged(spec: PipelineSpec, document: dict[str, Any], seed: int, *, shortcut: bool
            ) -> tuple[SimulationResult, list[tuple[float, str, str, str]], int]:
    """One run with the actor's decision log on; the number of decisions the shortcut took."""
    taken = [0]
    original_init, original_repeat = acting.Actor.__init__, processes.repeat_wait

    def init(self: acting.Actor, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.log = []

    def repeat(*args: Any) -> Any:
        d = original_repeat(*args) if shortcut else None
        taken[0] += d is not None
        return d

    with mock.patch.object(acting.Actor, "__init__", init), mock.patch.object(processes, "repeat_wait", repeat):
        result = simulate(spec, parse_scenario(document, "<test>", Path(".")), seed=seed)
    assert result.model.actor.log is not None
    return result, result.model.actor.log, taken[0]


def _same_run(spec: PipelineSpec, document: dict[str, Any], seed: int) -> int:
    fast, fast_log, taken = _logged(spec, document, seed, shortcut=True)
    slow, slow_log, none = _logged(spec, document, seed, shortcut=False)
    assert none == 0
    assert fast_log == slow_log
    assert ({k: v for k, v in fast.metrics.items() if k != "wall_s"}
            == {k: v for k, v in slow.metrics.items() if k != "wall_s"})
    fast_table, slow_table = fast.model.table, slow.model.table
    assert fast_table.groups == slow_table.groups and fast_table.files == slow_table.files
    assert (fast_table.writes, fast_table.write_items, fast_table.conflicts) == (
        slow_table.writes, slow_table.write_items, slow_table.conflicts)
    assert fast.model.queue.sent == slow.model.queue.sent
    for table in (fast_table, slow_table):
        assert table.leases_held == sum(group.leased for group in table.groups)
    return taken


@pytest.mark.parametrize("slots", [1, 2])
def test_a_backlog_runs_the_same_with_the_reconcilers_repeats(dev_spec: PipelineSpec, slots: int) -> None:
    document = {**burst(0.05), "faults": {"crash": 0.02, "lost_glue_event": 0.05, "duplicate_delivery": 0.02}}
    taken = _same_run(dev_spec.replace(max_parallel_groups=slots, job_timeout_minutes=240), document, seed=slots)
    assert taken > 100   # the backlog waits for hours: most reconciler decisions are repeats


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(faults=True))
def test_random_traces_with_faults_run_the_same_with_the_repeats(case: tuple[PipelineSpec, dict[str, Any]]) -> None:
    spec, document = case
    _same_run(spec, document, seed=3)


def _unlogged(spec: PipelineSpec, document: dict[str, Any], seed: int, *, shortcut: bool
              ) -> tuple[SimulationResult, int]:
    """One run without a decision log, with the dispatcher's no-slot shortcut on or off; its uses."""
    taken = [0]
    original = processes._decide_with_no_slot

    def counted(*args: Any) -> Any:
        taken[0] += 1
        return original(*args)

    with mock.patch.object(processes, "NO_SLOT_SHORTCUT", shortcut), \
            mock.patch.object(processes, "_decide_with_no_slot", counted):
        result = simulate(spec, parse_scenario(document, "<test>", Path(".")), seed=seed)
    return result, taken[0]


def _same_without_the_refused_start(spec: PipelineSpec, document: dict[str, Any], seed: int) -> int:
    """``processes._decide_with_no_slot`` changes the cost only: the same metrics (decisions per kind, the
    refused starts among them), table, writes and wake-ups as the handler's start-then-wait."""
    fast, taken = _unlogged(spec, document, seed, shortcut=True)
    slow, none = _unlogged(spec, document, seed, shortcut=False)
    assert none == 0
    assert ({k: v for k, v in fast.metrics.items() if k != "wall_s"}
            == {k: v for k, v in slow.metrics.items() if k != "wall_s"})
    fast_table, slow_table = fast.model.table, slow.model.table
    assert fast_table.groups == slow_table.groups and fast_table.files == slow_table.files
    assert (fast_table.writes, fast_table.write_items, fast_table.conflicts, fast_table.no_slot) == (
        slow_table.writes, slow_table.write_items, slow_table.conflicts, slow_table.no_slot)
    assert fast.model.actor.decisions == slow.model.actor.decisions
    assert fast.model.queue.sent == slow.model.queue.sent
    return taken


@pytest.mark.parametrize("slots", [1, 2])
def test_a_backlog_runs_the_same_without_proposing_starts_that_find_no_slot(dev_spec: PipelineSpec,
                                                                            slots: int) -> None:
    document = {**burst(0.05), "faults": {"crash": 0.02, "lost_glue_event": 0.05, "duplicate_delivery": 0.02}}
    spec = dev_spec.replace(max_parallel_groups=slots, job_timeout_minutes=240)
    assert _same_without_the_refused_start(spec, document, seed=slots) > 20   # the slots are full for hours


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(faults=True))
def test_random_traces_run_the_same_without_proposing_starts_that_find_no_slot(
        case: tuple[PipelineSpec, dict[str, Any]]) -> None:
    spec, document = case
    _same_without_the_refused_start(spec, document, seed=5)
