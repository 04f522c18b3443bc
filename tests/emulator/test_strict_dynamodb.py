"""Strict DynamoDB: a GSI query sees the table as it was ``gsi-lag`` seconds ago; table reads stay exact.
Fails on moto alone, which updates indexes in the write itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.strict_dynamodb import GsiLag
from tests.emulator.strict_support import ManualClock

TABLE = "ledger"


@pytest.fixture
def aws() -> Iterator[tuple[Any, ManualClock, GsiLag]]:
    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as aws:
        lag = GsiLag(aws, 30)
        aws.request_hooks.append(lag)
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "group", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by_group", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "group", "KeyType": "HASH"}]}])
        yield dynamodb, clock, lag


def _by_group(dynamodb: Any) -> dict[str, str]:
    items = dynamodb.query(TableName=TABLE, IndexName="by_group", KeyConditionExpression="#g = :g",
                           ExpressionAttributeNames={"#g": "group"},
                           ExpressionAttributeValues={":g": {"S": "orders"}})["Items"]
    return {item["pk"]["S"]: item["status"]["S"] for item in items}


def test_a_gsi_query_lags_the_table_while_consistent_reads_are_exact(aws: tuple[Any, ManualClock, GsiLag]) -> None:
    dynamodb, clock, lag = aws
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "group": {"S": "orders"}, "status": {"S": "RUNNING"}})
    assert _by_group(dynamodb) == {}  # the put has not reached the index yet
    clock.advance(31)
    assert _by_group(dynamodb) == {"a": "RUNNING"}
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="SET #s = :dead",
                         ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":dead": {"S": "DEAD"}})
    clock.advance(10)
    assert _by_group(dynamodb) == {"a": "RUNNING"}  # what a block check reading the index would see
    exact = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert exact["status"]["S"] == "DEAD"
    clock.advance(21)
    assert _by_group(dynamodb) == {"a": "DEAD"}
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    assert _by_group(dynamodb) == {"a": "DEAD"}  # still in the index for a while
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert lag.lagged_queries == 3


def _scan(dynamodb: Any, **index: str) -> dict[str, str]:
    items = dynamodb.scan(TableName=TABLE, **index)["Items"]
    return {item["pk"]["S"]: item["status"]["S"] for item in items}


def test_a_gsi_scan_lags_the_table_as_a_query_does_while_a_table_scan_is_exact(
        aws: tuple[Any, ManualClock, GsiLag]) -> None:
    dynamodb, clock, lag = aws
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "group": {"S": "orders"}, "status": {"S": "RUNNING"}})
    clock.advance(31)
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="SET #s = :dead",
                         ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":dead": {"S": "DEAD"}})
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "group": {"S": "orders"}, "status": {"S": "RUNNING"}})
    assert _scan(dynamodb, IndexName="by_group") == {"a": "RUNNING"}  # neither write has reached the index
    assert _scan(dynamodb) == {"a": "DEAD", "b": "RUNNING"}  # the table itself
    clock.advance(31)
    assert _scan(dynamodb, IndexName="by_group") == {"a": "DEAD", "b": "RUNNING"}
    assert lag.lagged_queries == 1
