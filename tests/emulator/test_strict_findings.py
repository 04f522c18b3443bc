"""The review's findings F1-F5 (design-v2.md), reproduced on today's runtime through the real handlers by
the strict layer. Each checks the invariant the v2 core restores, from the Glue engine's own run log (the
demo report's runs) and the landing order, never from the ledger; each is an expected failure naming its
finding until the v2 core lands and turns it into a pass (strict: an unexpected pass fails CI)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator import strict, workload
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from tests.emulator.conftest import by_key, demo, explain
from tests.emulator.strict_support import deployed

pytestmark = pytest.mark.slow
FIRST, SECOND = "orders_20250915_101500.csv", "orders_20250915_103000.csv"
LANDED = {arrival.name: arrival.at for arrival in workload.builtin()}


def _one_run_at_a_time(files: dict[str, dict[str, Any]], name: str) -> None:
    """The file ran once, and no two runs of its group overlapped."""
    assert len(files[name]["runs"]) == 1, f"{name} ran {len(files[name]['runs'])} times"
    group = [run for f in files.values() if f["group"] == files[name]["group"] for run in f["runs"]]
    for a, b in itertools.combinations(group, 2):
        assert not (a["start"] < (b["end"] or 1e18) and b["start"] < (a["end"] or 1e18)), f"overlap: {a} {b}"


@pytest.mark.xfail(strict=True, reason="F1: a StartJobRun whose answer is lost is retried by boto3 and starts "
                                       "a second run of the file")
def test_f1_a_lost_start_answer_starts_one_run() -> None:
    result = demo(faults=(f"ambiguous-start:{FIRST}",), overrides={"maxParallelGroups": 6})  # slots to spare
    assert result.faults_fired.get("ambiguous-start") == 1, explain(result)
    _one_run_at_a_time(by_key(result), FIRST)


@pytest.mark.xfail(strict=True, reason="F2: a duplicate invocation of the dispatcher finds the file STARTING, "
                                       "takes it for a dead predecessor and starts another run")
def test_f2_a_duplicate_delivery_starts_one_run() -> None:
    # the dispatcher's 4th AWS call is its StartJobRun (GetItem, HeadObject, UpdateItem before it): the
    # duplicate runs to its end between the first invocation's intent and its start. Glue slots to spare, so
    # neither start is refused because another group's file happened to start first.
    result = demo(faults=(f"duplicate-delivery:{FIRST}:4",), overrides={"maxParallelGroups": 6})
    assert result.faults_fired.get("duplicate-delivery"), explain(result)
    _one_run_at_a_time(by_key(result), FIRST)


@pytest.mark.xfail(strict=True, reason="F3: files of one group run in the order the routers sent them, not "
                                       "the order they landed")
def test_f3_a_group_runs_in_landing_order_when_an_event_is_late() -> None:
    result = demo(faults=(f"delay-event:{FIRST}:90",))  # lands at 0, announced after SECOND landed (60)
    files = by_key(result)
    assert LANDED[FIRST] < LANDED[SECOND] and files[FIRST]["group"] == files[SECOND]["group"]
    assert files[FIRST]["runs"] and files[SECOND]["runs"], explain(result)
    assert files[FIRST]["runs"][0]["start"] < files[SECOND]["runs"][0]["start"], explain(result)


@pytest.mark.xfail(strict=True, reason="F4: under onFailure block, the group's next file runs past a file that "
                                       "just went DEAD (the block check reads an eventually consistent GSI)")
def test_f4_block_holds_the_group_behind_a_dead_file_when_the_index_lags() -> None:
    result = demo(faults=(f"fail-run:{FIRST}:3", "gsi-lag:600"), overrides={"onFailure": "block"})
    files = by_key(result)
    assert [r["state"] for r in files[FIRST]["runs"]] == ["FAILED"] * 3, explain(result)
    behind = [name for name, f in files.items() if f["group"] == files[FIRST]["group"] and LANDED[name] > LANDED[FIRST]]
    assert behind
    for name in behind:
        assert files[name]["runs"] == [], f"{name} ran behind the DEAD {FIRST}\n{explain(result)}"


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    yield from deployed()


@pytest.mark.xfail(strict=True, reason="F5: a file redriven and dead again within 5 minutes never reaches the "
                                       "DLQ (the park reuses the file id as FIFO dedup id)")
def test_f5_a_file_dead_again_after_a_redrive_is_parked_again(stack: tuple[InProcessAWS, Deployment]) -> None:
    from landing_pipeline.cli.ops_actions import redrive
    from landing_pipeline.runtime.context import RuntimeContext
    from landing_pipeline.runtime.ledger import FileRecord, iso, sequence
    from landing_pipeline.runtime.outcomes import park

    aws, deployment = stack
    layer = strict.install(aws, FaultPlan())
    try:
        clients = {service: aws.handler_client(service) for service in ("sqs", "glue", "dynamodb", "s3")}
        ctx = RuntimeContext.from_env(deployment.environment, clients=clients, clock=aws.clock.epoch)
        now = ctx.now()
        _record, _ = ctx.ledger.record_received(FileRecord(
            file_id="f5", bucket=deployment.landing_bucket, key=deployment.spec.key_prefix + FIRST, group="orders",
            etag="e", version_id=None, size=1, received_at=iso(now), received_seq=sequence(now, "f5"),
            enqueue_seq=sequence(now, "f5")))
        dlq = deployment.queues["ordered_dlq"]
        for death in (1, 2):  # the runtime's own park, as the completion handler calls it
            dead = ctx.ledger.record_dead("f5", f"max_attempts used up (death {death})")
            assert dead is not None
            park(ctx, dead, dead.last_error or "DEAD")
            depth = int(aws.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=[
                "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
            assert depth == 1, f"death {death}: the DLQ holds {depth} messages, the dead file is not there"
            if death == 1:
                moved, problems = redrive(ctx)  # the operator's redrive (landing redrive), a minute later
                assert len(moved) == 1 and not problems
                aws.clock.sleep(0)
    finally:
        layer.uninstall(aws)
