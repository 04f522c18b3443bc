"""The intake: S3 "Object Created" events of the landing bucket into a standard SQS queue.

A rule cannot set a per-event ``MessageGroupId`` (its SQS target takes a fixed
string), so events go to a standard queue and the router Lambda assigns each
file its group before the FIFO ordered queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import wildcard_escape
from landing_pipeline.components.event_queue import rule_fed_queue
from landing_pipeline.runtime.contract import OBJECT_CREATED, S3_SOURCE


class Intake(pulumi.ComponentResource):
    """EventBridge rule for this bucket's new objects -> intake queue (+DLQ)."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    rule_name: pulumi.Output[str]

    def __init__(self, name: str, *, bucket_name: pulumi.Input[str], key_prefix: str,
                 key_suffixes: Sequence[str], visibility_timeout_s: int, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Intake", name, None, opts)
        parts = rule_fed_queue(
            self, name, description="New objects in the landing bucket, to the ingestion pipeline's intake queue",
            pattern=pulumi.Output.from_input(bucket_name).apply(
                lambda bucket: object_created_pattern(bucket, key_prefix, key_suffixes)),
            visibility_timeout_s=visibility_timeout_s, tags=tags)
        self.queue: aws.sqs.Queue = parts.queue
        """The standard queue the rule delivers to: attach your own alarms or consumers' policies here."""
        self.dlq: aws.sqs.Queue = parts.dlq
        self.rule: aws.cloudwatch.EventRule = parts.rule
        self.queue_url, self.queue_arn, self.queue_name = parts.queue.url, parts.queue.arn, parts.queue.name
        self.dlq_url, self.dlq_arn, self.dlq_name = parts.dlq.url, parts.dlq.arn, parts.dlq.name
        self.rule_name = parts.rule.name
        self.register_outputs({"queue_url": self.queue_url, "queue_arn": self.queue_arn,
                               "dlq_url": self.dlq_url, "dlq_arn": self.dlq_arn, "rule_name": self.rule_name})


def object_created_pattern(bucket: str, key_prefix: str, key_suffixes: Sequence[str]) -> dict[str, Any]:
    """The event pattern for new objects of one bucket, filtered by key prefix and suffixes.

    Values in one pattern array are ORed, so "prefix AND one of the suffixes" is written as one
    wildcard per suffix (``landing/*.csv``); the router applies the same filters again, so a
    pattern that lets too much through costs a Lambda call, never a wrong ingestion.
    """
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if key_suffixes:
        prefix = wildcard_escape(key_prefix)
        detail["object"] = {"key": [{"wildcard": f"{prefix}*{wildcard_escape(s)}"} for s in key_suffixes]}
    elif key_prefix:
        detail["object"] = {"key": [{"prefix": key_prefix}]}
    return {"source": [S3_SOURCE], "detail-type": [OBJECT_CREATED], "detail": detail}
