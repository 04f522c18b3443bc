"""A table shaped like the ledger (pk, sk) on moto, for the tests that check the moto speedups against moto alone
(``test_moto_transactions``, ``test_moto_expressions``, ``test_moto_conditions``, ``test_moto_items``):
``alone_and_with_speedups`` runs a scenario both ways; ``ledger_client`` is called inside ``mock_aws``."""

from __future__ import annotations

from collections.abc import Callable
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


def alone_and_with_speedups(scenario: Callable[[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    """What ``scenario`` saw on a fresh ledger table on moto alone, and on another with the emulator's moto
    speedups installed: a speedup changes no answer when the two are equal."""
    from moto import mock_aws

    from landing_pipeline.emulator import moto_speedups

    with mock_aws():
        alone = scenario(ledger_client())
    with mock_aws(), moto_speedups.installed():
        fast = scenario(ledger_client())
    return alone, fast
