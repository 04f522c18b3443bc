"""The ordered queue: SQS FIFO, one message group per file group, carrying wake-ups; and its FIFO DLQ.

In v2 the ledger holds each group's files in order and the group's lease makes its runs
one at a time; the queue only wakes the right group. At most one wake-up is pending per
group (the router sends one only when it sets ``wake_pending``), so a backfill into one
group is one message and cannot fill the head of the queue that SQS scans for available
groups. The dispatcher deletes a wake-up once it has decided; no message is held for a run.

``maxReceiveCount`` is the spec's ``receive_ceiling``: a wake-up held for a settle wait is
received again, so receives are not attempts (the ledger counts those); the ceiling only
stops a poison wake-up that keeps failing the dispatcher, which lands in the DLQ. Dead
files are announced on the dead-files queue, not here. The visibility timeout is six times
the dispatcher's timeout (AWS's rule for Lambda consumers).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child, deny_insecure_transport, policy_document
from landing_pipeline.components.event_queue import RETENTION_S


class OrderedQueue(pulumi.ComponentResource):
    """SQS FIFO queue with content-based dedup, per-group throughput and a FIFO DLQ."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(self, name: str, *, max_receive_count: int, visibility_timeout_s: int, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:OrderedQueue", name, None, opts)
        dlq = fifo_queue(f"{name}-dlq", tags=tags, opts=child(self))  # a FIFO queue's DLQ must be FIFO
        queue = fifo_queue(
            f"{name}-queue", visibility_timeout_s=visibility_timeout_s,
            redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": dlq.arn,
                                                     "maxReceiveCount": max_receive_count}),
            tags=tags, opts=child(self))
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow", queue_url=dlq.url,
            redrive_allow_policy=pulumi.Output.json_dumps({"redrivePermission": "byQueue",
                                                           "sourceQueueArns": [queue.arn]}),
            opts=child(self))
        for policy_name, target in ((f"{name}-queue-policy", queue), (f"{name}-dlq-policy", dlq)):
            aws.sqs.QueuePolicy(policy_name, queue_url=target.url,
                                policy=policy_document([deny_insecure_transport("DenyInsecureTransport", "sqs:*",
                                                                                [target.arn])]),
                                opts=child(self))
        self.queue: aws.sqs.Queue = queue
        self.dlq: aws.sqs.Queue = dlq
        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.dlq_url, self.dlq_arn, self.dlq_name = dlq.url, dlq.arn, dlq.name
        self.register_outputs({"queue_url": self.queue_url, "queue_arn": self.queue_arn,
                               "dlq_url": self.dlq_url, "dlq_arn": self.dlq_arn})


def fifo_queue(name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions,
               visibility_timeout_s: int | None = None,
               redrive_policy: pulumi.Input[str] | None = None) -> aws.sqs.Queue:
    """A FIFO queue with content-based dedup, SSE-SQS and the longest retention.

    High-throughput mode (dedup scope and throughput limit per message group): a file's dedup id
    is unique to the file and every file of one group shares the group, so ordering is unchanged
    while many groups no longer share one queue-wide quota.
    """
    return aws.sqs.Queue(name, fifo_queue=True, content_based_deduplication=True, sqs_managed_sse_enabled=True,
                         message_retention_seconds=RETENTION_S, deduplication_scope="messageGroup",
                         fifo_throughput_limit="perMessageGroupId", visibility_timeout_seconds=visibility_timeout_s,
                         redrive_policy=redrive_policy, tags=dict(tags), opts=opts)
