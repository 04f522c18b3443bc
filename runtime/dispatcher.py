"""The dispatcher Lambda: a group's wake-up -> load the group strongly -> decide -> take the lease -> start.

A wake-up names only a group; the ledger holds its work in order. The dispatcher reads the group item and
its open files in one strongly consistent Query, asks ``runtime.decide`` what to do, commits that with a
condition on the group item's counters (a file recorded meanwhile, or a duplicate delivery that moved first,
makes the commit fail: decide again), then calls StartJobRun with SDK retries off and the lease's run token
as a job argument, and lets the message be deleted. No message is held for a run: the lease is the hold.

A message is held only briefly, while the head file settles (``settleSeconds``) or backs off after a failure.
A duplicate delivery finds the epoch moved and a live lease, and does nothing (F2). See docs/runtime.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

# every start builds its run's arguments (acting.start_run imports job_args where it does): loaded with this
# module, in the init phase, not at the dispatcher's first start
from landing_pipeline.runtime import job_args  # noqa: F401
from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.acting import carry_out, policy, resolve_check, start_run
from landing_pipeline.runtime.batch import RetryLater, SQSRecord, process_batch
from landing_pipeline.runtime.context import RuntimeContext, handler_context
from landing_pipeline.runtime.decide import Caller, decide
from landing_pipeline.runtime.ledger import Commit
from landing_pipeline.runtime.queues import set_visibility
from landing_pipeline.runtime.wakeups import MalformedWakeUp, parse_wake

REQUIRED = ("ordered_queue_url", "ledger_table", "job_name", "output_bucket")
_REEVALUATIONS = 6


class HoldWake(RetryLater):
    """Not an error: the batch processor reports this message as failed, so it comes back in ``seconds``."""

    def __init__(self, kind: str, seconds: int):
        self.kind = kind
        self.seconds = seconds
        super().__init__(f"{kind}: back in {seconds} s")


def dispatch(ctx: RuntimeContext, group: str, receipt_handle: str | None = None) -> str:
    """Handle one wake-up of ``group``; returns what was done (start, settle, backoff, wait_for_slot, blocked,
    idle, hold, ...). Raises ``HoldWake`` when the message must come back later."""
    for _ in range(_REEVALUATIONS):
        view = ctx.ledger.load_group(group)
        rules = policy(ctx, group, view.group.feed)
        d = decide(view.group, view.files, ctx.now(), rules, caller=Caller.DISPATCHER)
        if d.check is not None:
            resolved = resolve_check(ctx, view, d, Caller.DISPATCHER)
            if resolved != "live":
                continue          # the lease ended, moved or was restarted: decide again on the new state
            d = replace(d, check=None)
        if not d.writes:
            return d.kind
        result = carry_out(ctx, view, d)
        if result == Commit.NO_SLOT:
            d = decide(view.group, view.files, ctx.now(), rules, caller=Caller.DISPATCHER, slot_free=False)
            result = carry_out(ctx, view, d)
        if result == Commit.CONFLICT:
            continue
        obs.logger.info("wake-up decided", extra={"action": d.kind, "reason": d.reason})
        if d.lease is not None:
            if d.kind != "start":
                return d.kind
            started = start_run(ctx, view, d)
            if started == "throttled":   # the refusal's backoff is this wake-up's to keep (nobody else wakes)
                _hold_for_backoff(ctx, group, receipt_handle)
            return started
        if d.hold_wake_s is not None:
            if receipt_handle is not None:
                set_visibility(ctx, receipt_handle, d.hold_wake_s)
            raise HoldWake(d.kind, d.hold_wake_s)
        return d.kind
    raise RuntimeError(f"group {group!r} kept changing while a wake-up was handled; the message will be retried")


def _hold_for_backoff(ctx: RuntimeContext, group: str, receipt_handle: str | None) -> None:
    import math

    after = ctx.ledger.get_group(group)
    if after is None or after.not_before is None or not after.wake_pending:
        return
    seconds = max(1, math.ceil(after.not_before - ctx.now()))
    if receipt_handle is not None:
        set_visibility(ctx, receipt_handle, seconds)
    raise HoldWake("throttled", seconds)


def _record_handler(ctx: RuntimeContext, record: SQSRecord) -> str:
    try:
        group = parse_wake(record.body)
    except MalformedWakeUp as exc:
        obs.count(obs.REJECTED)
        park_malformed(ctx, record, str(exc))
        return "malformed"
    with obs.file_context(group=group):
        try:
            return dispatch(ctx, group, record.receipt_handle)
        except HoldWake:
            raise
        except Exception:
            obs.logger.exception("dispatch failed; the wake-up will be retried")
            raise


def park_malformed(ctx: RuntimeContext, record: SQSRecord, reason: str) -> None:
    """A body that is not a wake-up (nothing but this package should write one: a hand-sent message, a v1
    file message) goes to the ordered DLQ with its reason, so an operator sees it; retrying cannot help."""
    import hashlib

    from landing_pipeline.runtime.queues import REASON_ATTRIBUTE

    obs.logger.error("malformed wake-up parked in the ordered DLQ", extra={"reason": reason,
                                                                          "body": record.body[:500]})
    if not ctx.ordered_dlq_url:
        return
    ctx.sqs.send_message(QueueUrl=ctx.ordered_dlq_url, MessageBody=record.body or "(empty)",
                         MessageGroupId="malformed",
                         MessageDeduplicationId=hashlib.sha256(record.message_id.encode()).hexdigest()[:64],
                         MessageAttributes={REASON_ATTRIBUTE: {"DataType": "String",
                                                               "StringValue": f"malformed wake-up: {reason}"[:1000]}})


def process_event(ctx: RuntimeContext, event: dict[str, Any]) -> dict[str, Any]:
    """Dispatch an SQS batch; a wake-up held for a settle or backoff wait is reported in ``batchItemFailures``."""
    return process_batch(ctx, event, _record_handler)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event)
