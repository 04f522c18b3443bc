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

GROUP_INDEX = "by_group"
WAIT_INDEX = "by_waiting"
WAIT_INDEX_ATTRIBUTES = ["file_id", "wait_handle"]
"""All a wake-up reads: which file, and the receipt handle to make visible. Projecting only these keeps the
index's writes small; only files waiting for a Glue slot are in it at all (it is sparse)."""


class Ledger(pulumi.ComponentResource):
    """On-demand DynamoDB table with point-in-time recovery, KMS encryption, the group index and the index of
    files waiting for a Glue slot (the slot handoff, docs/runtime.md)."""

    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Ledger", name, None, opts)
        table = aws.dynamodb.Table(
            f"{name}-table", billing_mode="PAY_PER_REQUEST", hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}, {"name": "group", "type": "S"},
                        {"name": "received_seq", "type": "S"}, {"name": "wait_pool", "type": "S"},
                        {"name": "waiting_since", "type": "S"}],
            global_secondary_indexes=[
                {"name": GROUP_INDEX, "hash_key": "group", "range_key": "received_seq", "projection_type": "ALL"},
                {"name": WAIT_INDEX, "hash_key": "wait_pool", "range_key": "waiting_since",
                 "projection_type": "INCLUDE", "non_key_attributes": WAIT_INDEX_ATTRIBUTES}],
            point_in_time_recovery={"enabled": True},
            # enabled without a key ARN: the AWS-managed aws/dynamodb KMS key (auditable in CloudTrail),
            # instead of the AWS-owned default.
            server_side_encryption={"enabled": True},
            tags=dict(tags), opts=child(self))
        self.table: aws.dynamodb.Table = table
        self.table_name = table.name
        self.table_arn = table.arn
        self.register_outputs({"table_name": self.table_name, "table_arn": self.table_arn})
