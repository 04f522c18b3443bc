"""An item's 400 KB check as a running total (emulator/moto_items.py): the same items, answers and errors as moto
alone, at the limit and on either side of it, for every way an item is built."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto import mock_aws

from landing_pipeline.emulator import moto_items, moto_speedups
from tests.emulator.ledger_table import TABLE, alone_and_with_speedups, ledger_client, ledger_key

KEY_BYTES = len("pk") + len("g#a") + len("sk")  # what the key attributes add to an item's size, less the sk value


def _items(excess: int) -> list[dict[str, Any]]:
    """Items whose size is moto's limit plus ``excess`` bytes, the big attribute that carries the excess last or
    first (moto's check fails at the attribute that crosses the limit)."""
    items = []
    for sk in ("x", "y"):
        base = KEY_BYTES + len(sk)
        for many in (1, 30):
            small = {f"a{i:02}": {"S": "v"} for i in range(many)}  # 3 + 1 bytes each
            filler = moto_items.LIMIT - base - 4 * many - len("big") + excess
            big = {"big": {"S": "z" * filler}}
            items.append({**ledger_key("g#a", sk), **small, **big})
            items.append({**ledger_key("g#a", sk), **big, **small})
    return items


def _scenario(client: Any) -> list[Any]:
    seen: list[Any] = []

    def attempt(call: Any, **kwargs: Any) -> None:
        try:
            call(**kwargs)
            seen.append("ok")
        except ClientError as error:
            seen.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
        seen.append(sorted((i["sk"]["S"], len(str(i))) for i in
                           client.scan(TableName=TABLE, ConsistentRead=True)["Items"]))

    for excess in (-1, 0, 1, 1000):
        for item in _items(excess):
            attempt(client.put_item, TableName=TABLE, Item=item)
            attempt(client.transact_write_items, TransactItems=[{"Put": {"TableName": TABLE, "Item": item}}])
            # an update that builds the item from nothing, and one that grows the stored item past the limit
            sets = {k: v for k, v in item.items() if k not in ("pk", "sk")}
            names = {f"#n{i}": k for i, k in enumerate(sets)}
            values = {f":v{i}": v for i, v in enumerate(sets.values())}
            attempt(client.update_item, TableName=TABLE, Key=ledger_key("g#b", f"u{excess}"),
                    UpdateExpression="SET " + ", ".join(f"#n{i} = :v{i}" for i in range(len(sets))),
                    ExpressionAttributeNames=names, ExpressionAttributeValues=values)
            attempt(client.update_item, TableName=TABLE, Key=ledger_key("g#a", "x"),
                    UpdateExpression="SET more = :m", ExpressionAttributeValues={":m": {"S": "m" * (2 + excess)}})
    return seen


def test_both_ways_keep_the_same_items_and_refuse_the_same_writes() -> None:
    reference, fast = alone_and_with_speedups(_scenario)
    assert fast == reference
    refusals = [answer for answer in reference if isinstance(answer, tuple)]
    assert refusals and "ok" in reference  # both sides of the limit were exercised
    assert {code for code, _ in refusals} == {"ValidationException"}


def test_an_item_past_the_limit_is_refused_by_a_put() -> None:
    with mock_aws(), moto_speedups.installed():
        client = ledger_client()
        item = _items(1)[0]
        try:
            client.put_item(TableName=TABLE, Item=item)
        except ClientError as error:
            assert "Item size has exceeded the maximum allowed size" in error.response["Error"]["Message"]
        else:
            raise AssertionError("an item past moto's limit was stored")
        client.put_item(TableName=TABLE, Item=_items(0)[0])  # at the limit: stored
        assert client.scan(TableName=TABLE)["Count"] == 1
