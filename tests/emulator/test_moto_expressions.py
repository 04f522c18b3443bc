"""moto's DynamoDB update expressions remembered, copied from a pickle and walked with one table per walk
(emulator/moto_expressions.py): the same answers, errors and tables as moto alone."""

from __future__ import annotations

import pickle
from typing import Any

from botocore.exceptions import ClientError
from moto import mock_aws

from landing_pipeline.emulator import moto_speedups
from tests.emulator.ledger_table import TABLE, alone_and_with_speedups, ledger_client, ledger_key

OTHER = "other"


N, S = (lambda v: {"N": str(v)}), (lambda v: {"S": v})
UPDATES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    # the ledger's shapes: many SETs, REMOVEs, an ADD, if_not_exists
    ("SET #a0 = :a0, #a1 = :a1, #a2 = :a2 REMOVE #a3, #a4 ADD #version :one",
     {"#a0": "status", "#a1": "attempts", "#a2": "group", "#a3": "reason", "#a4": "token", "#version": "version"},
     {":a0": S("RUNNING"), ":a1": N(1), ":a2": S("g"), ":one": N(1)}),
    ("SET #group = :g, #epoch = if_not_exists(#epoch, :zero), #state = if_not_exists(#state, :idle) ADD #seq :one",
     {"#group": "group", "#epoch": "epoch", "#state": "state", "#seq": "seq"},
     {":g": S("g"), ":zero": N(0), ":idle": S("IDLE"), ":one": N(1)}),
    # arithmetic, lists, nested maps, sets
    ("SET n = if_not_exists(n, :zero) + :one, l = list_append(if_not_exists(l, :empty), :more)",
     {}, {":zero": N(0), ":one": N(1), ":empty": {"L": []}, ":more": {"L": [S("x"), S("y")]}}),
    ("SET m = :m", {}, {":m": {"M": {"inner": {"M": {"deep": N(1)}}, "other": S("o")}}}),
    ("SET m.inner.deep = m.inner.deep + :one, m.#new = :v REMOVE m.other", {"#new": "new"},
     {":one": N(1), ":v": S("added")}),
    ("SET l[0] = :first REMOVE l[1]", {}, {":first": S("first")}),
    ("ADD tags :t", {}, {":t": {"SS": ["a", "b", "c"]}}),
    ("DELETE tags :t", {}, {":t": {"SS": ["b"]}}),
    ("SET #state = :busy", {"#state": "state"}, {":busy": S("BUSY")}),
    # one expression, passed with some names and refused with others (what passed is remembered per names)
    ("SET #x = :one, #y = :one", {"#x": "x", "#y": "y"}, {":one": N(1)}),
    ("SET #x = :one, #y = :one", {"#x": "x", "#y": "x"}, {":one": N(1)}),   # the same attribute twice
    ("SET #k = :v", {"#k": "other"}, {":v": S("fine")}),
    ("SET #k = :v", {"#k": "sk"}, {":v": S("a key")}),                      # a key attribute
    # refused, each for its own reason
    ("SET n = :one SET m = :one", {}, {":one": N(1)}),             # two SET clauses
    ("SET a = :one, a = :one", {}, {":one": N(1)}),                # the same path twice
    ("SET m.inner = :one, m.inner.deep = :one", {}, {":one": N(1)}),  # overlapping paths
    ("SET sk = :one", {}, {":one": S("other")}),                   # a key attribute
    ("SET n = :missing", {}, {}),                                  # an undefined value
    ("SET #missing = :one", {}, {":one": N(1)}),                   # an undefined name
    ("SET n = n +", {}, {}),                                       # does not parse
    ("SET nothing.there.deep = :one", {}, {":one": N(1)}),         # no such document path
    ("ADD n :s", {}, {":s": S("not a number")}),                   # a type mismatch
]


def _scenario(client: Any) -> list[Any]:
    """Every expression on an item that exists and on one that does not, alone and inside a transaction,
    twice (the second time from what is remembered); each answer and the table's items after it."""
    seen: list[Any] = []

    def attempt(call: Any, **kwargs: Any) -> None:
        try:
            answer = call(**kwargs)
            seen.append(sorted(str(v) for v in answer.get("Attributes", {}).items()))
        except ClientError as error:
            seen.append((error.response["Error"]["Code"], error.response["Error"]["Message"],
                         error.response.get("CancellationReasons")))
        except Exception as crash:  # moto itself raises on some refusals (a KeyError): the same both ways
            seen.append((type(crash).__name__, str(crash)))
        seen.append(sorted(str(i) for table in (TABLE, OTHER) if table in client.list_tables()["TableNames"]
                           for i in client.scan(TableName=table, ConsistentRead=True)["Items"]))

    client.put_item(TableName=TABLE, Item={**ledger_key("g#a", "group"), "n": N(5)})
    client.create_table(TableName=OTHER, BillingMode="PAY_PER_REQUEST",  # keyed by an attribute the ledger's sets
                        KeySchema=[{"AttributeName": "other", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}])
    for round_ in range(2):
        for index, (expression, names, values) in enumerate(UPDATES):
            update: dict[str, Any] = {"TableName": TABLE, "UpdateExpression": expression}
            if names:
                update["ExpressionAttributeNames"] = names
            if values:
                update["ExpressionAttributeValues"] = values
            attempt(client.update_item, Key=ledger_key("g#a", "group"), ReturnValues="ALL_NEW", **update)
            attempt(client.update_item, Key=ledger_key("g#b", f"new#{round_}#{index}"), ReturnValues="UPDATED_OLD",
                    **update)
            attempt(client.transact_write_items, TransactItems=[
                {"Update": {**update, "Key": ledger_key("g#c", f"file#{index}")}},
                {"Put": {"TableName": TABLE, "Item": {**ledger_key("g#c", f"put#{round_}#{index}"), "v": N(index)}}}])
            attempt(client.update_item, **{**update, "TableName": OTHER}, Key={"other": S(f"o{index}")})
    return seen


def test_both_ways_give_the_same_answers_errors_and_tables() -> None:
    reference, fast = alone_and_with_speedups(_scenario)
    assert fast == reference
    errors = {answer[0] for answer in reference if isinstance(answer, tuple)}
    assert {"ValidationException", "TransactionCanceledException"} <= errors  # refusals were exercised


def test_an_expression_is_parsed_once_and_its_tree_never_changes() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    expression, names, values = UPDATES[0]
    with mock_aws(), moto_speedups.installed():
        client = ledger_client()
        parses: list[str] = []
        remembered = UpdateExpressionParser.make.__func__.__self__  # type: ignore[attr-defined]
        original = remembered._make

        def counting(cls: Any, text: str) -> Any:
            parses.append(text)
            return original(cls, text)

        remembered._make = counting
        for n in range(5):
            client.update_item(TableName=TABLE, Key=ledger_key("g#a", f"f{n}"), UpdateExpression=expression,
                               ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        assert parses == [expression]  # moto parses it three times per request without the speed-up
        tree = UpdateExpressionParser.make(expression)
        # the validators rewrote copies only: the remembered tree is still as parsed
        assert pickle.dumps(tree, pickle.HIGHEST_PROTOCOL) == remembered._pickled[id(tree)][1]
