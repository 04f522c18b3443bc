"""``emulator/moto_copies.py``, UpdateItem: no copy of the old item on a table without a stream (nothing reads
it), and on a table with one the stream still records the old image as moto alone does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item

from landing_pipeline.emulator import moto_speedups
from tests.emulator.ledger_table import TABLE, ledger_client, ledger_key


@pytest.fixture
def item_copies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    copies: list[int] = []
    deepcopy = Item.__deepcopy__

    def counted(self: Item, memo: dict[int, Any]) -> Item:
        copies.append(1)
        return deepcopy(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counted)
    yield copies


def _updates(client: Any) -> list[Any]:
    client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "group"), "v": {"N": "1"}})
    client.update_item(TableName=TABLE, Key=ledger_key("g#a", "group"), UpdateExpression="SET v = v + :one",
                       ExpressionAttributeValues={":one": {"N": "1"}})
    client.transact_write_items(TransactItems=[{"Update": {
        "TableName": TABLE, "Key": ledger_key("g#a", "group"), "UpdateExpression": "SET w = :w",
        "ExpressionAttributeValues": {":w": {"S": "x"}}}}])
    return [client.get_item(TableName=TABLE, Key=ledger_key("g#a", "group"), ConsistentRead=True)["Item"]]


def test_an_update_without_a_stream_copies_no_item(item_copies: list[int]) -> None:
    with mock_aws():
        alone = _updates(ledger_client())
    copied_alone = len(item_copies)
    item_copies.clear()
    with mock_aws(), moto_speedups.installed():
        fast = _updates(ledger_client())
    assert fast == alone
    # moto alone: the UpdateItem call's old values (for ReturnValues), the old item in the update itself
    # twice (the call, the transaction's update), and the transaction's saved copy (moto_copies' rollback).
    # Here only the two that are read are made
    assert copied_alone == 4
    assert len(item_copies) == 2


def _streamed_images() -> list[Any]:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    arn = client.create_table(
        TableName="streamed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    client.put_item(TableName="streamed", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    client.update_item(TableName="streamed", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                       ExpressionAttributeValues={":v": {"N": "2"}})
    from moto.dynamodb.models import dynamodb_backends

    assert arn
    shard = dynamodb_backends["123456789012"]["eu-west-1"].tables["streamed"].stream_shard  # moto's stream
    return [(r["eventName"], r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage"))
            for r in (record.to_json() for record in shard.items)]


def test_a_streamed_table_still_records_the_old_image() -> None:
    with mock_aws():
        alone = _streamed_images()
    with mock_aws(), moto_speedups.installed():
        fast = _streamed_images()
    assert fast == alone
    assert fast[-1][1] == {"pk": {"S": "a"}, "v": {"N": "1"}}  # the update's old image, not the new item
