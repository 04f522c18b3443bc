"""The ledger: one DynamoDB item per file version (and per Glue run), with a group index and a waiting line.

It is the memory beyond SQS's 5-minute dedup window, the link from a Glue run id
back to its held message, and the per-file status operators ask for; losing it
would mean reprocessing or losing track of files, hence point-in-time recovery.
Key layout (``pk``, GSI ``by_group`` on ``group`` + ``received_seq``, sparse GSI
``by_waiting`` on ``wait_pool`` + ``waiting_since``) is the contract in
``docs/interfaces.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child
from landing_pipeline.runtime.contract import (
    GROUP_INDEX,
    GROUP_INDEX_HASH,
    GROUP_INDEX_RANGE,
    LEDGER_KEY,
    WAIT_INDEX,
    WAIT_INDEX_HASH,
    WAIT_INDEX_PROJECTION,
    WAIT_INDEX_RANGE,
)


class Ledger(pulumi.ComponentResource):
    """On-demand DynamoDB table with point-in-time recovery, KMS encryption, the group index and the index of
    files waiting for a Glue slot (the slot handoff, docs/runtime.md)."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Ledger", name, None, opts)
        table = aws.dynamodb.Table(
            f"{name}-table", billing_mode="PAY_PER_REQUEST", hash_key=LEDGER_KEY,
            attributes=[{"name": attribute, "type": "S"} for attribute in (
                LEDGER_KEY, GROUP_INDEX_HASH, GROUP_INDEX_RANGE, WAIT_INDEX_HASH, WAIT_INDEX_RANGE)],
            global_secondary_indexes=[
                {"name": GROUP_INDEX, "hash_key": GROUP_INDEX_HASH, "range_key": GROUP_INDEX_RANGE,
                 "projection_type": "ALL"},
                # all a wake-up reads (which file, which handle to make visible): the index's writes stay small
                {"name": WAIT_INDEX, "hash_key": WAIT_INDEX_HASH, "range_key": WAIT_INDEX_RANGE,
                 "projection_type": "INCLUDE", "non_key_attributes": list(WAIT_INDEX_PROJECTION)}],
            point_in_time_recovery={"enabled": True},
            # enabled without a key ARN: the AWS-managed aws/dynamodb KMS key (auditable in CloudTrail),
            # instead of the AWS-owned default.
            server_side_encryption={"enabled": True},
            tags=dict(tags), opts=child(self))
        self.table: aws.dynamodb.Table = table
        self.table_name = table.name
        self.table_arn = table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})
