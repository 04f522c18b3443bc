"""One way every SQS handler processes its batch: partial batch responses (``ReportBatchItemFailures``).

The event source mappings report item failures, so a handler returns ``{"batchItemFailures": [{"itemIdentifier":
messageId}, ...]}`` naming the records whose processing raised (an empty list when all succeeded), and Lambda
deletes the others. It never raises for a failed record, nor for a batch in which every record failed: the
dispatcher's batches are one wake-up, every hold for a settle or backoff wait is a "failed" record, and raising
would turn each hold into a Lambda error (and an alarm). Only an exception that is not an ``Exception`` (the
emulator's ``FunctionCrash``, a ``KeyboardInterrupt``) goes through, as a crash would. Every record is
processed even after one failed: right for the standard intake and completion queues; the ordered (FIFO) queue,
where AWS asks a function to stop at the first failure and report the rest, sends batches of one.

This used to be Powertools' batch utility. It is hand-rolled because it was the largest part of a handler's cold
start (0.17x a bare ``import boto3``, against the issue's 1.3x goal for the whole handler): Powertools'
``utilities.batch.base`` imports ``asyncio`` (for ``AsyncBatchProcessor``) and the record classes of four event
sources, each of which loads every Powertools data class. What the handlers need from it is the loop below.
Powertools' Logger and Metrics stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from landing_pipeline.runtime import observability as obs

C = TypeVar("C")


class UnexpectedBatchEvent(ValueError):
    """The event is not an SQS batch (no ``Records`` list, or a record without a ``messageId``): the function was
    invoked by something other than its event source mapping. Nothing was processed."""


class RetryLater(Exception):
    """Not an error: the record handler wants the message back later (the dispatcher's settle and backoff holds,
    which have set its visibility). It is reported in ``batchItemFailures`` like a failure, but logged as the
    routine hold it is, without a traceback."""


class SQSRecord:
    """What the handlers read of an SQS record of a Lambda event (the event's other fields are not used)."""

    __slots__ = ("body", "message_id", "receipt_handle")

    def __init__(self, message_id: str, receipt_handle: str | None, body: str) -> None:
        self.message_id = message_id
        self.receipt_handle = receipt_handle
        self.body = body

    @classmethod
    def from_event(cls, record: Any, index: int) -> SQSRecord:
        """One record of the event; a record with no message id cannot be reported, so the event is refused."""
        message_id = record.get("messageId") if isinstance(record, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise UnexpectedBatchEvent(f"Records[{index}] has no messageId: not an SQS record")
        body = record.get("body")
        return cls(message_id, record.get("receiptHandle"), body if isinstance(body, str) else "")

    def __repr__(self) -> str:
        return f"SQSRecord(message_id={self.message_id!r})"


def sqs_records(event: Any) -> list[SQSRecord]:
    """The event's records, all checked before any is processed, so a malformed event changes nothing."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise UnexpectedBatchEvent("the event has no Records list, as an SQS event source mapping sends: got "
                                   f"{_shape(event)}. Invoke the function through its queue")
    return [SQSRecord.from_event(record, index) for index, record in enumerate(records)]


def process_batch(ctx: C, event: Any, record_handler: Callable[[C, SQSRecord], Any]) -> dict[str, Any]:
    """Run ``record_handler`` on each record in order; those that raised come back in ``batchItemFailures``.

    Each failure is logged with its message id and exception (the handlers log the traceback themselves, with
    the file's or group's keys, where they know them)."""
    failures: list[dict[str, str]] = []
    for record in sqs_records(event):
        try:
            record_handler(ctx, record)
        except RetryLater as exc:
            obs.logger.info("record held: it comes back later", extra={"message_id": record.message_id,
                                                                       "reason": str(exc)})
            failures.append({"itemIdentifier": record.message_id})
        except Exception as exc:
            obs.logger.warning("record failed: reported in batchItemFailures, SQS delivers it again",
                               extra={"message_id": record.message_id, "error": f"{type(exc).__name__}: {exc}"})
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def _shape(event: Any) -> str:
    if not isinstance(event, dict):
        return type(event).__name__
    return f"keys {sorted(map(str, event))[:10]}" if event else "an empty object"
