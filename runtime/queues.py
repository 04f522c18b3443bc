"""The ordered queue's message and the SQS calls the handlers make on it.

The message body is a small JSON document naming one file version (the ledger
holds everything else), so a redrive or a replay carries exactly what the
dispatcher needs. The helpers here turn SQS's ways of saying "that receipt
handle is no longer yours" into a plain False, because after a redelivery a
stale handle is expected, not an error: the ledger decides what happens next.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime.context import aws_error_code
from landing_pipeline.runtime.values import Frozen

if TYPE_CHECKING:   # types only: the handlers import this module for its SQS helpers, not for the v1 file message
    from landing_pipeline.runtime.context import RuntimeContext
    from landing_pipeline.runtime.job_args import JobInput
    from landing_pipeline.runtime.ledger import FileRecord
    from landing_pipeline.runtime.spec import PipelineSpec

THROTTLE_BACKOFF_CAP_S = 900
REASON_ATTRIBUTE = "reason"
FILE_ID_ATTRIBUTE = "file_id"
_STALE_CODES = ("ReceiptHandleIsInvalid", "MessageNotInflight", "InvalidParameterValue", "InvalidReceiptHandle")


class MalformedFileMessage(ValueError):
    """An ordered-queue body that is not a file document (nothing but this package should write one)."""


class FileMessage(Frozen):
    """One file version as an ordered-queue message body (a JSON document)."""

    _fields = __slots__ = ("file_id", "bucket", "key", "version_id", "etag", "size", "group", "received_at")
    file_id: str
    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int | None
    group: str
    received_at: str | None

    def __init__(self, file_id: str, bucket: str, key: str, version_id: str | None, etag: str, size: int | None,
                 group: str, received_at: str | None) -> None:
        self._init(file_id, bucket, key, version_id, etag, size, group, received_at)

    def to_body(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_body(cls, body: str) -> FileMessage:
        try:
            document = json.loads(body)
        except (TypeError, json.JSONDecodeError) as exc:
            raise MalformedFileMessage(f"body is not JSON ({exc})") from None
        if not isinstance(document, dict):
            raise MalformedFileMessage("body is not a JSON object")
        missing = [name for name in ("file_id", "bucket", "key", "group") if not document.get(name)]
        if missing:
            raise MalformedFileMessage(f"body lacks {', '.join(missing)}")
        size = document.get("size")
        return cls(file_id=str(document["file_id"]), bucket=str(document["bucket"]), key=str(document["key"]),
                   version_id=document.get("version_id") or None, etag=str(document.get("etag") or ""),
                   size=int(size) if isinstance(size, int | float) else None, group=str(document["group"]),
                   received_at=document.get("received_at"))

    @classmethod
    def from_record(cls, record: FileRecord) -> FileMessage:
        return cls(file_id=record.file_id, bucket=record.bucket, key=record.key, version_id=record.version_id,
                   etag=record.etag, size=record.size, group=record.group, received_at=record.received_at)

    @property
    def job_input(self) -> JobInput:
        from landing_pipeline.runtime.job_args import JobInput

        return JobInput(bucket=self.bucket, key=self.key, version_id=self.version_id, group=self.group,
                        file_id=self.file_id)


def send_ordered(ctx: RuntimeContext, message: FileMessage, *, dedup_id: str | None = None,
                 queue_url: str | None = None) -> None:
    """Enqueue in the file's group: the FIFO order of these sends is the order files are processed in."""
    ctx.sqs.send_message(QueueUrl=queue_url or ctx.ordered_queue_url, MessageBody=message.to_body(),
                         MessageGroupId=message.group, MessageDeduplicationId=dedup_id or message.file_id)


def park_in_dlq(ctx: RuntimeContext, body: str, *, group: str, dedup_id: str, reason: str,
                file_id: str | None = None) -> None:
    """Send a dead file to the FIFO DLQ ourselves (same group and dedup id, so a repeat within five
    minutes is dropped by SQS and a redrive puts it back in its group), with the reason attached."""
    attributes = {REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000] or "unknown"}}
    if file_id:
        attributes[FILE_ID_ATTRIBUTE] = {"DataType": "String", "StringValue": file_id}
    ctx.sqs.send_message(QueueUrl=ctx.ordered_dlq_url, MessageBody=body, MessageGroupId=group,
                         MessageDeduplicationId=dedup_id, MessageAttributes=attributes)


def delete_message(ctx: RuntimeContext, receipt_handle: str | None, queue_url: str | None = None) -> bool:
    """Delete (release the group); False when the handle is stale, i.e. the message was redelivered."""
    if not receipt_handle:
        return False
    try:
        ctx.sqs.delete_message(QueueUrl=queue_url or ctx.ordered_queue_url, ReceiptHandle=receipt_handle)
        return True
    except Exception as exc:
        if aws_error_code(exc) in _STALE_CODES or str(aws_error_code(exc)).endswith("MessageNotInflight"):
            return False
        raise


def set_visibility(ctx: RuntimeContext, receipt_handle: str | None, seconds: int) -> int | None:
    """Make the held message visible again in ``seconds``; the seconds actually set, or None when the
    handle is stale. SQS refuses to hold a message past 12 hours in total, so a refused long hold is
    retried shorter rather than lost."""
    if not receipt_handle:
        return None
    wanted = max(0, int(seconds))
    while True:
        try:
            ctx.sqs.change_message_visibility(QueueUrl=ctx.ordered_queue_url, ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=wanted)
            return wanted
        except Exception as exc:
            code = aws_error_code(exc)
            if code == "InvalidParameterValue" and "VisibilityTimeout" in str(exc) and wanted > 60:
                wanted //= 2
                continue
            if code in _STALE_CODES or str(code).endswith("MessageNotInflight"):
                return None
            raise


def throttle_backoff_s(spec: PipelineSpec, receive_count: int, rng: random.Random) -> int:
    """Visibility after Glue refused a start for its API request rate (``ThrottlingException``): doubling
    with each delivery, capped at 15 minutes, with jitter so groups refused together do not all come back in
    the same second. Such a refusal clears in seconds and no run's end announces it, so a short retry fits.

    A start refused because every slot is busy waits for the slot handoff instead (``waiting_visibility_s``):
    retrying it on this backoff costs a receive per retry, and a long wait then reaches the queue's
    maxReceiveCount although nothing failed (the behaviour before the handoff; the simulator compares it)."""
    delay = min(spec.throttle_backoff_s * 2 ** min(max(receive_count - 1, 0), 10), THROTTLE_BACKOFF_CAP_S)
    return max(1, int(delay / 2 + rng.uniform(0, delay / 2)))


def waiting_visibility_s(spec: PipelineSpec) -> int:
    """Visibility of a file waiting for a Glue slot: only a fallback, as the run that frees a slot wakes the
    longest waiter at once (runtime/handoff.py). Every run ends, and is reported, within the job timeout plus
    the hold margin, so a waiter whose wake-up was lost looks again at least that often, and a long wait costs
    one receive per ``hold_visibility_s`` rather than one per backoff."""
    return spec.hold_visibility_s


def message_attribute(record: Any, name: str) -> str | None:
    """A message attribute's string value from a raw SQS record (Lambda event or ReceiveMessage shape)."""
    attributes = record.get("messageAttributes") or record.get("MessageAttributes") or {}
    value = attributes.get(name) or {}
    return value.get("stringValue") or value.get("StringValue")
