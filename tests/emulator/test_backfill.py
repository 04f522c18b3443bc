"""``landing backfill`` against the emulated stack: files put into the landing bucket before the pipeline took
events, brought in through the intake queue. "Once" and "in order" are judged from the Glue engine's run log and
the landing log (what was put, in which order), never from the ledger or the backfill's own counts."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.demo import DemoOptions, DemoResult, run_demo
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.observe import per_file
from landing_pipeline.emulator.workload import Arrival
from landing_pipeline.runtime.events import dedup_id
from tests.emulator.conftest import FAST, explain

ORDERS = b"order_id,customer_id,amount,order_ts\n1,c1,9.5,2025-09-15T10:00:00Z\n"


def pre_existing(groups: int, per_group: int) -> list[Arrival]:
    """``per_group`` files in each of ``groups`` groups (orders_ and customers_ days), interleaved across groups
    as a day's landings would be; within a group the names sort in landing order."""
    days = [f"{feed}_202509{day:02d}" for day in range(1, groups // 2 + 2) for feed in ("orders", "customers")]
    return [Arrival(0.0, f"{days[g]}_{10 + i // 60:02d}{i % 60:02d}00.csv", ORDERS)
            for i in range(per_group) for g in range(groups)]


def backfilled(arrivals: list[Arrival], again: bool = True) -> DemoResult:
    """The demo with ``--backfill``; with ``again``, a second backfill once the pipeline is quiet."""
    seconds: list[Any] = []

    def backfill_again(aws: InProcessAWS, deployment: Deployment, turn: int) -> list[str]:
        from landing_pipeline.emulator.backfill import backfill

        if turn > 1 or not again:
            return []
        seconds.append(backfill(aws, deployment))
        return [f"second backfill: {seconds[-1].submitted} submitted"]

    overrides = {**FAST, "maxParallelGroups": min(50, len(arrivals))}   # 50 groups at once: moto is the bottleneck
    result = run_demo(DemoOptions(stack="dev", engine="sleep", overrides=overrides, virtual_time=True, backfill=True,
                                  arrivals=arrivals, operator=backfill_again, timeout_s=900))
    assert result.quiet, f"the pipeline never went quiet\n{explain(result)}"
    result.backfills += seconds
    return result


def glue_runs_by_file(result: DemoResult) -> dict[str, list[Any]]:
    runs: dict[str, list[Any]] = defaultdict(list)
    for run in per_file(result.recorder.snapshot_runs()):
        if not run.fenced:
            runs[run.file_id].append(run)
    return runs


def check_once_and_in_order(result: DemoResult) -> None:
    assert result.recorder is not None
    uploads = result.recorder.uploads
    runs = glue_runs_by_file(result)
    landed_ids = set()
    for upload in uploads:
        file_id = dedup_id(result.landing_bucket, upload.key, upload.version_id, upload.etag)
        landed_ids.add(file_id)
        states = Counter(run.state for run in runs.get(file_id, []))
        assert states == {"SUCCEEDED": 1}, f"{upload.key} ran {dict(states)}\n{explain(result)}"
    assert set(runs) <= landed_ids, "Glue ran a file that never landed"
    # in order: within a group, each file's successful run starts after the previous file's ended, following the
    # order the files were put (the landing log), which is also their key order
    by_group: dict[str, list[Any]] = defaultdict(list)
    for upload in uploads:
        file_id = dedup_id(result.landing_bucket, upload.key, upload.version_id, upload.etag)
        ok = next(run for run in runs[file_id] if run.state == "SUCCEEDED")
        by_group[ok.group].append(ok)
    for group, ordered in by_group.items():
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.end is not None and earlier.end <= later.start, (
                f"group {group}: {later.key} started at {later.start} before {earlier.key} ended at {earlier.end}")


def test_a_small_backfill_processes_pre_existing_files_once_and_a_second_one_none() -> None:
    arrivals = pre_existing(groups=4, per_group=3)
    result = backfilled(arrivals)
    assert result.recorder is not None and len(result.recorder.uploads) == 12
    first, second = result.backfills
    assert first.submitted == 12 and first.known == 0
    assert len(first.shape.groups) == 4 and set(first.shape.feeds) == {"orders", "customers"}
    check_once_and_in_order(result)   # each file ran exactly once, though the second backfill sent all 12 again
    assert second.submitted == 12 and second.known == 12
    assert {f["status"] for f in result.report["files"]} == {"SUCCEEDED"}


@pytest.mark.slow
def test_backfill_of_1000_files_in_50_groups_runs_each_once_in_order_and_again_none() -> None:
    arrivals = pre_existing(groups=50, per_group=20)
    assert len(arrivals) == 1000 and len({a.name.rsplit("_", 1)[0] for a in arrivals}) == 50
    result = backfilled(arrivals)
    first, second = result.backfills
    assert first.submitted == 1000 and len(first.shape.groups) == 50
    check_once_and_in_order(result)   # includes: nothing ran twice, though the second backfill sent all 1,000 again
    assert second.submitted == 1000 and second.known == 1000
