"""``emulator/moto_queries.py``: a Query on the table's own key answers what moto alone answers (items, order,
pages, counts), on a table holding many partitions; an index query is left to moto."""

from __future__ import annotations

from typing import Any

from moto import mock_aws

from landing_pipeline.emulator import moto_speedups
from tests.emulator.ledger_table import TABLE, ledger_client


def _answers(client: Any) -> list[Any]:
    answers = []
    for pk in ("group#b", "group#missing", "group#a"):
        for forward in (True, False):
            for extra in ({}, {"Limit": 3}, {"KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
                                              ":p": "file#1"}):
                values = {":pk": {"S": pk}}
                if ":p" in extra:
                    values[":p"] = {"S": extra[":p"]}
                query: dict[str, Any] = {"TableName": TABLE, "ScanIndexForward": forward,
                                         "KeyConditionExpression": extra.get("KeyConditionExpression", "pk = :pk"),
                                         "ExpressionAttributeValues": values}
                if "Limit" in extra:
                    query["Limit"] = extra["Limit"]
                while True:  # every page, following LastEvaluatedKey
                    page = client.query(**query)
                    page.pop("ResponseMetadata")
                    answers.append(page)
                    if "LastEvaluatedKey" not in page:
                        break
                    query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return answers


def _table(client: Any) -> None:
    for group in "cab":
        for n in (12, 3, 7, 1, 10, 25, 2):
            client.put_item(TableName=TABLE, Item={"pk": {"S": f"group#{group}"}, "sk": {"S": f"file#{n}"},
                                                   "n": {"N": str(n)}})


def test_a_key_query_answers_as_moto_does() -> None:
    with mock_aws():
        client = ledger_client()
        _table(client)
        alone = _answers(client)
        with moto_speedups.installed():
            sped = _answers(client)
    assert sped == alone
    assert any(page["Items"] for page in alone) and any("LastEvaluatedKey" in page for page in alone)
