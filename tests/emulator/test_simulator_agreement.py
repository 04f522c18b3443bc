"""The simulator and the emulator agree on one trace: same run order in every group, same peak of parallel groups.

The simulator models the flow; the emulator runs the deployed stack's real handlers. A trace with exact durations
(and one file that fails once) takes the same course through both when the design is right in both.
"""

from __future__ import annotations

from pathlib import Path

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


def _emulated_order(report: dict[str, object]) -> dict[str, list[str]]:
    runs = [(run["start"], file["group"], file["key"])  # type: ignore[index]
            for file in report["files"] for run in file["runs"]]  # type: ignore[attr-defined]
    order: dict[str, list[str]] = {}
    for _, group, key in sorted(runs):
        order.setdefault(group, []).append(key)
    return order


def test_simulate_and_demo_agree_on_a_trace(tmp_path: Path) -> None:
    from landing_pipeline.simulator.runner import simulate
    from landing_pipeline.simulator.scenario import scenario_from_trace

    trace = tmp_path / "trace.csv"
    trace.write_text(TRACE)
    spec = read_stack("dev", overrides=FAST).spec
    simulated = simulate(spec, scenario_from_trace(trace))
    emulated = demo(trace=trace)
    assert_nothing_lost(emulated)
    assert _emulated_order(emulated.report) == simulated.run_order()
    # orders_..._103000 fails once and is retried before the group's next file, in both.
    assert _emulated_order(emulated.report)["orders_20250915"] == [
        "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv",
        "landing/orders_20250915_103000.csv", "landing/orders_20250915_110000.csv"]
    assert emulated.report["summary"]["max_parallel_groups"] == simulated.metrics["max_parallel_groups"] == 2
