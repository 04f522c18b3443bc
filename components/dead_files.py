"""The dead-files queue: where a file that is DEAD is announced, once per death.

In v1 a dead file's message was parked in the ordered queue's FIFO DLQ under the file id as dedup id, so a
file redriven and dead again within five minutes was dropped by SQS's dedup window and never announced (F5);
and the DLQ-depth alarm went quiet once retention deleted the message. In v2 the ordered queue carries only
wake-ups (its DLQ catches a poison wake-up), and dead files get this queue of their own:

- FIFO, with the dedup id unique to one death (``<file id>-dead-<death number>``, runtime/contract.py), so the
  handler that records the death and a reconciler pass that finds it unannounced send the same message and SQS
  keeps one; a second death of the same file is a new message;
- SSE-SQS (SQS-managed keys): no key policy to maintain and no KMS permission for the senders;
- 14 days' retention, the SQS maximum. The messages are an inbox for operators and their tools, not the record:
  the ledger is, and the ``DeadFiles`` alarm counts from the ledger, so it does not expire with a message;
- no redrive policy: nothing consumes it automatically, and a message read by a person must not be moved away.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child, deny_insecure_transport, policy_document
from landing_pipeline.components.ordered_queue import fifo_queue


class DeadFilesQueue(pulumi.ComponentResource):
    """SQS FIFO queue announcing each death of a file once, encrypted, TLS-only, kept 14 days."""

    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    queue_name: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:DeadFilesQueue", name, None, opts)
        queue = fifo_queue(f"{name}-queue", tags=tags, opts=child(self))
        aws.sqs.QueuePolicy(f"{name}-queue-policy", queue_url=queue.url,
                            policy=policy_document([deny_insecure_transport("DenyInsecureTransport", "sqs:*",
                                                                            [queue.arn])]),
                            opts=child(self))
        self.queue: aws.sqs.Queue = queue
        """The queue: subscribe your tooling (a consumer reading one message per death) or alarm on its age."""
        self.queue_url, self.queue_arn, self.queue_name = queue.url, queue.arn, queue.name
        self.register_outputs({"queue_url": self.queue_url, "queue_arn": self.queue_arn})
