"""Batches end to end on the emulated stack: the Glue engine's own run log (not the ledger) shows one run going
through several files of a group in the stack's order; a failure mid-batch stops it there and the next run
takes the failing file first; the real job on local Spark merges a batch into the snapshot as files one by one."""

from __future__ import annotations

import csv
import io
import json
import shutil
from typing import Any

import pytest

from landing_pipeline.emulator import timeline
from landing_pipeline.emulator.demo import DemoResult
from landing_pipeline.emulator.observe import RunObservation, per_file
from landing_pipeline.emulator.workload import Arrival
from tests.emulator.conftest import assert_nothing_lost, demo, explain

HEADER = "order_id,customer_id,amount,order_ts"
BATCH = {"batchMaxFiles": 5, "batchWindowSeconds": 60, "settleSeconds": 5}


def arrivals(n: int = 5, fail: int | None = None) -> list[Arrival]:
    """``n`` files of one group landing a second apart (names in landing order), each updating order o-1."""
    return [Arrival(float(i), f"orders_20250915_1015{i:02d}.csv",
                    f"{HEADER}\no-1,c-{i},{10 + i}.00,2025-09-15 10:15:{i:02d}\no-{i + 2},c-{i},1.00,"
                    f"2025-09-15 10:15:{i:02d}\n".encode(), 20.0, 1 if i == fail else 0) for i in range(n)]


def engine_runs(result: DemoResult) -> list[RunObservation]:
    assert result.recorder is not None
    return sorted((r for r in result.recorder.snapshot_runs() if not r.fenced), key=lambda r: r.start)


def names(run: RunObservation) -> list[str]:
    return [f.key.rsplit("/", 1)[-1] for f in sorted(run.files, key=lambda f: f.position)]


def test_one_run_processes_the_groups_five_files_in_order() -> None:
    result = demo(overrides=BATCH, arrivals=arrivals())
    assert_nothing_lost(result)
    runs = engine_runs(result)
    assert len(runs) == 1, explain(result)
    assert names(runs[0]) == [a.name for a in arrivals()]
    assert [f.state for f in runs[0].files] == ["SUCCEEDED"] * 5
    starts = [f.start for f in sorted(runs[0].files, key=lambda f: f.position)]
    assert starts == sorted(starts) and starts[-1] - starts[0] >= 4 * 20.0 - 1e-6   # one after another


def test_a_failure_mid_batch_stops_it_and_the_next_run_starts_at_the_failing_file() -> None:
    result = demo(overrides=BATCH, arrivals=arrivals(fail=2))
    assert_nothing_lost(result)
    first, second = engine_runs(result)
    assert names(first) == [a.name for a in arrivals()[:3]]                 # stopped at the third
    assert [f.state for f in first.files] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    assert names(second) == [a.name for a in arrivals()[2:]]                # the failing file first
    assert [f.state for f in second.files] == ["SUCCEEDED"] * 3
    successes: dict[str, int] = {}
    for run in per_file(engine_runs(result)):
        successes[run.file_id] = successes.get(run.file_id, 0) + (run.state == "SUCCEEDED")
    assert sorted(successes.values()) == [1] * 5                            # none processed twice
    taken_in = [f for f in result.report["files"] if f["runs"]]
    (bars_of_group,) = timeline.bars(taken_in, now=second.end or 0.0).values()   # the picture: one bar a Glue run
    assert [[m["place"] for m in bar["marks"]] for bar in bars_of_group] == [[1, 2, 3], [1, 2, 3]]
    assert [bar["start"] for bar in bars_of_group] == [round(first.start, 3), round(second.start, 3)]


@pytest.mark.parametrize("kind", ["throttle", "crash-after-start"])
def test_a_start_fault_aimed_at_a_file_riding_in_a_batch_fires_on_the_batchs_start(kind: str) -> None:
    """Whether a file heads its run or rides in a batch depends on when its record reached the ledger (so on the
    machine's load); a fault aimed at it must fire either way (CI once saw a throttle aimed at a file that had
    ridden in its group's first run never fire)."""
    third = arrivals()[2].name.removesuffix(".csv")
    # on virtual time, so that the five records reach the ledger within the batch window however loaded the machine
    result = demo(overrides=BATCH, arrivals=arrivals(), faults=(f"{kind}:{third}*:2",), virtual_time=True)
    assert result.faults_fired.get(kind) == (2 if kind == "throttle" else 1), explain(result)
    assert_nothing_lost(result)
    runs = engine_runs(result)
    assert len(runs) == 1 and names(runs[0]) == [a.name for a in arrivals()], explain(result)   # refused, not run


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")
def test_the_real_job_on_local_spark_runs_a_batch_and_merges_each_file_in_order() -> None:
    files = arrivals()
    result = demo(engine="spark", speedup=10.0, overrides={**BATCH, "jobTimeoutMinutes": 60, "mergeKeys": ["order_id"],
                                                            "schema": ["order_id:string", "customer_id:string",
                                                                       "amount:double", "order_ts:timestamp"]},
                  arrivals=files)
    assert_nothing_lost(result)
    runs = engine_runs(result)
    assert len(runs) == 1 and names(runs[0]) == [a.name for a in files], explain(result)
    pointer = json.loads(result.s3_objects["snapshots/orders/orders_20250915/_current.json"])
    assert pointer["version"] == 5 and pointer["file_id"] == runs[0].files[-1].file_id
    reference: dict[str, float] = {}
    for a in files:   # last row per key wins, files applied in landing order
        for row in csv.DictReader(io.StringIO(a.body.decode())):
            reference[row["order_id"]] = float(row["amount"])
    assert _snapshot(result, pointer) == reference
    run_manifests = [json.loads(body) for key, body in result.s3_objects.items() if key.startswith("runs/")
                     and not key.endswith(".batch.json")]
    assert [[f["status"] for f in m["files"]] for m in run_manifests] == [["SUCCEEDED"] * 5]


def _snapshot(result: DemoResult, pointer: dict[str, Any]) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    prefix = pointer["path"].split("/", 3)[3]
    parts = [pq.read_table(io.BytesIO(body)) for key, body in sorted(result.s3_objects.items())
             if key.startswith(prefix) and key.endswith(".parquet")]
    return {row["order_id"]: round(row["amount"], 2) for row in pa.concat_tables(parts).to_pylist()}


def test_the_run_log_judges_a_batch_file_by_file_up_to_the_runs_end() -> None:
    """A batch killed at the timeout: the file it was on ends with the run, a file local Spark began after Glue's
    end did not run; a run with no file reported (fenced, no capacity) stays as it is."""
    from landing_pipeline.emulator.observe import FileInRun

    killed = RunObservation("jr_1", "k1", "f1", "g", 1, 0.0, 100.0, "TIMEOUT", "Job run timed out", files=[
        FileInRun(1, "f1", "k1", 0.0, 40.0, "SUCCEEDED"), FileInRun(2, "f2", "k2", 40.0, 130.0, "SUCCEEDED"),
        FileInRun(3, "f3", "k3", 130.0)])
    fenced = RunObservation("jr_2", "k1", "f1", "g", 1, 5.0, 5.0, "SUCCEEDED", "fenced", fenced=True)
    expanded = [(r.run_id, r.file_id, r.start, r.end, r.state) for r in per_file([killed, fenced])]
    assert expanded == [("jr_1/1", "f1", 0.0, 40.0, "SUCCEEDED"), ("jr_1/2", "f2", 40.0, 100.0, "TIMEOUT"),
                        ("jr_2", "f1", 5.0, 5.0, "SUCCEEDED")]
