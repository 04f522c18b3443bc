"""Answers lost after the call took effect: the handler's own client (the runtime's retry configuration)
retries by itself. On moto alone every call answers, so each of these sees one effect, not two."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from landing_pipeline.emulator import strict
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from tests.emulator.strict_support import deployed, glue_engine, start_run


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    yield from deployed()


def test_handler_clients_retry_as_the_runtime_s_own_clients_do(stack: tuple[InProcessAWS, Deployment],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from landing_pipeline.runtime.context import _default_client_factory

    aws, _ = stack
    monkeypatch.setenv("AWS_DEFAULT_REGION", aws.region)
    for service in ("glue", "sqs", "dynamodb"):
        runtime = _default_client_factory(service).meta.config
        handler = aws.handler_client(service).meta.config
        assert handler.retries == runtime.retries == {"mode": "standard", "total_max_attempts": 5}
        assert (handler.read_timeout, handler.connect_timeout) == (runtime.read_timeout, runtime.connect_timeout)


def test_a_start_whose_answer_is_lost_is_retried_by_botocore_and_glue_records_two_runs(
        stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    faults = FaultPlan.parse(["ambiguous-start:landing/orders_1.csv"])
    layer = strict.install(aws, faults)
    engine, recorder, stop = glue_engine(aws, deployment, faults)
    try:
        run_id = start_run(aws.handler_client("glue"), deployment, "landing/orders_1.csv")  # one call, no error
        runs = [r for r in recorder.snapshot_runs() if r.key == "landing/orders_1.csv"]
        assert len(runs) == 2, runs  # the Glue engine's own log: the lost start and botocore's retry
        assert run_id == runs[1].run_id
        assert [op for _, op, _ in layer.lost_answers.log] == ["StartJobRun"]
    finally:
        stop.set()
        engine.shutdown()
        engine.uninstall()
        layer.uninstall(aws)


def test_lost_answers_of_sends_and_conditional_writes(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    layer = strict.install(aws, FaultPlan.parse(["ambiguous-send:a.csv", "ambiguous-write:a.csv"]))
    try:
        sqs, dynamodb = aws.handler_client("sqs"), aws.handler_client("dynamodb")
        intake = deployment.queues["intake"]
        sqs.send_message(QueueUrl=intake, MessageBody=json.dumps({"key": "landing/a.csv"}))
        bodies = []
        for _ in range(3):
            for message in sqs.receive_message(QueueUrl=intake, MaxNumberOfMessages=10).get("Messages") or []:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=intake, ReceiptHandle=message["ReceiptHandle"])
        assert len(bodies) == 2  # a standard queue keeps the retry's copy too
        table = deployment.environment["LANDING_LEDGER_TABLE"]
        item = {"pk": {"S": "id#a"}, "sk": {"S": "#file"}, "key": {"S": "landing/a.csv"}, "status": {"S": "RECEIVED"}}
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            # the first attempt wrote the item; its 500 made botocore retry, and the retry finds it there
            dynamodb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        key = {"pk": item["pk"], "sk": item["sk"]}
        assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == item
        assert [op for _, op, _ in layer.lost_answers.log] == ["SendMessage", "PutItem"]
    finally:
        layer.uninstall(aws)
