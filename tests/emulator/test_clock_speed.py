"""What makes emulated requests cheap must not change any answer: moto's speedups against moto itself, and the
unsigned clients against signed ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.emulator import moto_speedups
from landing_pipeline.emulator.aws import InProcessAWS


@pytest.fixture()
def aws() -> Any:
    with InProcessAWS("eu-west-1") as started:
        yield started


def _table(aws: InProcessAWS) -> Any:
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    return ddb


def test_dynamodb_fast_answers_equal_motos_serialiser(aws: InProcessAWS) -> None:
    """Every DynamoDB answer of a varied session, written both ways: the same JSON document (moto orders
    keys by the output shape; botocore does not care), including binary values, sets and nested maps."""
    import moto.dynamodb.responses as responses

    fast_path = responses.DynamoResult.execute_result
    serialiser = responses.ActionResult.execute_result  # moto's own
    compared: list[str] = []

    def both(self: Any, context: Any) -> Any:
        real = serialiser(self, context)
        fast = moto_speedups.dynamodb_fast_answer(self.result, context.operation_model.output_shape)
        if fast is not None:
            assert (fast[0], fast[1]["Content-Type"]) == (real[0], real[1]["Content-Type"])
            assert json.loads(fast[2]) == json.loads(real[2])
            compared.append(context.operation_model.name)
        return real

    responses.DynamoResult.execute_result = both  # type: ignore[method-assign]
    try:
        ddb = _table(aws)
        item = {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xffbytes"}, "ss": {"SS": ["x", "y"]},
                "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}, {"NS": ["1", "2"]}]}}}}
        ddb.put_item(TableName="t", Item=item)
        ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
        ddb.update_item(TableName="t", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = n + :one",
                        ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
        ddb.query(TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})
        ddb.scan(TableName="t")
        ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}}, ReturnValues="ALL_OLD")
    finally:
        responses.DynamoResult.execute_result = fast_path  # type: ignore[method-assign]
    assert {"PutItem", "GetItem", "UpdateItem", "Query", "Scan", "DeleteItem"} <= set(compared)


def test_an_answer_the_fast_path_cannot_write_goes_to_motos_serialiser() -> None:
    from datetime import datetime

    from moto.core.utils import get_service_model

    model = get_service_model("dynamodb")
    describe, get = (model.operation_model(name).output_shape for name in ("DescribeTable", "GetItem"))
    assert moto_speedups.dynamodb_fast_answer({"Table": {"CreationDateTime": datetime(2025, 1, 1)}}, describe) is None
    assert moto_speedups.dynamodb_fast_answer({"Item": {"b": {"B": b"\x01"}}, "Extra": 1}, get) == (
        200, {"Content-Type": "application/x-amz-json-1.0"}, '{"Item": {"b": {"B": "AQ=="}}}')


def test_unsigned_clients_reach_the_same_account_and_region_and_errors_still_come_back(aws: InProcessAWS) -> None:
    for client in (aws.client("sqs"), aws.handler_client("sqs")):
        url = client.create_queue(QueueName=f"q{id(client)}")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn == f"arn:aws:sqs:eu-west-1:{aws.account_id}:q{id(client)}"
    ddb = _table(aws)
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="t", Item={"pk": {"S": "x"}}, ConditionExpression="attribute_exists(pk)")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="missing", Key={"pk": {"S": "x"}})


def test_moto_is_restored_after_the_emulator_stops() -> None:
    import jsonpath_ng.ext
    import moto.core.responses as responses
    import moto.dynamodb.responses as dynamodb_responses

    before = (responses.method_names_from_class, jsonpath_ng.ext.parse)
    with InProcessAWS("eu-west-1"):
        assert responses.method_names_from_class is not before[0]
        assert "execute_result" in vars(dynamodb_responses.DynamoResult)
    assert (responses.method_names_from_class, jsonpath_ng.ext.parse) == before
    assert "execute_result" not in vars(dynamodb_responses.DynamoResult)


def test_a_long_poll_answers_at_once_on_a_virtual_clock() -> None:
    """moto would long-poll holding the emulator's lock (no message can arrive meanwhile), and on a virtual clock
    its pipeline-time loop would never end: the operator's DLQ scan hung a chaos sweep that way."""
    import time

    from landing_pipeline.emulator.virtual_clock import VirtualClock

    with InProcessAWS("eu-west-1", VirtualClock()) as aws:
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName="empty")["QueueUrl"]
        started = time.monotonic()
        assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages")
        assert time.monotonic() - started < 5.0
