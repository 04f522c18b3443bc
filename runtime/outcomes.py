"""What happens when a Glue run ends: shared by the completion handler and the dispatcher's recovery.

The completion handler learns of a finished run from its event; the dispatcher
learns of it when a held message comes back because that event was lost. Both
apply the same result here: the ledger first (a conditional write that only one
of them can win), then the effect on the held message (release it, delay it
for a retry, or park it in the FIFO DLQ), using the receipt handle that the
winning write returned or the one the dispatcher holds right now. The run's end
also frees a Glue slot: the one who wins the write wakes the file that has
waited longest for a slot (runtime/handoff.py), so a repeated event does not
wake a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.contract import GLUE_SUCCEEDED, INPUT_DELETED
from landing_pipeline.runtime.handoff import wake_waiter
from landing_pipeline.runtime.job_args import output_uri
from landing_pipeline.runtime.ledger import FileRecord, Status, parse_iso
from landing_pipeline.runtime.queues import FileMessage, delete_message, park_in_dlq, set_visibility

if TYPE_CHECKING:
    from landing_pipeline.runtime.context import RuntimeContext

_INPUT_DELETED = re.compile(r"(?<![\w-])" + re.escape(INPUT_DELETED))  # wherever Glue's error text puts it


def missing_object(error: str | None) -> bool:
    """Whether a run failed because its input is gone: retrying cannot help, so the file is DEAD at once.

    Only an error the job (or the emulator's staging) raised after checking the input itself counts: it
    says ``input deleted:`` (Glue prefixes the exception's name). A bare Spark ``PATH_NOT_FOUND`` or
    ``NoSuchKey`` may name another path, such as a snapshot version the pointer names; that run fails
    as what it is and is retried.
    """
    return bool(error and _INPUT_DELETED.search(error))


@dataclass(frozen=True)
class Applied:
    """The result of applying a run's end: ``action`` is released, retry, dead, already or stale."""

    action: str
    record: FileRecord | None
    visibility_s: int | None = None


def apply_run_result(ctx: RuntimeContext, file_id: str, attempt: int, run_id: str, state: str, error: str | None,
                     *, receipt_handle: str | None = None, delete: bool = True,
                     current: FileRecord | None = None) -> Applied:
    """Record the end of attempt ``attempt`` and act on the held message.

    ``receipt_handle``: the handle the caller holds right now (the dispatcher); None uses the handle the
    ledger returns atomically with the write. ``delete=False`` leaves deleting to the caller's batch
    response (the dispatcher's event source mapping deletes a message reported as a success).
    ``current``: the file's item if the caller has just read it (saves a read).
    """
    ledger = ctx.ledger
    current = current or ledger.get(file_id)
    if state == GLUE_SUCCEEDED:
        location = None
        if current is not None:
            location = output_uri(ctx.spec, ctx.output_bucket, current.group, file_id)
        record = ledger.record_outcome(file_id, attempt, run_id, Status.SUCCEEDED, output_location=location)
        if record is None:
            return _already_applied(ctx, file_id, attempt, run_id, state, receipt_handle, delete)
        obs.count(obs.SUCCEEDED)
        _held_for(ctx, record)
        obs.logger.info("run succeeded; group released", extra={"output_location": location})
        wake_waiter(ctx)  # before the release, so the oldest waiter is not beaten to the slot by this group
        if delete:
            delete_message(ctx, receipt_handle or record.receipt_handle)
        return Applied("released", record)

    reason = f"{state}: {error}" if error else state
    if current is None:
        return Applied("stale", None)
    terminal = missing_object(error)
    used_up = attempt - current.attempt_base >= ctx.spec.max_attempts
    status = Status.DEAD if terminal or used_up else Status.FAILED
    if terminal:
        reason = f"object deleted before processing ({reason})"
    elif used_up:
        reason = f"attempt {attempt} failed, max_attempts={ctx.spec.max_attempts} used up: {reason}"
    record = ledger.record_outcome(file_id, attempt, run_id, status, error=reason)
    if record is None:
        return _already_applied(ctx, file_id, attempt, run_id, state, receipt_handle, delete)
    obs.count(obs.FAILED)
    _held_for(ctx, record)
    wake_waiter(ctx)
    return _act_on_failure(ctx, record, receipt_handle or record.receipt_handle, delete)



def _act_on_failure(ctx: RuntimeContext, record: FileRecord, handle: str | None, delete: bool,
                    *, first_time: bool = True) -> Applied:
    if record.status == Status.DEAD:
        park(ctx, record, record.last_error or "DEAD", count=first_time)
        if delete:
            delete_message(ctx, handle)
        return Applied("dead", record)
    delay = retry_delay_s(ctx, record)
    set_to = set_visibility(ctx, handle, delay)
    obs.logger.warning("run failed; will retry", extra={"error": record.last_error, "retry_in_s": delay,
                                                        "handle_current": set_to is not None})
    return Applied("retry", record, delay)


def park(ctx: RuntimeContext, record: FileRecord, reason: str, *, count: bool = True) -> None:
    """Put a DEAD file in the FIFO DLQ. The dedup id is the file id, so parking twice within SQS's
    five-minute window (a crash between parking and deleting) leaves one message there."""
    park_in_dlq(ctx, FileMessage.from_record(record).to_body(), group=record.group, dedup_id=record.file_id,
                reason=reason, file_id=record.file_id)
    if count:
        obs.count(obs.DEAD)
    obs.logger.error("file is DEAD and parked in the FIFO DLQ", extra={"reason": reason})


def retry_delay_s(ctx: RuntimeContext, record: FileRecord) -> int:
    """Seconds until a FAILED file may start again: the spec's backoff from when the attempt ended."""
    delay = ctx.spec.retry_backoff_s(max(1, record.attempts_since_redrive))
    finished = parse_iso(record.finished_at)
    if finished is None:
        return delay
    return max(0, round(finished + delay - ctx.now()))


def _already_applied(ctx: RuntimeContext, file_id: str, attempt: int, run_id: str, state: str,
                     handle: str | None, delete: bool) -> Applied:
    """A repeated event (or the dispatcher and the completion racing): redo only the idempotent effect,
    so a crash after the ledger write but before the release cannot leave the group held."""
    current = ctx.ledger.get(file_id)
    if current is None or current.current_run_id != run_id or current.attempts != attempt:
        return Applied("stale", current)
    if (current.status == Status.SUCCEEDED) != (state == GLUE_SUCCEEDED):
        obs.logger.warning("event contradicts the recorded result of this run; ignored",
                           extra={"state": state, "status": current.status})
        return Applied("stale", current)
    if current.status == Status.SUCCEEDED:
        if delete:
            delete_message(ctx, handle or current.receipt_handle)
        return Applied("already", current)
    if current.status in (Status.FAILED, Status.DEAD):
        applied = _act_on_failure(ctx, current, handle or current.receipt_handle, delete, first_time=False)
        return Applied("already", current, applied.visibility_s)
    return Applied("stale", current)


def _held_for(ctx: RuntimeContext, record: FileRecord) -> None:
    started = parse_iso(record.started_at)
    if started is not None:
        obs.seconds(obs.HOLD_TIME, ctx.now() - started)
