"""The dispatcher Lambda: the hold that keeps a group's files strictly one after another.

Glue's StartJobRun returns at once. If this function returned success, SQS would
delete the message and release the FIFO group while the run still works, and
the group's next file would start beside it. So after starting a run it extends
the message's visibility to the job timeout plus a margin and reports the
message as a batch item failure: the message stays in flight and SQS delivers
nothing else of its group until the completion handler deletes it.

Every delivery is decided from the ledger, not from the message: the same
message comes back after a throttled start, a lost completion event, a crash,
or a retry backoff, and the file's status says which of those it is. See
docs/runtime.md for the state machine.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.batch import process_batch
from landing_pipeline.runtime.context import RuntimeContext, aws_error_code, handler_context, is_aws_error
from landing_pipeline.runtime.job_args import job_arguments
from landing_pipeline.runtime.ledger import NOT_FINAL, FileRecord, Status, iso, parse_iso, sequence
from landing_pipeline.runtime.outcomes import park, retry_delay_s
from landing_pipeline.runtime.queues import (
    FileMessage,
    MalformedFileMessage,
    park_in_dlq,
    send_ordered,
    set_visibility,
    throttle_backoff_s,
    waiting_visibility_s,
)
from landing_pipeline.runtime.recovery import Decision, act_on_run_state, check_running, find_run

REQUIRED = ("ordered_queue_url", "ordered_dlq_url", "ledger_table", "job_name", "output_bucket")
NO_SLOT_CODES = ("ConcurrentRunsExceededException", "ResourceNumberLimitExceededException")
"""Every Glue slot is busy (the job's MaxConcurrentRuns, or the account's): wait for a run to end (the handoff)."""
RATE_CODES = ("ThrottlingException",)
"""Glue's API request rate: gone in seconds, and no run's end announces it, so a short backoff."""
MISSING_OBJECT_CODES = ("404", "NoSuchKey", "NoSuchVersion", "NotFound")
BLOCKED_RECHECK_S = 3600
"""A BLOCKED file looks again this often; the CLI's redrive and skip wake it at once. Each look is a
receive, so with the default receive ceiling of 100 a group can wait about four days for an operator."""
_REEVALUATIONS = 4


HOLD_STARTED = "started"
_PROCEED = Decision(False, "proceed")  # sentinel: nothing in the group stops this file


class HoldMessage(Exception):
    """Not an error: tells the batch processor to report this message as failed, so it stays in flight."""

    def __init__(self, decision: Decision):
        self.decision = decision
        super().__init__(decision.reason)


def dispatch(ctx: RuntimeContext, message: FileMessage, receipt_handle: str, receive_count: int = 1) -> Decision:
    """Decide one delivery of ``message`` from the ledger, acting on Glue, the ledger and the message."""
    ledger = ctx.ledger
    record = ledger.get(message.file_id)
    if record is None:  # the message outlived its ledger item (table restored, item deleted): recreate it
        now = ctx.now()
        record, _ = ledger.record_received(FileRecord(
            file_id=message.file_id, bucket=message.bucket, key=message.key, group=message.group,
            etag=message.etag, version_id=message.version_id, size=message.size,
            received_at=message.received_at or iso(now), received_seq=sequence(now, message.file_id),
            enqueue_seq=sequence(now, message.file_id)))
    for _ in range(_REEVALUATIONS):
        obs.add_keys(attempt=record.attempts or None, run_id=record.current_run_id)
        decision = _step(ctx, message, record, receipt_handle, receive_count)
        if decision is not None:
            return decision
        # a conditional write lost a race (the completion handler moved first): decide again from the ledger
        fresh = ledger.get(message.file_id)
        if fresh is None:
            raise RuntimeError(f"ledger item file#{message.file_id} disappeared while dispatching")
        record = fresh
    raise RuntimeError(f"ledger item file#{message.file_id} kept changing; the message will be retried")


def _step(ctx: RuntimeContext, message: FileMessage, record: FileRecord, handle: str,
          receive_count: int) -> Decision | None:
    status = record.status
    if status == Status.SUCCEEDED:
        obs.count(obs.DUPLICATE)
        obs.logger.info("duplicate delivery of a file that already succeeded; deleted")
        return Decision(False, "duplicate")
    if status == Status.SKIPPED:
        obs.logger.info("file was skipped by an operator; deleted")
        return Decision(False, "skipped")
    if status == Status.DEAD:  # e.g. the completion handler crashed between parking and deleting
        park(ctx, record, record.last_error or "DEAD", count=False)
        return Decision(False, "parked")
    if status == Status.STARTING:
        return _recover_starting(ctx, message, record, handle, receive_count)
    if status == Status.RUNNING:
        return check_running(ctx, record, handle)
    return _maybe_start(ctx, message, record, handle, receive_count)


def _maybe_start(ctx: RuntimeContext, message: FileMessage, record: FileRecord, handle: str,
                 receive_count: int) -> Decision | None:
    spec, ledger = ctx.spec, ctx.ledger
    if record.attempts_since_redrive >= spec.max_attempts:  # e.g. max_attempts lowered since the last run
        dead = ledger.record_dead(record.file_id, f"max_attempts={spec.max_attempts} used up")
        if dead is None:
            return None
        park(ctx, dead, dead.last_error or "DEAD")
        return Decision(False, "parked")
    if record.status == Status.FAILED and record.finished_at:  # without it: the attempt ended long ago
        wait = retry_delay_s(ctx, record)
        if wait > 1:  # redelivered before its backoff ended (a completion used a stale receipt handle)
            set_visibility(ctx, handle, wait)
            return Decision(True, "backoff")
    if spec.on_failure == "block":
        blocked = _blocked(ctx, message, record, handle)
        if blocked is not _PROCEED:
            return blocked
    missing = _object_missing(ctx, message)
    if missing:
        dead = ledger.record_dead(record.file_id, missing)
        if dead is None:
            return None
        park(ctx, dead, missing)
        return Decision(False, "parked")
    attempt = record.attempts + 1
    intent = ledger.begin_attempt(record.file_id, attempt, handle)
    if intent is None:
        return None
    back_to = Status.FAILED if record.status == Status.FAILED else Status.RECEIVED
    return _start(ctx, message, intent, attempt, handle, receive_count, back_to, finished_at=record.finished_at)


def _blocked(ctx: RuntimeContext, message: FileMessage, record: FileRecord, handle: str) -> Decision | None:
    """on_failure=block: wait behind an earlier DEAD file; step behind an earlier file an operator redrove."""
    earlier = ctx.ledger.group_files(record.group, before_seq=record.received_seq,
                                     statuses=(Status.DEAD, *NOT_FINAL))
    dead = [f for f in earlier if f.status == Status.DEAD]
    if dead:
        reason = f"waiting: earlier file {dead[0].key!r} of the group is DEAD; redrive or skip it"
        if ctx.ledger.mark_blocked(record.file_id, reason, handle) is None:
            return None
        set_visibility(ctx, handle, BLOCKED_RECHECK_S)
        obs.count(obs.BLOCKED)
        obs.logger.warning("file blocked behind a DEAD file", extra={"dead_key": dead[0].key})
        return Decision(True, "blocked")
    redriven = [f for f in earlier if f.redrives > 0 and f.file_id != record.file_id]
    if redriven:
        # the redriven file is behind us in the FIFO queue: go to the back so it runs first
        reason = f"yielded to redriven earlier file {redriven[0].key!r}"
        send_ordered(ctx, message, dedup_id=f"{message.file_id}-y{int(ctx.now() * 1000)}")
        ctx.ledger.record_requeued(record.file_id, reason)
        obs.logger.info("file requeued behind a redriven earlier file", extra={"redriven_key": redriven[0].key})
        return Decision(False, "yielded")
    return _PROCEED


def _object_missing(ctx: RuntimeContext, message: FileMessage) -> str | None:
    """A reason when the landed object (this version) is gone: no run could succeed, so it is DEAD now."""
    request: dict[str, str] = {"Bucket": message.bucket, "Key": message.key}
    if message.version_id:
        request["VersionId"] = message.version_id
    try:
        ctx.s3.head_object(**request)
    except Exception as exc:
        if is_aws_error(exc, *MISSING_OBJECT_CODES):
            return f"object deleted before processing: s3://{message.bucket}/{message.key} ({aws_error_code(exc)})"
        if is_aws_error(exc):  # e.g. 403: the job will say more; do not kill the file on a permission glitch
            obs.logger.warning("could not check the object before starting", extra={"error": str(exc)})
            return None
        raise
    return None


def _start(ctx: RuntimeContext, message: FileMessage, intent: FileRecord, attempt: int, handle: str,
           receive_count: int, back_to: str, *, finished_at: str | None = None) -> Decision | None:
    """``back_to`` and ``finished_at``: the status (and end of the previous attempt) a refused start returns
    the file to, so a refused retry does not start its backoff over."""
    arguments = job_arguments(ctx.spec, message.job_input, attempt=attempt, output_bucket=ctx.output_bucket)
    try:
        run_id = str(ctx.glue.start_job_run(JobName=ctx.job_name, Arguments=arguments)["JobRunId"])
    except Exception as exc:
        if not is_aws_error(exc, *NO_SLOT_CODES, *RATE_CODES):
            raise
        ctx.ledger.abandon_attempt(intent.file_id, attempt, back_to, finished_at)  # a refused start is no attempt
        obs.count(obs.THROTTLED)
        if is_aws_error(exc, *NO_SLOT_CODES):
            return _wait_for_slot(ctx, intent.file_id, handle, aws_error_code(exc))
        delay = throttle_backoff_s(ctx.spec, receive_count, ctx.rng)
        set_visibility(ctx, handle, delay)
        obs.logger.warning("Glue start throttled (request rate); retrying later",
                           extra={"error_code": aws_error_code(exc), "retry_in_s": delay})
        return Decision(True, "throttled")
    obs.add_keys(run_id=run_id, attempt=attempt)
    obs.count(obs.STARTED)
    received = parse_iso(intent.received_at)
    if attempt == 1 and received is not None:
        obs.seconds(obs.QUEUE_WAIT, ctx.now() - received)
    return _hold(ctx, intent, attempt, run_id, handle)


def _wait_for_slot(ctx: RuntimeContext, file_id: str, handle: str, code: str | None) -> Decision:
    """No free Glue slot: sleep on the long fallback visibility and join the waiters a run's end wakes.

    The fallback is set before the file is listed: a run that ends in between finds it only once listed, so
    its wake-up (visibility 0) always comes after the fallback and is never overwritten by it."""
    fallback = set_visibility(ctx, handle, waiting_visibility_s(ctx.spec))
    if fallback is None:  # this delivery's handle is already stale: the next delivery decides again
        return Decision(True, "throttled")
    waiting = ctx.ledger.mark_waiting(file_id, handle)
    obs.logger.info("no free Glue slot; waiting for a run to end", extra={
        "error_code": code, "fallback_s": fallback, "waiting_since": waiting.waiting_since if waiting else None})
    return Decision(True, "waiting")


def _hold(ctx: RuntimeContext, intent: FileRecord, attempt: int, run_id: str, handle: str) -> Decision | None:
    """Extend the visibility first (the run is already going), then record the run."""
    set_visibility(ctx, handle, ctx.spec.hold_visibility_s)
    if ctx.ledger.record_started(intent.file_id, attempt, run_id, handle) is None:
        return None  # the completion handler recorded the result first; re-decide from it
    obs.logger.info("run started; message held", extra={"hold_s": ctx.spec.hold_visibility_s})
    return Decision(True, HOLD_STARTED)


def _recover_starting(ctx: RuntimeContext, message: FileMessage, record: FileRecord, handle: str,
                      receive_count: int) -> Decision | None:
    """An intent without a recorded run: an earlier invocation died around StartJobRun. Find its run by
    its arguments rather than start a second one; start only if Glue has none."""
    attempt = record.attempts
    run = find_run(ctx, record, attempt)
    if run is None:
        obs.logger.warning("no Glue run found for a recorded intent; starting it now")
        back_to = Status.RECEIVED if attempt - 1 <= record.attempt_base else Status.FAILED
        return _start(ctx, message, record, attempt, handle, receive_count, back_to)
    run_id = str(run["Id"])
    obs.add_keys(run_id=run_id)
    obs.count(obs.RECOVERED)
    obs.logger.warning("found the run of a crashed dispatcher; adopting it", extra={"state": run.get("JobRunState")})
    if ctx.ledger.record_started(record.file_id, attempt, run_id, handle) is None:
        return None
    return act_on_run_state(ctx, record.file_id, attempt, run_id, run, handle)


def _park_malformed(ctx: RuntimeContext, record: SQSRecord, problem: str) -> None:
    group = record.attributes.message_group_id or "malformed"
    dedup = record.attributes.message_deduplication_id or hashlib.sha256(record.body.encode()).hexdigest()
    park_in_dlq(ctx, record.body, group=group, dedup_id=dedup, reason=f"malformed ordered-queue message: {problem}")
    obs.count(obs.REJECTED)
    obs.logger.error("malformed ordered-queue message parked in the FIFO DLQ", extra={"reason": problem})


def _record_handler(ctx: RuntimeContext, record: SQSRecord) -> Decision:
    try:
        message = FileMessage.from_body(record.body)
    except MalformedFileMessage as exc:
        _park_malformed(ctx, record, str(exc))
        return Decision(False, "malformed")
    receive_count = int(record.attributes.approximate_receive_count or 1)
    with obs.file_context(key=message.key, group=message.group, file_id=message.file_id):
        try:
            decision = dispatch(ctx, message, record.receipt_handle, receive_count)
        except Exception:
            obs.logger.exception("dispatch failed; the message will be retried")
            raise
        if decision.hold:
            raise HoldMessage(decision)
        return decision


def process_event(ctx: RuntimeContext, event: dict[str, Any], lambda_context: Any = None) -> dict[str, Any]:
    """Dispatch an SQS batch (size 1); a held message is reported in ``batchItemFailures``."""
    return process_batch(ctx, event, _record_handler, lambda_context)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event, context)
