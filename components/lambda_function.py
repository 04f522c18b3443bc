"""One SQS-fed Lambda function: its own role, its own log group, its event source mapping.

Every function of the pipeline has this shape (the reconciler, which a schedule invokes, shares
``function_with_role`` and has no mapping). The role gets exactly what the
event source mapping needs on the source queue (receive, delete, read
attributes), write access to its own log group, and the statements the caller
passes; nothing account-wide. The log group is created before the function
(with the stack's retention) and named in the function's logging config, so
Lambda never creates an unbounded ``/aws/lambda/...`` group of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.code_archive import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from landing_pipeline.components.common import Statement, allow, assume_role_policy, child, policy_document

MAPPING_CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
"""What Lambda's SQS poller does with the function's role (AWS Lambda developer guide, "Execution role")."""


@dataclass(frozen=True)
class FunctionParts:
    """A function with the role and log group that are its own."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup


def function_with_role(parent: pulumi.Resource, name: str, *, handler: str, description: str, code: pulumi.Archive,
                       layers: Sequence[pulumi.Input[str]], timeout_s: int, memory_mb: int,
                       environment: Mapping[str, pulumi.Input[str]], statements: Sequence[Statement],
                       log_retention_days: int, tags: Mapping[str, str]) -> FunctionParts:
    """Log group, role, inline policy (its log streams plus ``statements``) and the function, children of
    ``parent``. The function waits for the policy and the log group, so its first invocation can log."""
    log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name_prefix=f"/aws/lambda/{name}-",
                                        retention_in_days=log_retention_days, tags=dict(tags), opts=child(parent))
    role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                        description=description, tags=dict(tags), opts=child(parent))
    policy = aws.iam.RolePolicy(f"{name}-role-policy", role=role.id, policy=policy_document([
        *statements,
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
              [pulumi.Output.concat(log_group.arn, ":*")]),
    ]), opts=child(parent))
    function = aws.lambda_.Function(
        f"{name}-fn", description=description, role=role.arn, handler=handler, runtime=LAMBDA_RUNTIME,
        architectures=[LAMBDA_ARCHITECTURE], code=code, layers=list(layers), timeout=timeout_s,
        memory_size=memory_mb, environment={"variables": dict(environment)},
        logging_config={"log_format": "JSON", "log_group": log_group.name},
        tags=dict(tags), opts=child(parent, depends_on=[policy, log_group]))
    return FunctionParts(function=function, role=role, role_policy=policy, log_group=log_group)


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
        parts = function_with_role(
            self, name, handler=handler, description=description, code=code, layers=layers, timeout_s=timeout_s,
            memory_mb=memory_mb, environment=environment,
            statements=[allow("ConsumeSourceQueue", MAPPING_CONSUME_ACTIONS, [source_queue_arn]), *statements],
            log_retention_days=log_retention_days, tags=tags)
        scaling: Any = {"maximum_concurrency": maximum_concurrency} if maximum_concurrency else None
        # The mapping waits for the policy: Lambda checks the role can read the queue when it is created.
        mapping = aws.lambda_.EventSourceMapping(
            f"{name}-trigger", event_source_arn=source_queue_arn, function_name=parts.function.arn,
            batch_size=batch_size, function_response_types=["ReportBatchItemFailures"], scaling_config=scaling,
            enabled=True, tags=dict(tags), opts=child(self, depends_on=[parts.role_policy]))
        self.function: aws.lambda_.Function = parts.function
        self.role: aws.iam.Role = parts.role
        """The function's execution role: attach extra policies (``aws.iam.RolePolicy(role=...id)``) here."""
        self.role_policy: aws.iam.RolePolicy = parts.role_policy
        self.log_group: aws.cloudwatch.LogGroup = parts.log_group
        self.event_source_mapping: aws.lambda_.EventSourceMapping = mapping
        self.function_name = parts.function.name
        self.function_arn = parts.function.arn
        self.role_arn = parts.role.arn
        self.log_group_name = parts.log_group.name
        self.mapping_uuid = mapping.uuid
        self.register_outputs({"function_name": self.function_name, "function_arn": self.function_arn,
                               "role_arn": self.role_arn, "log_group_name": self.log_group_name})
