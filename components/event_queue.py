"""An EventBridge rule delivering into a standard SQS queue that has its own DLQ.

The intake (S3 "Object Created") and the completion path ("Glue Job State
Change") have the same shape, built here once, parented to the calling
component:

- the queue and its DLQ use SSE-SQS: EventBridge cannot deliver to a queue
  encrypted with the AWS-managed ``aws/sqs`` KMS key;
- the queue policy lets only this rule send (``aws:SourceArn``) and denies
  requests not made over TLS;
- the DLQ also receives the events EventBridge could not deliver (the target's
  dead-letter config), so an event is never dropped silently;
- the DLQ only accepts redrives from its own queue (redrive allow policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child, deny_insecure_transport, policy_document

RETENTION_S = 14 * 24 * 3600
"""SQS's maximum: a message waiting behind a blocked group or in a DLQ must outlive a long weekend."""
DLQ_RECEIVES = 5
"""Receives before a message of a standard queue is parked: enough for transient errors, few enough
that a poison message is visible within minutes."""


@dataclass(frozen=True)
class EventQueue:
    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    rule: aws.cloudwatch.EventRule


def rule_fed_queue(parent: pulumi.Resource, name: str, *, description: str, pattern: Any,
                   visibility_timeout_s: int, tags: Mapping[str, str]) -> EventQueue:
    """Create DLQ, queue, rule, target and both queue policies as children of ``parent``."""
    dlq = aws.sqs.Queue(f"{name}-dlq", message_retention_seconds=RETENTION_S, sqs_managed_sse_enabled=True,
                        tags=dict(tags), opts=child(parent))
    queue = aws.sqs.Queue(
        f"{name}-queue", visibility_timeout_seconds=visibility_timeout_s, message_retention_seconds=RETENTION_S,
        sqs_managed_sse_enabled=True,
        redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": DLQ_RECEIVES}),
        tags=dict(tags), opts=child(parent))
    aws.sqs.RedriveAllowPolicy(
        f"{name}-dlq-redrive-allow", queue_url=dlq.url,
        redrive_allow_policy=pulumi.Output.json_dumps({"redrivePermission": "byQueue",
                                                       "sourceQueueArns": [queue.arn]}),
        opts=child(parent))
    rule = aws.cloudwatch.EventRule(f"{name}-rule", description=description,
                                    event_pattern=pulumi.Output.json_dumps(pattern), tags=dict(tags),
                                    opts=child(parent))
    for target_name, target in ((f"{name}-queue-policy", queue), (f"{name}-dlq-policy", dlq)):
        aws.sqs.QueuePolicy(target_name, queue_url=target.url,
                            policy=eventbridge_send_policy(target.arn, rule.arn), opts=child(parent))
    aws.cloudwatch.EventTarget(
        f"{name}-target", rule=rule.name, arn=queue.arn,
        dead_letter_config={"arn": dlq.arn},
        retry_policy={"maximum_event_age_in_seconds": 24 * 3600, "maximum_retry_attempts": 185},
        opts=child(parent))
    return EventQueue(queue=queue, dlq=dlq, rule=rule)


def eventbridge_send_policy(queue_arn: pulumi.Input[str], rule_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    return policy_document([
        {"Sid": "AllowThisRuleOnly", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": queue_arn,
         "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}},
        deny_insecure_transport("DenyInsecureTransport", "sqs:*", [queue_arn]),
    ])
