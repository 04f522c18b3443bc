"""A table shaped like the ledger (pk, sk) on moto, for the tests that check the moto speedups against moto alone
(``test_moto_transactions``, ``test_moto_expressions``). Call inside ``mock_aws``."""

from __future__ import annotations

from typing import Any

import boto3

TABLE = "ledger"


def ledger_client() -> Any:
    """A DynamoDB client with an empty ``TABLE`` keyed like the ledger."""
    client = boto3.client("dynamodb", region_name="eu-west-1")  # mock_aws provides the (fake) credentials
    client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}])
    return client


def ledger_key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}
