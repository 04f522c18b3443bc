"""The router Lambda: intake queue -> ledger RECEIVED -> ordered FIFO queue, one group per file name rule.

EventBridge cannot give each event its own MessageGroupId, so this function
computes the group (the same code the simulator uses) and the deterministic
dedup id, records the file once in the ledger, and enqueues it. The order of
these sends is the order files of a group are processed in.

A message that can never become a file (malformed JSON, an event of the wrong
shape, a key the grouping rule rejects) is a permanent failure: it is sent to
the intake DLQ by this function, with the reason as a message attribute, and
reported as processed. Reporting it as a batch item failure instead would
retry it until the intake queue's maxReceiveCount and deliver it to the DLQ
without saying why. Only when ``LANDING_INTAKE_DLQ_URL`` is missing does the
router fall back to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.batch import process_batch
from landing_pipeline.runtime.context import RuntimeContext, handler_context
from landing_pipeline.runtime.events import IgnoredEvent, MalformedEvent, ObjectCreated, parse_message_body
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.ledger import FileRecord, Status, iso, sequence_at_ms
from landing_pipeline.runtime.queues import REASON_ATTRIBUTE, FileMessage, send_ordered
from landing_pipeline.runtime.spec import PipelineSpec

REQUIRED = ("ordered_queue_url", "ledger_table")


class PermanentFailure(Exception):
    """The message can never be processed and there is no intake DLQ URL to park it in."""


@dataclass
class Routed:
    """What the router did with one intake message (tests and the emulator read it)."""

    enqueued: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def ignore_reason(spec: PipelineSpec, obj: ObjectCreated) -> str | None:
    """Why the spec says this object is not a file to ingest, or None to ingest it."""
    if spec.ignore_folder_markers and obj.is_folder_marker:
        return "folder marker (key ends with '/')"
    if spec.ignore_empty_objects and obj.is_empty:
        return "zero-byte object"
    if spec.key_prefix and not obj.key.startswith(spec.key_prefix):
        return f"key is outside keyPrefix {spec.key_prefix!r}"
    if spec.key_suffixes and not obj.key.endswith(tuple(spec.key_suffixes)):
        return f"key does not end with one of keySuffixes {list(spec.key_suffixes)}"
    return None


def route(ctx: RuntimeContext, body: str) -> Routed:
    """Route one intake message (one EventBridge event, or an S3 notification with several records)."""
    routed = Routed()
    try:
        objects = parse_message_body(body)
    except IgnoredEvent as exc:
        obs.logger.info("event ignored", extra={"reason": exc.reason})
        obs.count(obs.IGNORED)
        routed.ignored.append(exc.reason)
        return routed
    except MalformedEvent as exc:
        reject(ctx, body, f"malformed event: {exc.reason}")
        routed.rejected.append(exc.reason)
        return routed
    for obj in objects:
        with obs.file_context(key=obj.key, file_id=obj.dedup_id):
            _route_object(ctx, body, obj, routed)
    return routed


def _route_object(ctx: RuntimeContext, body: str, obj: ObjectCreated, routed: Routed) -> None:
    reason = ignore_reason(ctx.spec, obj)
    if reason is not None:
        obs.logger.info("object ignored", extra={"reason": reason})
        obs.count(obs.IGNORED)
        routed.ignored.append(obj.key)
        return
    try:
        group = group_for_key(obj.key, ctx.spec)
    except UngroupableKey as exc:
        reject(ctx, body, f"ungroupable key {obj.key!r}: {exc.reason}")
        routed.rejected.append(obj.key)
        return
    obs.add_keys(group=group)
    now = ctx.now()
    file_id = obj.dedup_id
    seq = sequence_at_ms(ctx.sequence_ms(now), file_id)
    record = FileRecord(file_id=file_id, bucket=obj.bucket, key=obj.key, group=group, etag=obj.etag,
                        version_id=obj.version_id, size=obj.size, status=Status.RECEIVED, received_at=iso(now),
                        received_seq=seq, enqueue_seq=seq)
    stored, created = ctx.ledger.record_received(record)
    if not created and stored.status != Status.RECEIVED:
        # already dispatched (or done): a repeated S3 / EventBridge delivery, caught beyond the FIFO window
        obs.logger.info("duplicate event for a file already dispatched", extra={"status": stored.status})
        obs.count(obs.DUPLICATE)
        routed.duplicates.append(obj.key)
        return
    # a RECEIVED item may be ours from a run that crashed before sending: send (the FIFO dedup id
    # drops a second copy within five minutes; after that the dispatcher sees a duplicate)
    send_ordered(ctx, FileMessage.from_record(stored))
    if created:
        obs.count(obs.RECEIVED)
    obs.logger.info("file enqueued", extra={"received_seq": stored.received_seq, "new_file": created})
    routed.enqueued.append(obj.key)


def reject(ctx: RuntimeContext, body: str, reason: str) -> None:
    """Park a message that can never become a file in the intake DLQ, saying why."""
    obs.count(obs.REJECTED)
    obs.logger.error("message rejected to the intake DLQ", extra={"reason": reason})
    if not ctx.intake_dlq_url:
        raise PermanentFailure(f"{reason} (LANDING_INTAKE_DLQ_URL is not set: left to the intake queue's redrive)")
    ctx.sqs.send_message(QueueUrl=ctx.intake_dlq_url, MessageBody=body, MessageAttributes={
        REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000]}})


def _record_handler(ctx: RuntimeContext, record: SQSRecord) -> Routed:
    try:
        return route(ctx, record.body)
    except PermanentFailure:
        raise
    except Exception:
        obs.logger.exception("routing failed; the message will be retried",
                             extra={"message_id": record.message_id})
        raise


def process_event(ctx: RuntimeContext, event: dict[str, Any], lambda_context: Any = None) -> dict[str, Any]:
    """Route an SQS batch with partial failures; the response is what the event source mapping reads."""
    return process_batch(ctx, event, _record_handler, lambda_context)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event, context)
