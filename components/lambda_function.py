"""One SQS-fed Lambda function: its own role, its own log group, its event source mapping.

Every function of the pipeline has this shape. The role gets exactly what the
event source mapping needs on the source queue (receive, delete, read
attributes), write access to its own log group, and the statements the caller
passes; nothing account-wide. The log group is created before the function
(with the stack's retention) and named in the function's logging config, so
Lambda never creates an unbounded ``/aws/lambda/...`` group of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.code_archive import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from landing_pipeline.components.common import Statement, allow, assume_role_policy, child, policy_document

MAPPING_CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
"""What Lambda's SQS poller does with the function's role (AWS Lambda developer guide, "Execution role")."""


class QueueFunction(pulumi.ComponentResource):
    """A Lambda function triggered by an SQS queue, with partial batch responses."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    mapping_uuid: pulumi.Output[str]

    def __init__(self, name: str, *, handler: str, description: str, code: pulumi.Archive,
                 layers: Sequence[pulumi.Input[str]], source_queue_arn: pulumi.Input[str], batch_size: int,
                 maximum_concurrency: int | None, timeout_s: int, memory_mb: int,
                 environment: Mapping[str, pulumi.Input[str]], statements: Sequence[Statement],
                 log_retention_days: int, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:QueueFunction", name, None, opts)
        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name_prefix=f"/aws/lambda/{name}-",
                                            retention_in_days=log_retention_days, tags=dict(tags), opts=child(self))
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                            description=description, tags=dict(tags), opts=child(self))
        policy = aws.iam.RolePolicy(f"{name}-role-policy", role=role.id, policy=policy_document([
            allow("ConsumeSourceQueue", MAPPING_CONSUME_ACTIONS, [source_queue_arn]),
            allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                  [pulumi.Output.concat(log_group.arn, ":*")]),
            *statements,
        ]), opts=child(self))
        function = aws.lambda_.Function(
            f"{name}-fn", description=description, role=role.arn, handler=handler, runtime=LAMBDA_RUNTIME,
            architectures=[LAMBDA_ARCHITECTURE], code=code, layers=list(layers), timeout=timeout_s,
            memory_size=memory_mb, environment={"variables": dict(environment)},
            logging_config={"log_format": "JSON", "log_group": log_group.name},
            tags=dict(tags), opts=child(self, depends_on=[policy, log_group]))
        scaling: Any = {"maximum_concurrency": maximum_concurrency} if maximum_concurrency else None
        # The mapping waits for the policy: Lambda checks the role can read the queue when it is created.
        mapping = aws.lambda_.EventSourceMapping(
            f"{name}-trigger", event_source_arn=source_queue_arn, function_name=function.arn,
            batch_size=batch_size, function_response_types=["ReportBatchItemFailures"], scaling_config=scaling,
            enabled=True, tags=dict(tags), opts=child(self, depends_on=[policy]))
        self.function: aws.lambda_.Function = function
        self.role: aws.iam.Role = role
        """The function's execution role: attach extra policies (``aws.iam.RolePolicy(role=...id)``) here."""
        self.role_policy: aws.iam.RolePolicy = policy
        self.log_group: aws.cloudwatch.LogGroup = log_group
        self.event_source_mapping: aws.lambda_.EventSourceMapping = mapping
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.mapping_uuid = mapping.uuid
        self.register_outputs({"function_name": self.function_name, "function_arn": self.function_arn,
                               "role_arn": self.role_arn, "log_group_name": self.log_group_name})
