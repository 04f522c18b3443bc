"""The deployed stack on emulated AWS, end to end, with the real handlers (sleep engine: runs take the example's
durations, so these tests check the pipeline's behaviour, not Spark's)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.emulator.demo import DemoResult
from landing_pipeline.emulator.report import to_json
from tests.emulator.conftest import assert_group_order, assert_nothing_lost, by_key, demo, explain

pytestmark = pytest.mark.slow


def test_held_design_runs_each_group_in_order_and_groups_in_parallel(held_result: DemoResult) -> None:
    files = by_key(held_result)
    assert {f["status"] for f in files.values()} == {"SUCCEEDED"}
    assert_group_order(held_result)
    summary = held_result.report["summary"]
    assert summary["overlapping_runs"] == 0 and summary["ordering_violations"] == 0
    # Parallelism is observed, not assumed: two groups had runs going at the same moment, and never more than
    # the stack allows (dev: maxParallelGroups 2).
    assert summary["max_parallel_groups"] == 2
    first, customers = files["orders_20250915_101500.csv"]["runs"][0], files["customers_20250915_102000.csv"]["runs"][0]
    assert customers["start"] < first["end"] and first["start"] < customers["end"]
    # The second orders file landed while the first ran, and waited for it.
    second = files["orders_20250915_103000.csv"]["runs"][0]
    assert second["start"] >= first["end"]


def test_json_is_exactly_the_documented_format(held_result: DemoResult) -> None:
    document = json.loads(json.dumps(to_json(held_result.report)))
    assert set(document) == {"files", "summary"}
    assert set(document["summary"]) == {"files", "succeeded", "dead", "ignored", "taken_in", "duplicates_suppressed",
                                        "overlapping_runs", "ordering_violations", "late", "max_parallel_groups",
                                        "max_handoff_s", "reconciler_passes", "wall_s"}
    for file in document["files"]:
        # the sleep engine writes no manifest, so no rows or output locations (see test_demo_data for Spark's)
        assert set(file) == {"key", "file_id", "group", "feed", "table", "status", "reason", "attempts",
                             "enqueue_seq", "late", "runs", "rows"}
        assert file["table"] is None   # no output written, so no table holds it
        assert file["feed"] == file["key"].rsplit("/", 1)[-1].split("_", 1)[0]   # the dev stack's two feeds
        assert file["rows"] is None
        for run in file["runs"]:
            failed = {"error"} if run["state"] != "SUCCEEDED" else set()
            batched = {"batch"} if "batch" in run else set()
            assert set(run) == {"run_id", "start", "end", "state"} | failed | batched
            if batched:   # a file of a batch run (batchMaxFiles 10, the default): its stretch, then the Glue run
                assert set(run["batch"]) == {"run_id", "place", "files", "start", "end", "state"}
                assert run["run_id"] == f"{run['batch']['run_id']}/{run['batch']['place']}"
                assert run["batch"]["start"] <= run["start"] <= run["end"] <= run["batch"]["end"]
    assert document["summary"]["files"] == len(document["files"]) == 6
    assert any("batch" in run for file in document["files"] for run in file["runs"]), "the demo ran no batch"


def test_seed_design_lets_runs_of_one_group_overlap() -> None:
    result = demo(design="seed", virtual_time=True)   # the overlap comes from the design, not the load
    assert result.report["summary"]["overlapping_runs"] > 0  # the test can see overlaps when they happen
    overlapping_groups = set()
    for file in result.report["files"]:
        for other in result.report["files"]:
            if file is other or file["group"] != other["group"]:
                continue
            for a in file["runs"]:
                for b in other["runs"]:
                    if a["start"] < b["end"] and b["start"] < a["end"]:
                        overlapping_groups.add(file["group"])
    assert overlapping_groups


FAULTS = [
    "duplicate-event:orders_20250915_103000*:2",
    "fail-run:orders_20250915_101500*:2",
    "timeout-run:customers_*",
    "throttle:orders_20250915_103000*:3",
    "crash-after-start:orders_20250916_090000*",
    "lose-completion:orders_20250915_101500*",
    "malformed-event:orders_20250916_093000*",
    "delete-before-processing:orders_20250915_110000*",
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.split(":")[0] for f in FAULTS])
def test_every_fault_ends_with_nothing_lost(fault: str) -> None:
    result = demo(faults=(fault,))
    kind = fault.split(":")[0]
    assert result.faults_fired.get(kind), f"{kind} never fired"
    assert_nothing_lost(result)
    files = by_key(result)
    expectations: dict[str, Any] = {
        "duplicate-event": lambda: result.report["summary"]["duplicates_suppressed"] == 2,
        "fail-run": lambda: [r["state"] for r in files["orders_20250915_101500.csv"]["runs"]]
        == ["FAILED", "FAILED", "SUCCEEDED"],
        "timeout-run": lambda: [r["state"] for r in files["customers_20250915_102000.csv"]["runs"]]
        == ["TIMEOUT", "SUCCEEDED"],
        "throttle": lambda: len(files["orders_20250915_103000.csv"]["runs"]) == 1,
        "crash-after-start": lambda: len(files["orders_20250916_090000.csv"]["runs"]) == 1
        and any("crash" in e for e in result.function_errors),
        "lose-completion": lambda: len(files["orders_20250915_101500.csv"]["runs"]) == 1,
        # at least once: a router invocation that outlasts the intake queue's visibility parks the event again
        "malformed-event": lambda: files["orders_20250916_093000.csv"]["status"] == "SUCCEEDED"
        and result.dead_letters.get("intake_dlq") and all(
            "malformed event" in (m["attributes"].get("reason") or "") for m in result.dead_letters["intake_dlq"]),
        "delete-before-processing": lambda: files["orders_20250915_110000.csv"]["status"] == "DEAD"
        and "deleted" in files["orders_20250915_110000.csv"]["_reason"],
    }
    assert expectations[kind](), f"{kind}: {explain(result)}"
    if kind != "delete-before-processing":
        assert result.report["summary"]["succeeded"] == 6


def test_a_failed_file_dead_after_max_attempts_blocks_only_its_group_with_on_failure_block() -> None:
    result = demo(faults=("fail-run:orders_20250915_101500*:3",), overrides={"onFailure": "block"})
    files = by_key(result)
    dead = files["orders_20250915_101500.csv"]
    assert dead["status"] == "DEAD" and dead["attempts"] == 3 and "maxAttempts" in dead["_reason"], explain(result)
    # "Behind" means enqueued after it (routers run concurrently, so that is usually, not always, landing order).
    behind = [f for f in files.values() if f["group"] == dead["group"] and f["enqueue_seq"] > dead["enqueue_seq"]]
    assert behind, explain(result)
    for file in behind:
        assert file["runs"] == [], f"{file['key']} ran behind a dead file\n{explain(result)}"
        assert file["status"] in ("BLOCKED", "RECEIVED")
    ahead = [f for f in files.values() if f["group"] == dead["group"] and f["enqueue_seq"] < dead["enqueue_seq"]]
    for file in ahead:
        assert file["status"] == "SUCCEEDED"
    for other in ("customers_20250915_102000.csv", "orders_20250916_090000.csv", "orders_20250916_093000.csv"):
        assert files[other]["status"] == "SUCCEEDED"


def test_on_failure_continue_goes_on_past_a_dead_file() -> None:
    result = demo(faults=("fail-run:orders_20250915_101500*:3",))
    files = by_key(result)
    assert files["orders_20250915_101500.csv"]["status"] == "DEAD"
    assert files["orders_20250915_103000.csv"]["status"] == "SUCCEEDED"
    assert files["orders_20250915_110000.csv"]["status"] == "SUCCEEDED"
    assert_nothing_lost(result)
