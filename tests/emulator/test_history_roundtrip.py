"""The simulator's acceptance test against a history it did not generate: the emulator runs a workload, its
ledger and Glue run history are exported (``landing history export``'s code, through the emulated AWS API),
the export is replayed by the simulator, and the simulator must find what the emulator measured.

The emulator's side is measured from its own logs, never from the exported ledger: the landing log (each
upload's time) and the Glue engine's run log (each run's start, end and state, file by file for a batch). The
workload has four groups, bursts that the dev stack's two parallel groups make wait and batch (batchMaxFiles
10), a file that fails once alone and one that fails once at the end of a batch; runs take fixed durations (the
engine's sleep), on a virtual clock, so both sides are deterministic.

Tolerance: per group run order exact; peak parallel groups exact; each file's wait (landing to its first run
start) and the drain time (first landing to last run end) within ``TOLERANCE_S``. The emulator rounds nothing
but the S3 event time, which is whole seconds (the trace lands on whole seconds, so that costs nothing here),
and its pollers take a few milliseconds of pipeline time per hop; the simulator replays with no overheads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.cli.history import export_history
from landing_pipeline.cli.history_trace import TRACE_HEADER, Exported, to_csv
from landing_pipeline.emulator.deploy import read_stack
from tests.emulator.conftest import FAST, assert_nothing_lost, demo
from tests.emulator.test_simulator_agreement import emulated_order

pytestmark = pytest.mark.slow

TOLERANCE_S = 1.0

WORKLOAD = """time_s,key,size_bytes,duration_s,fail_attempts
0,landing/orders_20250915_080000.csv,400,120,0
0,landing/orders_20250915_080100.csv,400,41,0
0,landing/orders_20250915_080200.csv,400,47,1
2,landing/customers_20250915_080000.csv,400,93,0
2,landing/customers_20250915_080100.csv,400,31,0
4,landing/refunds_20250915_080000.csv,400,62,0
4,landing/refunds_20250915_080100.csv,400,37,0
6,landing/payments_20250915_080000.csv,400,83,1
700,landing/customers_20250915_090000.csv,400,73,0
700,landing/customers_20250915_090100.csv,400,22,0
700,landing/customers_20250915_090200.csv,400,19,0
702,landing/refunds_20250915_090000.csv,400,57,0
704,landing/orders_20250915_100000.csv,400,101,0
"""
"""Four groups' bursts in 6 s (two groups run, two wait for a slot), then, once all is done, three groups' files
2 s apart at 700 s (the third waits); orders_..._080200 fails once as the last file of a batch, payments_..._080000
once alone. No group has work of its own ready at the instant its run ends while another group waits for a slot,
and no two groups ask for a slot at one instant: which of the two takes the slot is a race (on AWS too), which the
emulator's threads do not always run the same way and the simulator's replay cannot know (docs/simulator.md,
"History: export and replay")."""


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Exported, Path]:
    """One emulation, its export and its replay, shared by the module's tests (an emulation is the slow part)."""
    from landing_pipeline.simulator.overheads import NONE
    from landing_pipeline.simulator.runner import simulate
    from landing_pipeline.simulator.scenario import scenario_from_trace

    tmp_path = tmp_path_factory.mktemp("roundtrip")
    workload = tmp_path / "workload.csv"
    workload.write_text(WORKLOAD)
    exported: list[Exported] = []

    def export_when_quiet(aws: Any, deployment: Any, turn: int) -> list[str]:
        exported.append(export_history(aws.client, deployment.ledger_table, deployment.job_name))
        return []   # nothing done: the demo ends

    emulated = demo(trace=workload, virtual_time=True, operator=export_when_quiet)
    trace = tmp_path / "exported.csv"
    trace.write_text(to_csv(exported[0].trace, TRACE_HEADER))
    spec = read_stack("dev", overrides=FAST).spec
    simulated = simulate(spec, scenario_from_trace(trace).with_overheads(NONE))
    return emulated, simulated, exported[0], trace


