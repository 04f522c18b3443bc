"""Batches through the real handlers on moto: one StartJobRun names a group's waiting files in order (inline, or
in an object in the output bucket when the list is long); the job's per-file commits, then the completion handler
or the reconciler, settle each file. What was started is read from Glue's own record (``p.glue.starts``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.cli.ops_status import group_status
from landing_pipeline.runtime.contract import (
    BATCH_ARG,
    BATCH_URI_ARG,
    RUN_MANIFEST_URI_ARG,
    RUN_TOKEN_ARG,
    SORT_KEYS_ARG,
    SOURCE_KEY_ARG,
)
from landing_pipeline.runtime.jobs.fencing import Fence
from tests.runtime.conftest import OUTPUT, Pipeline
from tests.runtime.test_v2_flow import land_at, run_of

KEYS = [f"landing/orders_20250915_10150{n}.csv" for n in range(4)]


@pytest.fixture
def p(make_pipeline: Any, runs_stay_running: None) -> Pipeline:
    return make_pipeline(settle_seconds=0, batch_max_files=3)


def land_all(p: Pipeline, keys: list[str]) -> None:
    """Each key lands at the second its name says; routed in the order given."""
    p.clock.t = 1_757_931_400.0
    p.route(*(land_at(p, key, f"2025-09-15T10:15:0{key[-5]}Z") for key in keys))


def batch_of(arguments: dict[str, str], p: Pipeline) -> list[dict[str, str]]:
    if BATCH_ARG in arguments:
        return list(json.loads(arguments[BATCH_ARG]))
    bucket, _, key = arguments[BATCH_URI_ARG].removeprefix("s3://").partition("/")
    return list(json.loads(p.ctx.s3.get_object(Bucket=bucket, Key=key)["Body"].read())["files"])


def fence_of(p: Pipeline, arguments: dict[str, str], run_id: str) -> Fence:
    group = p.ctx.ledger.get(p.file_id_of(KEYS[0]))
    assert group is not None
    return Fence(p.ctx.ledger, group.group, arguments[RUN_TOKEN_ARG], run_id,
                 tuple(json.loads(arguments[SORT_KEYS_ARG])))


def test_one_run_names_the_groups_earliest_files_in_order_and_the_next_run_takes_the_rest(p: Pipeline) -> None:
    land_all(p, list(reversed(KEYS)))
    p.dispatch_all()
    assert len(p.glue.starts) == 1
    arguments = p.glue.starts[0]
    assert arguments[SOURCE_KEY_ARG] == KEYS[0]                      # the head names the run
    assert [entry["source_key"] for entry in batch_of(arguments, p)] == KEYS[:3]
    assert arguments[RUN_MANIFEST_URI_ARG].startswith(f"s3://{OUTPUT}/runs/")
    run_id = run_of(p, KEYS[0])
    fence = fence_of(p, arguments, run_id)
    assert fence.claim() and fence.commit(None)                      # the job: every file done
    p.complete(run_id)
    p.dispatch_all()
    assert [a[SOURCE_KEY_ARG] for a in p.glue.starts] == [KEYS[0], KEYS[3]]
    assert BATCH_ARG not in p.glue.starts[1]                         # a run of one file: today's arguments


def test_a_failure_mid_batch_charges_the_file_it_stopped_on_and_the_rest_run_next_with_no_attempt(
        p: Pipeline) -> None:
    land_all(p, KEYS[:3])
    p.dispatch_all()
    arguments, run_id = p.glue.starts[0], run_of(p, KEYS[0])
    fence = fence_of(p, arguments, run_id)
    keys = json.loads(arguments[SORT_KEYS_ARG])
    assert fence.claim() and fence.commit_one(keys[0], p.file_id_of(KEYS[0]), None, 1, 3)
    group = p.ctx.ledger.get(p.file_id_of(KEYS[0]))
    assert group is not None
    shown = {row.key: (row.run_id, row.batch_position) for row in group_status(p.ctx.ledger, group.group).files}
    assert shown == {KEYS[0]: (run_id, "1/3"), KEYS[1]: (run_id, "2/3"), KEYS[2]: (run_id, "3/3")}  # landing status
    p.complete(run_id, "FAILED", f"cannot read s3://landing-zone/{KEYS[1]} as csv")
    records = {key: p.ctx.ledger.get(p.file_id_of(key)) for key in KEYS[:3]}
    assert [(r.status, r.attempts) for r in records.values() if r] == [("SUCCEEDED", 0), ("FAILED", 1),
                                                                       ("RECEIVED", 0)]
    assert records[KEYS[0]] is not None and records[KEYS[0]].batch_position == "1/3"


def test_a_batch_killed_at_the_timeout_found_by_the_reconciler_retries_that_file_alone(p: Pipeline) -> None:
    land_all(p, KEYS[:3])
    p.dispatch_all()
    arguments, run_id = p.glue.starts[0], run_of(p, KEYS[0])
    fence = fence_of(p, arguments, run_id)
    assert fence.claim() and fence.commit_one(json.loads(arguments[SORT_KEYS_ARG])[0], p.file_id_of(KEYS[0]),
                                              None, 1, 3)
    p.glue.end(run_id, "TIMEOUT", "Job run timed out")               # and its event is lost
    p.tick(600)
    p.reconcile()
    p.dispatch_all()
    assert [a[SOURCE_KEY_ARG] for a in p.glue.starts] == [KEYS[0], KEYS[1]]
    assert BATCH_ARG not in p.glue.starts[1] and BATCH_URI_ARG not in p.glue.starts[1]   # alone
    assert [p.ctx.ledger.get(p.file_id_of(k)).attempts for k in KEYS[1:3]] == [0, 0]  # type: ignore[union-attr]


def test_a_long_batch_list_goes_to_an_object_in_the_output_bucket(make_pipeline: Any,
                                                                  runs_stay_running: None) -> None:
    p = make_pipeline(settle_seconds=0, batch_max_files=25)
    long = [f"landing/{'x' * 200}/orders_20250915_1015{n:02d}.csv" for n in range(25)]
    p.clock.t = 1_757_931_400.0
    for n, key in enumerate(long):
        p.route(land_at(p, key, f"2025-09-15T10:15:{n:02d}Z"))
    p.dispatch_all()
    arguments = p.glue.starts[0]
    assert BATCH_ARG not in arguments and arguments[BATCH_URI_ARG].startswith(f"s3://{OUTPUT}/runs/")
    assert [entry["source_key"] for entry in batch_of(arguments, p)] == long
    assert sum(len(v) for v in arguments.values()) < 20_000
