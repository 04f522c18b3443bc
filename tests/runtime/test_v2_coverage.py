"""Behaviour the v1 tests covered and the v2 protocol keeps, through the real handlers on moto: a refused
start (throttling, no free Glue slot) costs no attempt and the group comes back; a Glue run this pipeline did
not start changes nothing; a malformed wake-up is parked in the ordered DLQ with its reason; and the job's
fencing: of two runs carrying one lease, only the one that claimed it commits its file or ends the lease."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.runtime.group_state import Phase
from landing_pipeline.runtime.jobs.fencing import Fence
from landing_pipeline.runtime.order import file_id_of
from tests.runtime.conftest import Pipeline, sqs_event
from tests.runtime.test_v2_flow import FIRST, SECOND, land_at, run_of, started_keys


@pytest.fixture
def p(make_pipeline: Any, runs_stay_running: None) -> Pipeline:
    return make_pipeline(settle_seconds=0)


def _group(p: Pipeline, key: str) -> Any:
    record = p.ctx.ledger.get(p.file_id_of(key))
    assert record is not None
    group = p.ctx.ledger.get_group(record.group)
    assert group is not None
    return group


def test_a_throttled_start_backs_off_without_an_attempt_and_starts_later(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.glue.refuse_next = ["ThrottlingException"]
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    assert started_keys(p) == [] and _group(p, FIRST).state == Phase.BACKOFF
    record = p.ctx.ledger.get(p.file_id_of(FIRST))
    assert record is not None and record.attempts == 0   # Glue's request rate is not the file's failure
    p.tick(61)
    p.dispatch_all()
    assert started_keys(p) == [FIRST]


def test_concurrent_runs_exceeded_waits_for_a_slot_and_the_reconciler_wakes_it(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.glue.refuse_next = ["ConcurrentRunsExceededException"]
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    group = _group(p, FIRST)
    assert started_keys(p) == [] and group.state == Phase.WAITING_FOR_SLOT
    assert [g for _, g in p.ctx.ledger.waiters(5)] == [group.group]
    p.tick(400)
    p.reconcile()          # the slot counter says a slot is free: the longest waiter is woken
    p.dispatch_all()
    assert started_keys(p) == [FIRST] and p.ctx.ledger.waiters(5) == []


def test_a_run_the_pipeline_did_not_start_changes_nothing(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    before = _group(p, FIRST)
    by_hand = p.ctx.glue.start_job_run(JobName=p.ctx.job_name, Arguments={"--input_uri": "s3://x/y.csv"})["JobRunId"]
    response = p.complete(by_hand, "FAILED", "someone's test run")
    assert response["batchItemFailures"] == []
    after = _group(p, FIRST)
    assert after.state == Phase.RUNNING and after.token == before.token and after.version == before.version


def test_a_malformed_wakeup_is_parked_in_the_ordered_dlq_with_its_reason(p: Pipeline) -> None:
    from landing_pipeline.runtime import dispatcher

    response = dispatcher.process_event(p.ctx, sqs_event(["{not json", json.dumps({"file_id": "v1 message"})]))
    assert response["batchItemFailures"] == []   # retrying cannot help: parked, not failed
    messages = p.receive(p.ctx.ordered_dlq_url, max_messages=10)
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in messages)
    assert len(reasons) == 2 and all(r.startswith("malformed wake-up: ") for r in reasons), reasons
    assert any("not JSON" in r for r in reasons) and any("no 'group'" in r for r in reasons)


def test_of_two_runs_of_one_lease_only_the_claiming_run_commits_and_ends_it(p: Pipeline) -> None:
    p.clock.t = 1_757_931_400.0
    p.route(land_at(p, FIRST, "2025-09-15T10:15:00Z"), land_at(p, SECOND, "2025-09-15T10:15:01Z"))
    p.dispatch_all()
    group = _group(p, FIRST)
    first = run_of(p, FIRST)
    # a restart with the same token (its first start's answer was lost, and it had in fact started)
    second = p.ctx.glue.start_job_run(JobName=p.ctx.job_name, Arguments=p.glue.starts[0])["JobRunId"]
    winner = Fence(p.ctx.ledger, group.group, str(group.token), second, group.lease_keys)
    loser = Fence(p.ctx.ledger, group.group, str(group.token), first, group.lease_keys)
    assert winner.claim() and winner.claim()   # idempotent for the claiming run
    assert not loser.claim() and not loser.commit(None)
    assert p.ctx.ledger.get(file_id_of(group.lease_keys[0])).status == "RECEIVED"  # type: ignore[union-attr]
    p.complete(first)                          # the fenced run ends: not the lease's end
    assert _group(p, FIRST).token == group.token and SECOND not in started_keys(p)
    assert winner.commit("s3://out/processed/")
    assert p.ctx.ledger.get(file_id_of(group.lease_keys[0])).status == "SUCCEEDED"  # type: ignore[union-attr]
    p.complete(second)
    p.dispatch_all()
    assert started_keys(p)[-1] == SECOND
