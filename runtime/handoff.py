"""The Glue-slot handoff: a run that ends wakes the file that has waited longest for a slot.

With more groups ready than ``MaxConcurrentRuns`` slots, most starts are refused
with ``ConcurrentRunsExceededException``. Retrying each refusal on a backoff
costs a receive per retry (a long backlog then pushes healthy files past the
ordered queue's maxReceiveCount) and leaves a freed slot idle while every
waiter sleeps out its backoff. Instead the dispatcher lists a refused file in
the ledger's ``by_waiting`` index and puts its message to sleep for a long
fallback; whoever sees a run end (the completion handler, or the dispatcher
finishing a run whose event was lost) makes the oldest waiter's message visible
at once. One wake-up per ended run: the woken file takes the slot, or, if
another start beat it there, waits again in its old place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.queues import set_visibility

if TYPE_CHECKING:
    from landing_pipeline.runtime.context import RuntimeContext

WAKE_BATCH = 3
"""Waiters read per query: the oldest is normally the one woken; the next ones cover stale handles."""
WAKE_PAGES = 3


def wake_waiter(ctx: RuntimeContext) -> str | None:
    """A slot was freed: wake the longest waiter; its file id, or None when nobody waits.

    Never raises: the run's result is already recorded, and failing the caller would redo it. A wake-up
    that fails is only late, as the waiter's fallback visibility ends within a job timeout plus margin."""
    try:
        return _wake_oldest(ctx)
    except Exception as exc:
        obs.count(obs.WAKEUPS_FAILED)
        obs.logger.warning("could not wake a file waiting for a Glue slot; it looks again when its fallback "
                           "visibility ends", extra={"error": str(exc)})
        return None


def _wake_oldest(ctx: RuntimeContext) -> str | None:
    start_key: dict[str, Any] | None = None
    for _ in range(WAKE_PAGES):
        waiters, start_key = ctx.ledger.waiting_files(WAKE_BATCH, start_key)
        for waiter in waiters:
            handle = waiter.wait_handle
            if not handle:
                continue
            if set_visibility(ctx, handle, 0) is None:
                # the delivery it waited with is gone (redelivered, or already being handled): its next
                # delivery lists it again if it still has to wait
                ctx.ledger.clear_waiter(waiter.file_id, handle)
                obs.logger.info("waiter's receipt handle is no longer valid; skipped",
                                extra={"waiter_file_id": waiter.file_id})
                continue
            if not ctx.ledger.clear_waiter(waiter.file_id, handle):
                continue  # another ended run woke it first (or it waits with a newer delivery): wake the next
            obs.count(obs.WOKEN)
            obs.logger.info("a Glue slot freed; woke the file waiting longest",
                            extra={"waiter_file_id": waiter.file_id, "waiting_since": waiter.waiting_since})
            return waiter.file_id
        if start_key is None:
            return None
    return None
