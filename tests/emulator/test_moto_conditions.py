"""``emulator/moto_conditions.py``: conditional writes answer as with moto alone (met, unmet, in transactions,
repeated), unused names and values are still refused on a repeat, and a transaction's condition is lexed once
instead of three times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.comparisons import ConditionExpressionParser

from landing_pipeline.emulator import moto_conditions
from tests.emulator.ledger_table import TABLE, alone_and_with_speedups, ledger_client, ledger_key

GUARD = "#v = :seen AND attribute_exists(pk) AND NOT begins_with(#s, :dead)"


def _guarded(seen: int, value: int, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {"TableName": TABLE, "Key": ledger_key("g#a", "group"), "UpdateExpression": "SET #v = :new",
            "ConditionExpression": GUARD,
            "ExpressionAttributeNames": names or {"#v": "v", "#s": "status"},
            "ExpressionAttributeValues": {":seen": {"N": str(seen)}, ":new": {"N": str(value)},
                                          ":dead": {"S": "DEAD"}}}


def _answer(call: Any, **request: Any) -> str:
    try:
        call(**request)
        return "ok"
    except ClientError as error:
        return f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"


def _scenario(client: Any) -> list[Any]:
    client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "group"), "v": {"N": "1"}, "status": {"S": "OPEN"}})
    answers = []
    for seen, value in ((1, 2), (1, 3), (2, 3), (2, 4), (3, 4)):  # met, unmet (a repeat), met, ...
        answers.append(_answer(client.update_item, **_guarded(seen, value)))
        answers.append(_answer(client.transact_write_items, TransactItems=[{"Update": _guarded(value, value + 10)}]))
        answers.append(_answer(client.transact_write_items, TransactItems=[{"Update": _guarded(value + 10, value)}]))
    for _ in range(2):  # an unused name is refused, every time
        answers.append(_answer(client.update_item, **_guarded(4, 5, {"#v": "v", "#s": "status", "#x": "x"})))
    answers.append(client.get_item(TableName=TABLE, Key=ledger_key("g#a", "group"), ConsistentRead=True)["Item"])
    return answers


def test_answers_as_moto_alone() -> None:
    alone, remembered = alone_and_with_speedups(_scenario)
    assert remembered == alone
    assert any(a == "ok" for a in alone) and any(str(a).startswith("ConditionalCheckFailed") for a in alone)
    assert any("unused" in str(a) for a in alone[-3:-1])


@pytest.fixture
def lexes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    lex = ConditionExpressionParser._lex_condition_expression

    def counted(self: Any) -> Any:
        seen.append(self.condition_expression)
        return lex(self)

    monkeypatch.setattr(ConditionExpressionParser, "_lex_condition_expression", counted)
    yield seen


def test_a_transaction_s_condition_is_lexed_once(lexes: list[str]) -> None:
    with mock_aws(), ExitStack() as stack:
        client = ledger_client()
        client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "group"), "v": {"N": "1"}})
        moto_conditions.install(stack, lambda s, owner, name, value: (
            s.callback(setattr, owner, name, getattr(owner, name)), setattr(owner, name, value)))
        client.transact_write_items(TransactItems=[{"Update": _guarded(1, 2)}])
    assert lexes.count(GUARD) == 1
