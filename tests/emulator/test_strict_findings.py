"""The review's findings F1-F5 (design-v2.md), reproduced through the real handlers by the strict layer.
Each checks the invariant the v2 core restores, from the Glue engine's own run log (the demo report's runs),
the landing order and the queues, never from the ledger. On the v1 runtime each failed (they were strict
expected failures naming their finding); on v2 they pass."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator import strict, workload
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.runtime.context import RuntimeContext
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


def test_f1_a_lost_start_answer_starts_one_run() -> None:
    result = demo(faults=(f"ambiguous-start:{FIRST}",), overrides={"maxParallelGroups": 6})  # slots to spare
    assert result.faults_fired.get("ambiguous-start") == 1, explain(result)
    _one_run_at_a_time(by_key(result), FIRST)


def test_f2_a_duplicate_delivery_starts_one_run() -> None:
    # the dispatcher's 4th AWS call is its StartJobRun (GetItem, HeadObject, UpdateItem before it): the
    # duplicate runs to its end between the first invocation's intent and its start. Glue slots to spare, so
    # neither start is refused because another group's file happened to start first.
    result = demo(faults=(f"duplicate-delivery:{FIRST}:4",), overrides={"maxParallelGroups": 6})
    assert result.faults_fired.get("duplicate-delivery"), explain(result)
    _one_run_at_a_time(by_key(result), FIRST)


def test_f3_a_group_runs_in_landing_order_when_an_event_is_late() -> None:
    # lands at 0, announced at 75: after SECOND (landed at 60) was recorded, before SECOND is settleSeconds
    # (120) old; a delay past the settle window makes it late instead (tests/emulator/test_v2_order.py). The
    # wide window keeps the test about order, not about how punctually a loaded machine uploads.
    result = demo(faults=(f"delay-event:{FIRST}:75",), overrides={"settleSeconds": 120})
    files = by_key(result)
    assert LANDED[FIRST] < LANDED[SECOND] and files[FIRST]["group"] == files[SECOND]["group"]
    assert files[FIRST]["runs"] and files[SECOND]["runs"], explain(result)
    assert files[FIRST]["runs"][0]["start"] < files[SECOND]["runs"][0]["start"], explain(result)


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


def test_f5_a_file_dead_again_after_a_redrive_is_parked_again(stack: tuple[InProcessAWS, Deployment]) -> None:
    """A file dies, is redriven by the operator, and dies again within SQS's 5-minute dedup window: the
    second death must reach the dead-files queue too (its dedup id is unique to the death)."""
    from landing_pipeline.runtime.acting import carry_out, policy
    from landing_pipeline.runtime.decide import Caller, decide
    from landing_pipeline.runtime.group_state import OpenFile
    from landing_pipeline.runtime.ledger import Lineage
    from landing_pipeline.runtime.ledger_items import file_key

    aws, deployment = stack
    layer = strict.install(aws, FaultPlan())
    try:
        clients = {service: aws.handler_client(service) for service in ("sqs", "glue", "dynamodb", "s3")}
        ctx = RuntimeContext.from_env(deployment.environment, clients=clients, clock=aws.clock.epoch)
        key, group, queue = deployment.spec.key_prefix + FIRST, "orders", (
            deployment.queues.get("dead_files") or deployment.queues["ordered_dlq"])
        recorded = ctx.ledger.record_file(group, OpenFile("f#0001\x1ff5", "f5", ctx.now() - 60), Lineage(
            deployment.landing_bucket, key), wake_check_s=300)
        assert recorded.created
        sqs = aws.client("sqs")
        for death in (1, 2):
            # maxAttempts failed runs of the file (the ledger's attempts, as three completions leave them)
            view = ctx.ledger.load_group(group)
            attempts = view.files[0].attempt_base + deployment.spec.max_attempts
            aws.client("dynamodb").update_item(
                TableName=deployment.ledger_table, Key=file_key(group, view.files[0].sort_key),
                UpdateExpression="SET attempts = :a, #s = :f", ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":a": {"N": str(attempts)}, ":f": {"S": "FAILED"}})
            view = ctx.ledger.load_group(group)
            d = decide(view.group, view.files, ctx.now(), policy(ctx), caller=Caller.RECONCILER)
            assert carry_out(ctx, view, d).value == "ok" and len(d.announce) == 1, d
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages") or []
            assert len(messages) == 1, f"death {death}: the queue holds {len(messages)} messages, not the dead file"
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
            if death == 1:   # the operator's redrive, a minute later: well inside the 5-minute dedup window
                assert ctx.ledger.redrive("f5") is not None
    finally:
        layer.uninstall(aws)
