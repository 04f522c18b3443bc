"""Reading a FIFO queue without losing its order: every message received once and kept in flight until done.

The operator commands read two FIFO queues this way: the dead-files queue (one announcement per death of a
file, ``runtime/wakeups.py``), to take away the announcements of a file they redrove or skipped, and the
ordered queue's DLQ (poison wake-ups), to count and show them. A FIFO queue shows no message of a group while an
earlier one of that group is in flight, so a scan that released each message right away would see the same
heads again and never the messages behind them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.runtime.context import RuntimeContext, is_aws_error
from landing_pipeline.runtime.queues import FILE_ID_ATTRIBUTE, REASON_ATTRIBUTE

SCAN_VISIBILITY_S = 120
"""How long a scanned message stays in flight: longer than a scan takes, short enough that one the operator's
process lost (Ctrl-C) comes back by itself."""


@dataclass(frozen=True)
class DeadFileNotice:
    """One announcement on the dead-files queue: the body ``{"file_id", "group", "death", "reason"}``."""

    file_id: str
    group: str
    death: int
    reason: str

    @classmethod
    def from_body(cls, body: str) -> DeadFileNotice | None:
        """The notice in ``body``, or None when it is not one (an operator's test message, a wake-up)."""
        try:
            document = json.loads(body)
        except (TypeError, ValueError):
            return None
        if not isinstance(document, dict) or not isinstance(document.get("file_id"), str):
            return None
        try:
            death = int(document.get("death") or 0)
        except (TypeError, ValueError):
            return None
        return cls(document["file_id"], str(document.get("group") or ""), death, str(document.get("reason") or ""))


@dataclass
class QueuedMessage:
    raw: dict[str, Any]

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
    def notice(self) -> DeadFileNotice | None:
        return DeadFileNotice.from_body(self.raw.get("Body", ""))

    @property
    def file_id(self) -> str | None:
        notice = self.notice
        if notice is not None:
            return notice.file_id
        value = self.raw.get("MessageAttributes", {}).get(FILE_ID_ATTRIBUTE, {}).get("StringValue")
        return str(value) if value else None


@dataclass
class FifoScan:
    """Receives every message of ``queue_url`` once, keeping them in flight until ``release`` so a FIFO queue
    shows the messages queued behind them; whatever was not deleted is made visible again at the end."""

    ctx: RuntimeContext
    queue_url: str
    held: list[QueuedMessage] = field(default_factory=list)
    empty_polls_to_stop: int = 2

    def __iter__(self) -> Iterator[QueuedMessage]:
        empty = 0
        seen: set[str] = set()
        while empty < self.empty_polls_to_stop:
            response = self.ctx.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=SCAN_VISIBILITY_S,
                WaitTimeSeconds=1, AttributeNames=["All"], MessageAttributeNames=["All"])
            batch = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                empty += 1
                continue
            empty = 0
            for raw in batch:
                seen.add(raw["MessageId"])
                item = QueuedMessage(raw)
                self.held.append(item)
                yield item

    def delete(self, item: QueuedMessage) -> None:
        self.ctx.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=item.raw["ReceiptHandle"])
        self.held.remove(item)

    def release(self) -> None:
        for item in self.held:
            try:
                self.ctx.sqs.change_message_visibility(QueueUrl=self.queue_url,
                                                       ReceiptHandle=item.raw["ReceiptHandle"], VisibilityTimeout=0)
            except Exception as exc:
                if not is_aws_error(exc):
                    raise
        self.held.clear()


def take_notices(ctx: RuntimeContext, deaths: dict[str, int]) -> int:
    """Delete the dead-files queue's announcements of the files in ``deaths`` (file id -> death number) up to that
    death: what an operator redrove or skipped is no longer news. Returns how many were deleted."""
    if not ctx.dead_files_queue_url or not deaths:
        return 0
    scan, taken = FifoScan(ctx, ctx.dead_files_queue_url), 0
    try:
        for item in scan:
            notice = item.notice
            if notice is not None and notice.death <= deaths.get(notice.file_id, -1):
                scan.delete(item)
                taken += 1
    finally:
        scan.release()
    return taken
