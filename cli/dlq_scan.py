"""Reading a FIFO DLQ without losing its order: every message received once and kept in flight until done.

A FIFO queue shows no message of a group while an earlier one of that group is
in flight, so a scan that released each message right away would see the same
heads again and never the messages behind them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.runtime.context import RuntimeContext, is_aws_error
from landing_pipeline.runtime.queues import FILE_ID_ATTRIBUTE, REASON_ATTRIBUTE, FileMessage, MalformedFileMessage


@dataclass
class DlqMessage:
    raw: dict[str, Any]
    message: FileMessage | None
    problem: str | None

    @property
    def group(self) -> str:
        return str(self.raw.get("Attributes", {}).get("MessageGroupId", ""))

    @property
    def dedup_id(self) -> str:
        return str(self.raw.get("Attributes", {}).get("MessageDeduplicationId", ""))

    @property
    def reason(self) -> str:
        return str(self.raw.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {}).get("StringValue", ""))

    @property
    def file_id(self) -> str | None:
        if self.message is not None:
            return self.message.file_id
        value = self.raw.get("MessageAttributes", {}).get(FILE_ID_ATTRIBUTE, {}).get("StringValue")
        return str(value) if value else None


@dataclass
class DlqScan:
    """Receives every DLQ message once, keeping them in flight until ``release`` so a FIFO queue shows
    the messages queued behind them; whatever was not deleted is made visible again at the end."""

    ctx: RuntimeContext
    held: list[DlqMessage] = field(default_factory=list)
    empty_polls_to_stop: int = 2

    def __iter__(self) -> Iterator[DlqMessage]:
        empty = 0
        seen: set[str] = set()
        while empty < self.empty_polls_to_stop:
            response = self.ctx.sqs.receive_message(
                QueueUrl=self.ctx.ordered_dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=1,
                AttributeNames=["All"], MessageAttributeNames=["All"])
            batch = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                empty += 1
                continue
            empty = 0
            for raw in batch:
                seen.add(raw["MessageId"])
                try:
                    item = DlqMessage(raw, FileMessage.from_body(raw["Body"]), None)
                except MalformedFileMessage as exc:
                    item = DlqMessage(raw, None, str(exc))
                self.held.append(item)
                yield item

    def delete(self, item: DlqMessage) -> None:
        self.ctx.sqs.delete_message(QueueUrl=self.ctx.ordered_dlq_url, ReceiptHandle=item.raw["ReceiptHandle"])
        self.held.remove(item)

    def release(self) -> None:
        for item in self.held:
            try:
                self.ctx.sqs.change_message_visibility(QueueUrl=self.ctx.ordered_dlq_url,
                                                       ReceiptHandle=item.raw["ReceiptHandle"], VisibilityTimeout=0)
            except Exception as exc:
                if not is_aws_error(exc):
                    raise
        self.held.clear()
