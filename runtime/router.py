"""The router Lambda: intake queue -> the file recorded in its group's ordered list -> at most one wake-up.

It computes the group (the same code the simulator uses), the file's dedup id and its order key
(``orderBy``: the S3 event's time, key and sequencer, or the file name), and records the file, its pointer
item and the group's ``seq + 1`` in one transaction. The order files run in is the order of their keys in
the ledger, not the order routers happen to run in (F3). A file whose key sorts before one already started
is *late* (counted, logged; ``lateFiles`` says what happens to it). When the group is idle with no wake-up
pending, the same write sets ``wake_pending`` and the router sends the one wake-up.

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

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.batch import SQSRecord, process_batch
from landing_pipeline.runtime.context import RuntimeContext, handler_context
from landing_pipeline.runtime.events import IgnoredEvent, MalformedEvent, ObjectCreated, parse_message_body
from landing_pipeline.runtime.group_state import OpenFile, Policy
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.ledger import Lineage
from landing_pipeline.runtime.order import event_epoch_s, order_key, readable, sort_key
from landing_pipeline.runtime.queues import REASON_ATTRIBUTE
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.wakeups import send_wake

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
    unmatched = _unmatched_reason(ctx.spec, group, obj.key)
    if unmatched is not None:
        reject(ctx, body, unmatched)
        routed.rejected.append(obj.key)
        return
    now = ctx.now()
    file_id = obj.dedup_id
    landed = event_epoch_s(obj.event_time, now)
    key = sort_key(order_key(ctx.spec.order_by, landed_s=landed, key=obj.key, sequencer=obj.sequencer), file_id)
    lineage = Lineage(bucket=obj.bucket, key=obj.key, etag=obj.etag, version_id=obj.version_id, size=obj.size,
                      recorded_at=now)
    stored = OpenFile(key, file_id, landed_at=float(landed), size=int(obj.size or 0))
    feed = _file_name_feed(ctx.spec, group, obj.key)
    recorded = ctx.ledger.record_file(group, stored, lineage, wake_check_s=Policy.from_spec(ctx.spec).check_interval_s,
                                      feed=feed)
    if recorded.feed_conflict is not None:
        reject(ctx, body, f"{obj.key!r} reaches {_reach(feed)} but the files of its group {group!r} go to "
                          f"{_reach(recorded.feed_conflict)} (its first file's); a group's files all go to one feed. "
                          "Fix: correct the feeds' match patterns, or rename the file")
        routed.rejected.append(obj.key)
        return
    if not recorded.created:
        # a repeated S3 / EventBridge delivery, caught beyond any dedup window by the pointer item
        obs.logger.info("duplicate event for a file already recorded")
        obs.count(obs.DUPLICATE)
        routed.duplicates.append(obj.key)
        return
    obs.count(obs.RECEIVED)
    if recorded.late:
        obs.count(obs.LATE)
        obs.logger.warning("late file: recorded after a later file of its group had started",
                           extra={"order": readable(key), "late_files": ctx.spec.late_files})
    if recorded.wake_id is not None:   # this write set wake_pending: the one wake-up of the group
        send_wake(ctx, group, recorded.wake_id)
    obs.logger.info("file recorded", extra={"order": readable(key), "woke": recorded.wake_id is not None})
    routed.enqueued.append(obj.key)


def _file_name_feed(spec: PipelineSpec, group: str, key: str) -> str | None:
    """For feeds that match on the file name, the feed the file reaches ("" none), which the ledger holds the
    group to; None when feeds match on the group, where every file of a group reaches the same feed anyway."""
    if not any(f.match_on == "file_name" for f in spec.feeds):
        return None
    from landing_pipeline.runtime.feeds import feed_of_key

    feed = feed_of_key(spec.feeds, group, key)
    return feed.name if feed is not None else ""


def _unmatched_reason(spec: PipelineSpec, group: str, key: str) -> str | None:
    """Why the stack parks a file no feed matches (``unmatchedFiles: reject``), else None. Without feeds there is
    nothing to match, and the feeds module is not imported at all."""
    if not spec.feeds:
        return None
    from landing_pipeline.runtime.feeds import unmatched_reason

    return unmatched_reason(spec.feeds, spec.unmatched_files, group, key)


def _reach(feed: str | None) -> str:
    return f"feed {feed!r}" if feed else "no feed"


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


def process_event(ctx: RuntimeContext, event: dict[str, Any]) -> dict[str, Any]:
    """Route an SQS batch with partial failures; the response is what the event source mapping reads."""
    return process_batch(ctx, event, _record_handler)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event)
