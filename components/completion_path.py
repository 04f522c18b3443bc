"""The completion path: "Glue Job State Change" of this job -> completion queue (+DLQ).

A Glue run ending (SUCCEEDED, FAILED, TIMEOUT, STOPPED, ERROR) is what releases
a group's lease, so its event goes through SQS like every other hop: buffered,
retried, and parked in a DLQ rather than lost. The completion Lambda (built
with the other functions) consumes the queue. Glue's events are best effort, so
a lost one is recovered by the reconciler within one ``reconcileMinutes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.event_queue import rule_fed_queue
from landing_pipeline.runtime.contract import GLUE_FINAL_STATES, GLUE_SOURCE, GLUE_STATE_CHANGE


class CompletionPath(pulumi.ComponentResource):
    """EventBridge rule for this job's final states -> completion queue (+DLQ)."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    rule_name: pulumi.Output[str]

    def __init__(self, name: str, *, job_name: pulumi.Input[str], visibility_timeout_s: int,
                 tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:CompletionPath", name, None, opts)
        parts = rule_fed_queue(self, name, description="Final states of the ingest job's runs, to the completion queue",
                               pattern=pulumi.Output.from_input(job_name).apply(job_state_pattern),
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


def job_state_pattern(job_name: str, states: Sequence[str] | None = None) -> dict[str, Any]:
    return {"source": [GLUE_SOURCE], "detail-type": [GLUE_STATE_CHANGE],
            "detail": {"jobName": [job_name], "state": list(states or GLUE_FINAL_STATES)}}
