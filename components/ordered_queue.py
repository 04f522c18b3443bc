"""The ordered queue: SQS FIFO, one message group per file group, and its FIFO DLQ.

SQS FIFO delivers no further message of a group while one is in flight; the
dispatcher keeps a started file's message in flight until its Glue run ends
(the hold), which is what makes a group's files run strictly one after another.

``maxReceiveCount`` is the spec's ``receive_ceiling``, not ``max_attempts``:
every delivery counts as a receive (a start Glue refused for want of a slot, the
wake-up or fallback that brings it back, a recovery after a lost completion
event), so receives are not attempts. The
ledger counts real attempts and the completion handler parks a file whose
attempts are used up in the DLQ itself; the redrive ceiling only stops a
poison message. The visibility timeout is six times the dispatcher's timeout
(AWS's rule for Lambda consumers); the hold extends it per message.
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
