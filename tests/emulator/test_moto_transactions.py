"""moto's TransactWriteItems with item-level rollback (emulator/moto_speedups.py): the same answers and the
same table afterwards as moto's whole-table copy, at the cost of the items the transaction names only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item

from landing_pipeline.emulator import moto_speedups
from tests.emulator.ledger_table import TABLE, alone_and_with_speedups, ledger_client, ledger_key


def _update(pk: str, sk: str, value: int, condition: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": TABLE, "Key": ledger_key(pk, sk), "UpdateExpression": "SET v = :v",
                          "ExpressionAttributeValues": {":v": {"N": str(value)}}}
    if condition:
        op["ConditionExpression"] = condition
    return {"Update": op}


def _scenario(client: Any) -> list[Any]:
    """Writes, a cancelled transaction that had already applied two of its writes, a validation failure and a
    successful one; the answers and the table's items after each."""
    client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "group"), "v": {"N": "1"}})
    client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "file#1"), "v": {"N": "1"}})
    seen: list[Any] = []

    def attempt(items: list[dict[str, Any]]) -> None:
        try:
            client.transact_write_items(TransactItems=items)
            seen.append("ok")
        except ClientError as error:
            seen.append((error.response["Error"]["Code"], error.response.get("CancellationReasons")))
        seen.append(sorted(str(i) for i in client.scan(TableName=TABLE, ConsistentRead=True)["Items"]))

    attempt([_update("g#a", "group", 2),
             {"Put": {"TableName": TABLE, "Item": {**ledger_key("g#a", "file#2"), "v": {"N": "5"}}}},
             {"Delete": {"TableName": TABLE, "Key": ledger_key("g#a", "file#1")}},
             {"ConditionCheck": {"TableName": TABLE, "Key": ledger_key("g#b", "group"),
                                 "ConditionExpression": "attribute_exists(pk)"}}])
    attempt([_update("g#a", "group", 3), _update("g#a", "group", 4)])  # two writes to one item: refused
    attempt([_update("g#a", "group", 5, "v = :v"), _update("g#a", "file#1", 6)])  # condition false: cancelled
    attempt([_update("g#a", "group", 7), {"Put": {"TableName": TABLE, "Item": {**ledger_key("g#c", "group")}}}])
    return seen


@pytest.fixture
def fresh_moto() -> Iterator[None]:
    with mock_aws():
        yield


def test_both_ways_give_the_same_answers_and_tables() -> None:
    reference, fast = alone_and_with_speedups(_scenario)
    assert fast == reference
    assert fast[0][0] == "TransactionCanceledException"
    assert not any("file#2" in row for row in fast[1])  # the put before the failed check was undone
    assert any("file#1" in row for row in fast[1])  # and so was the delete
    assert fast[2][0] == "ValidationException" and fast[4][0] == "TransactionCanceledException"
    assert fast[-2] == "ok"


def test_a_transaction_copies_only_the_items_it_names(fresh_moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client = ledger_client()
    for n in range(300):
        client.put_item(TableName=TABLE, Item={**ledger_key("g#a", f"file#{n:03}"), "v": {"N": "1"}})
    copied = []
    original = Item.__deepcopy__

    def counting(self: Item, memo: dict[int, Any]) -> Item:
        copied.append(1)
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    with moto_speedups.installed():
        client.transact_write_items(TransactItems=[_update("g#a", "file#001", 2), _update("g#a", "file#002", 2)])
        assert len(copied) <= 4  # per named item: the rollback copy and the one UpdateItem keeps of its old value
    copied.clear()
    client.transact_write_items(TransactItems=[_update("g#a", "file#001", 3)])
    assert len(copied) >= 300  # moto alone copies the whole table: what the speed-up removes