def emulated_waits(result: Any) -> dict[str, float]:
    """Landing (the landing log: the upload) to the start of the first Glue run that took the file (the Glue
    engine's run log; a batch's files all start with their run, as the simulator's waits count them)."""
    landed = {u.key: u.at for u in result.recorder.uploads}
    first: dict[str, float] = {}
    for run in result.recorder.snapshot_runs():
        for key in [f.key for f in run.files] or [run.key]:
            first[key] = min(first.get(key, run.start), run.start)
    return {key: start - landed[key] for key, start in first.items()}


def emulated_drain(result: Any) -> float:
    """First upload to the last run's end, from the same two logs."""
    ends = [run.end for run in result.recorder.snapshot_runs() if run.end is not None]
    return float(max(ends) - min(u.at for u in result.recorder.uploads))


def simulated_waits(result: Any) -> dict[str, float]:
    """The same from the model's run log: landing to the start of the first run that began the file (a batch's
    rows up to the one it stopped on, as ``SimulationResult.run_order`` counts them; the ledger's first start
    would also count the files after it, which the emulator's job never began)."""
    runs, w = result.model.runs, result.model.w
    first: dict[int, float] = {}
    current, stopped = None, False
    for index in range(len(runs)):
        fid = int(runs.file[index])
        run = (w.group[fid], runs.lease_at[index], runs.dispatched[index], runs.end[index])
        if run != current:
            current, stopped = run, False
        if not stopped:
            first[fid] = min(first.get(fid, float(runs.start[index])), float(runs.start[index]))
            stopped = not runs.ok[index]
    return {w.keys[fid]: start - float(w.land_s[fid]) for fid, start in first.items()}


def figures(emulated: Any, simulated: Any) -> dict[str, Any]:
    ew, sw = emulated_waits(emulated), simulated_waits(simulated)
    return {"files": len(ew), "groups": len(emulated_order(emulated.report)),
            "drain_emulator_s": round(emulated_drain(emulated), 3),
            "drain_simulator_s": round(simulated.metrics["drain_s"], 3),
            "max_wait_difference_s": round(max(abs(ew[k] - sw[k]) for k in ew), 3),
            "max_wait_s": round(max(ew.values()), 3),
            "peak_parallel_emulator": emulated.report["summary"]["max_parallel_groups"],
            "peak_parallel_simulator": simulated.metrics["max_parallel_groups"]}


def test_emulator_history_exported_and_replayed_agrees_with_what_the_emulator_measured(
        roundtrip: tuple[Any, Any, Exported, Path]) -> None:
    emulated, simulated, exported, _ = roundtrip
    assert_nothing_lost(emulated)
    order = emulated_order(emulated.report)
    assert order == simulated.run_order()
    assert len(order) == 4 and exported.groups == 4
    # the failures came through the export: each failing file runs twice, in both
    assert order["orders_20250915"].count("landing/orders_20250915_080200.csv") == 2
    assert order["payments_20250915"].count("landing/payments_20250915_080000.csv") == 2
    ew, sw = emulated_waits(emulated), simulated_waits(simulated)
    assert set(ew) == set(sw) and len(ew) == 13
    assert max(ew.values()) > 60    # files did wait (for a slot, behind their group): the waits are not trivial
    for key, wait in ew.items():
        assert sw[key] == pytest.approx(wait, abs=TOLERANCE_S), key
    assert emulated.report["summary"]["max_parallel_groups"] == simulated.metrics["max_parallel_groups"] == 2
    assert simulated.metrics["drain_s"] == pytest.approx(emulated_drain(emulated), abs=TOLERANCE_S)
    print("\nhistory round trip:", figures(emulated, simulated))


def test_the_export_gives_back_the_durations_and_failures_the_emulator_ran(
        roundtrip: tuple[Any, Any, Exported, Path]) -> None:
    """Batch runs split by their per-file commits, failures counted on the file a run stopped on."""
    _, _, exported, _ = roundtrip
    given = {line.split(",")[1]: line.split(",")[3:5] for line in WORKLOAD.strip().splitlines()[1:]}
    got = {str(row["key"]): [str(row["duration_s"]), str(row["fail_attempts"])] for row in exported.trace}
    assert got == given
    assert exported.runs > 0 and exported.start > 0
