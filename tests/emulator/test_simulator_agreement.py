"""The simulator and the emulator agree on one trace: the same run order in every group, the same peak of
parallel groups, the same late files.

The simulator models the protocol with the deployed rules (``runtime.decide``); the emulator runs the deployed
handlers against emulated AWS. A trace with exact durations (and one file that fails once) takes the same
course through both when the two model the same thing; so does a file whose S3 event is held back past the
settle window (the emulator's ``delay-event`` fault, the simulator trace's ``event_delay_s``).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.emulator.deploy import read_stack
from tests.emulator.conftest import FAST, assert_nothing_lost, demo

pytestmark = pytest.mark.slow

TRACE = """time_s,key,size_bytes,duration_s,fail_attempts
0,landing/orders_20250915_101500.csv,400,200,0
5,landing/customers_20250915_102000.csv,400,150,0
10,landing/orders_20250915_103000.csv,400,120,1
15,landing/refunds_20250915_090000.csv,400,100,0
60,landing/customers_20250915_120000.csv,400,120,0
90,landing/orders_20250915_110000.csv,400,100,0
120,landing/refunds_20250915_093000.csv,400,90,0
"""

LATE = """time_s,key,size_bytes,duration_s,fail_attempts,event_delay_s
0,landing/orders_20250915_101500.csv,400,60,0,120
1,landing/orders_20250915_101501.csv,400,60,0,0
"""
"""Two files of one group a second apart, the earlier one's event 120 s late: settleSeconds (30) has passed
and the later file has started when the earlier one is recorded, so it is late and runs after it."""


def emulated_order(report: dict[str, Any]) -> dict[str, list[str]]:
    runs = [(run["start"], file["group"], file["key"]) for file in report["files"] for run in file["runs"]]
    order: dict[str, list[str]] = {}
    for _, group, key in sorted(runs):
        order.setdefault(group, []).append(key)
    return order


def both(tmp_path: Path, trace_text: str, faults: tuple[str, ...] = ()) -> tuple[Any, Any]:
    from landing_pipeline.simulator.runner import simulate
    from landing_pipeline.simulator.scenario import scenario_from_trace

    trace = tmp_path / "trace.csv"
    trace.write_text(trace_text)
    spec = read_stack("dev", overrides=FAST).spec
    simulated = simulate(spec, scenario_from_trace(trace))
    # virtual pipeline time: on the scaled clock (120x) the machine's load is pipeline time, and a start that slips
    # by a wall second slips by two pipeline minutes (it once let the late file's 120 s delay run out first)
    emulated = demo(trace=trace, faults=faults, virtual_time=True)
    return simulated, emulated


def assert_one_at_a_time(report: dict[str, Any]) -> None:
    """Every file ended SUCCEEDED once, and a group's runs (by start) never overlap: from the run log."""
    by_group: dict[str, list[tuple[float, float]]] = {}
    for file in report["files"]:
        assert file["status"] == "SUCCEEDED" and sum(r["state"] == "SUCCEEDED" for r in file["runs"]) == 1, file
        by_group.setdefault(file["group"], []).extend((r["start"], r["end"]) for r in file["runs"])
    for runs in by_group.values():
        runs.sort()
        assert all(end <= start for (_, end), (start, _) in pairwise(runs)), runs


def test_simulate_and_demo_agree_on_a_trace(tmp_path: Path) -> None:
    simulated, emulated = both(tmp_path, TRACE)
    assert_nothing_lost(emulated)
    assert emulated_order(emulated.report) == simulated.run_order()
    # orders_..._103000 fails once and is retried before the group's next file, in both.
    assert emulated_order(emulated.report)["orders_20250915"] == [
        "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv",
        "landing/orders_20250915_103000.csv", "landing/orders_20250915_110000.csv"]
    summary = emulated.report["summary"]
    assert summary["max_parallel_groups"] == simulated.metrics["max_parallel_groups"] == 2
    assert summary["late"] == simulated.metrics["late"] == 0
    assert summary["ordering_violations"] == simulated.metrics["ordering_violations"] == 0


def test_simulate_and_demo_agree_on_a_file_whose_event_came_late(tmp_path: Path) -> None:
    simulated, emulated = both(tmp_path, LATE, faults=("delay-event:orders_20250915_101500.csv:120",))
    assert_one_at_a_time(emulated.report)   # (assert_nothing_lost reads runs in enqueue order: not v2's order)
    later, earlier = "landing/orders_20250915_101501.csv", "landing/orders_20250915_101500.csv"
    assert emulated_order(emulated.report) == simulated.run_order() == {"orders_20250915": [later, earlier]}
    summary = emulated.report["summary"]
    assert summary["late"] == simulated.metrics["late"] == 1
    assert summary["ordering_violations"] == simulated.metrics["ordering_violations"] == 0
    assert summary["max_parallel_groups"] == simulated.metrics["max_parallel_groups"] == 1
