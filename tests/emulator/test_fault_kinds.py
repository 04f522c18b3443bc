"""One deterministic test per ``--fault`` kind, each asserting the fault's observable effect (so it fails
without the behaviour it checks). Most live next to their mechanism; ``TESTED_BY`` names them and the audit
below fails when a kind has none, or its test is gone. The kinds with no test elsewhere are tested here."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator import strict
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import KINDS, FaultPlan, FunctionCrash
from landing_pipeline.emulator.strict_requests import operation
from tests.emulator.strict_support import ManualClock, deployed, glue_engine, start_run, wait_for

E2E = "test_end_to_end:test_every_fault_ends_with_nothing_lost"
"""The landing faults happen between S3 and the intake queue, inside a running pipeline: a demo tests them."""
TESTED_BY: dict[str, str] = {
    "duplicate-event": E2E,  # duplicates_suppressed == 2 (slow)
    "fail-run": "test_glue_engine:test_injected_failures_and_lost_completions",
    "timeout-run": "test_fault_kinds:test_a_timed_out_run_ends_timeout_at_the_job_timeout_and_is_announced",
    "throttle": "test_glue_engine:test_injected_failures_and_lost_completions",
    "crash-after-start": "test_fault_kinds:test_crash_after_start_kills_the_caller_after_glue_accepted_the_run",
    "lose-completion": "test_glue_engine:test_injected_failures_and_lost_completions",
    "malformed-event": E2E,  # the malformed events are in the intake DLQ with their reason (slow)
    "delete-before-processing": E2E,  # the file is DEAD, "deleted" (slow)
    "ambiguous-start": "test_strict_lost_answers:test_a_start_whose_answer_is_lost_is_retried_by_botocore_and_glue"
                       "_records_two_runs",
    "ambiguous-send": "test_strict_lost_answers:test_lost_answers_of_sends_and_conditional_writes",
    "ambiguous-delete": "test_fault_kinds:test_a_lost_delete_answer_is_retried_and_the_message_deleted_once",
    "ambiguous-visibility": "test_fault_kinds:test_a_lost_visibility_answer_is_retried_with_the_same_handle",
    "ambiguous-write": "test_strict_lost_answers:test_lost_answers_of_sends_and_conditional_writes",
    "duplicate-delivery": "test_strict_lambda:test_a_duplicate_delivery_runs_a_second_invocation_before_the_first_s"
                          "_nth_call",
    "delay-event": "test_strict_events:test_a_delayed_event_is_overtaken_and_a_repeated_one_arrives_again_after_"
                   "five_minutes",
    "repeat-event": "test_strict_events:test_a_delayed_event_is_overtaken_and_a_repeated_one_arrives_again_after_"
                    "five_minutes",
    "lose-glue-event": "test_strict_glue:test_a_lost_glue_event_never_arrives",
    "delay-glue-event": "test_strict_glue:test_a_delayed_glue_event_arrives_late",
    "duplicate-glue-event": "test_strict_glue:test_a_duplicated_glue_event_arrives_twice",
    "capacity-fail": "test_strict_glue:test_a_capacity_failure_ends_failed_with_glue_s_message_and_is_announced",
    "expire-run": "test_strict_glue:test_an_expired_run_ends_expired_without_an_event",
    "crash-in": "test_strict_lambda:test_crash_in_kills_the_handler_just_before_its_nth_aws_call",
    "slow-handler": "test_strict_lambda:test_a_handler_past_its_timeout_is_killed_at_its_next_aws_call",
    "gsi-lag": "test_fault_kinds:test_the_gsi_lag_fault_makes_index_reads_lag_and_leaves_table_reads_exact",
}


def test_every_fault_kind_has_a_test_of_its_effect() -> None:
    assert set(TESTED_BY) == set(KINDS), f"kinds without a test: {sorted(set(KINDS) - set(TESTED_BY))}"
    for kind, where in TESTED_BY.items():
        module_name, function = where.split(":")
        module = importlib.import_module(f"tests.emulator.{module_name}")
        assert callable(getattr(module, function, None)), f"{kind}: {where} does not exist"
        if where == E2E:
            assert any(fault.split(":")[0] == kind for fault in module.FAULTS), f"{kind}: not among {where}'s faults"


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    yield from deployed()


def _served(aws: InProcessAWS) -> list[str]:
    """The operations moto serves, attempt by attempt (an innermost request hook: it sees botocore's retries)."""
    served: list[str] = []

    def hook(request: Any, serve: Any) -> Any:
        served.append(operation(request))
        return serve(request)

    aws.request_hooks.append(hook)
    return served


def _depth(aws: InProcessAWS, url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_lost_delete_answer_is_retried_and_the_message_deleted_once(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    layer = strict.install(aws, FaultPlan.parse(["ambiguous-delete:a.csv"]))
    try:
        served = _served(aws)
        sqs, intake = aws.handler_client("sqs"), deployment.queues["intake"]
        for name in ("a.csv", "b.csv"):
            sqs.send_message(QueueUrl=intake, MessageBody=json.dumps({"key": f"landing/{name}"}))
        for message in sqs.receive_message(QueueUrl=intake, MaxNumberOfMessages=10)["Messages"]:
            sqs.delete_message(QueueUrl=intake, ReceiptHandle=message["ReceiptHandle"])  # no error: retried inside
        assert served.count("DeleteMessage") == 3  # a.csv's delete took effect, lost its answer and was sent again
        assert [(op, key) for _, op, key in layer.lost_answers.log] == [("DeleteMessage", "landing/a.csv")]
        assert _depth(aws, intake) == 0
    finally:
        layer.uninstall(aws)


def test_a_lost_visibility_answer_is_retried_with_the_same_handle(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    layer = strict.install(aws, FaultPlan.parse(["ambiguous-visibility:a.csv"]))
    try:
        served = _served(aws)
        sqs, ordered = aws.handler_client("sqs"), deployment.queues["ordered"]
        sqs.send_message(QueueUrl=ordered, MessageBody=json.dumps({"key": "landing/a.csv"}), MessageGroupId="g",
                         MessageDeduplicationId="a")
        handle = sqs.receive_message(QueueUrl=ordered)["Messages"][0]["ReceiptHandle"]
        sqs.change_message_visibility(QueueUrl=ordered, ReceiptHandle=handle, VisibilityTimeout=3600)
        assert served.count("ChangeMessageVisibility") == 2  # the change took effect; botocore sent it again
        assert [(op, key) for _, op, key in layer.lost_answers.log] == [("ChangeMessageVisibility", "landing/a.csv")]
        assert sqs.receive_message(QueueUrl=ordered).get("Messages") is None  # held by the change
        sqs.delete_message(QueueUrl=ordered, ReceiptHandle=handle)  # the handle is still the current one
        assert _depth(aws, ordered) == 0
    finally:
        layer.uninstall(aws)


def test_the_gsi_lag_fault_makes_index_reads_lag_and_leaves_table_reads_exact() -> None:
    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as aws:
        layer = strict.install(aws, FaultPlan.parse(["gsi-lag:30"]))
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "g": {"S": "x"}})
        query = {"TableName": "t", "IndexName": "by_g", "KeyConditionExpression": "g = :g",
                 "ExpressionAttributeValues": {":g": {"S": "x"}}}
        assert dynamodb.query(**query)["Items"] == [] and dynamodb.scan(TableName="t", IndexName="by_g")["Items"] == []
        assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True).get("Item")
        clock.advance(31)
        assert len(dynamodb.query(**query)["Items"]) == 1
        assert layer.gsi is not None and layer.gsi.lagged_queries == 2
        layer.uninstall(aws)


def test_a_timed_out_run_ends_timeout_at_the_job_timeout_and_is_announced() -> None:
    stack = deployed(speedup=2000.0)  # the dev job's 30-minute timeout in about a wall second
    aws, deployment = next(stack)
    engine, recorder, stop = glue_engine(aws, deployment, FaultPlan.parse(["timeout-run:a.csv"]), run_s=10.0)
    try:
        run_id = start_run(aws.client("glue"), deployment, "landing/a.csv")
        assert wait_for(lambda: recorder.runs[run_id].end is not None, wall_s=30)
        run = recorder.runs[run_id]
        assert run.state == "TIMEOUT" and run.end is not None and run.end - run.start >= engine.timeout_s
        state = aws.client("glue").get_job_run(JobName=deployment.job_name, RunId=run_id)["JobRun"]["JobRunState"]
        assert state == "TIMEOUT"
        completion = deployment.queues["completion"]
        assert wait_for(lambda: _depth(aws, completion) == 1)
        body = aws.client("sqs").receive_message(QueueUrl=completion)["Messages"][0]["Body"]
        assert json.loads(body)["detail"]["state"] == "TIMEOUT"
    finally:
        stop.set()
        engine.shutdown()
        engine.uninstall()
        stack.close()


def test_crash_after_start_kills_the_caller_after_glue_accepted_the_run(
        stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    engine, recorder, stop = glue_engine(aws, deployment, FaultPlan.parse(["crash-after-start:a.csv"]))
    try:
        with pytest.raises(FunctionCrash, match="right after starting run"):
            start_run(aws.client("glue"), deployment, "landing/a.csv")
        runs = [run for run in recorder.snapshot_runs() if run.key == "landing/a.csv"]
        assert len(runs) == 1  # Glue's own log has the run its caller never heard of
        start_run(aws.client("glue"), deployment, "landing/a.csv")  # once: the next start answers
    finally:
        stop.set()
        engine.shutdown()
        engine.uninstall()
