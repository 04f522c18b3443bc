"""The ledger: each group's ordered work list, its lease, and one pointer item per file id.

In v2 the ledger, not SQS, holds the order, the work to do and the exclusion (design-v2.md): a group's
items share one partition (``pk``) sorted by ``sk``, so one strongly consistent Query returns the group item
and its open files in order, and every safety decision reads only base-table items (F4). Losing it would
mean reprocessing or losing track of files, hence point-in-time recovery.

The layout (keys, attribute types, GSIs) is ``runtime.contract.LEDGER_TABLE_V2``, defined once and read here,
by the runtime's tests and by the emulator: the sparse ``by_check`` index of group items the reconciler should
look at (a hint, re-read strongly), and ``by_group_files`` for the operator's listings. A table of the v1 layout
(key ``pk`` only, ``by_group``/``by_waiting``) cannot be changed in place to this key schema; nothing of v1 was
deployed, so there is no migration (docs/deploy.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child
from landing_pipeline.runtime.contract import LEDGER_TABLE_V2


def global_secondary_indexes(table: Mapping[str, Any]) -> list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict]:
    """The contract's index definitions as the provider's ``global_secondary_indexes`` input (plain dicts: the
    Args classes log a deprecation of ``hash_key``/``range_key`` that the dict form, the same inputs, does not)."""
    indexes: list[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = []
    for name, index in table["indexes"].items():
        declared: aws.dynamodb.TableGlobalSecondaryIndexArgsDict = {
            "name": name, "hash_key": index["hash_key"], "range_key": index["range_key"],
            "projection_type": index["projection_type"]}
        if index.get("non_key_attributes"):
            declared["non_key_attributes"] = list(index["non_key_attributes"])
        indexes.append(declared)
    return indexes


class Ledger(pulumi.ComponentResource):
    """On-demand DynamoDB table (``pk``/``sk``) with point-in-time recovery, KMS encryption, the reconciler's
    sparse ``by_check`` index and the operator's ``by_group_files`` index."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Ledger", name, None, opts)
        layout: Mapping[str, Any] = LEDGER_TABLE_V2
        table = aws.dynamodb.Table(
            f"{name}-table", billing_mode="PAY_PER_REQUEST", hash_key=layout["hash_key"],
            range_key=layout["range_key"],
            attributes=[{"name": attribute, "type": kind} for attribute, kind in layout["attributes"].items()],
            global_secondary_indexes=global_secondary_indexes(layout),
            point_in_time_recovery={"enabled": True},
            # enabled without a key ARN: the AWS-managed aws/dynamodb KMS key (auditable in CloudTrail),
            # instead of the AWS-owned default.
            server_side_encryption={"enabled": True},
            tags=dict(tags), opts=child(self))
        self.table: aws.dynamodb.Table = table
        self.table_name = table.name
        self.table_arn = table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})
