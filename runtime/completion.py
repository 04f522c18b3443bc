"""The completion Lambda: a Glue run ended, so apply its outcome and release the group's lease.

Glue publishes "Glue Job State Change" events; an EventBridge rule for this pipeline's job sends them through
the completion queue to this function. The run id leads to the group and the lease's token through the
ledger's run item (a run with no run item is looked up in Glue once: its arguments carry the token); the
rules of runtime/decide.py ``run_ended`` say what the end means for each file (F7, F8), and the release is
one conditional write that also sees whether work remains, in which case one wake-up is sent. The freed slot
wakes the group that waited longest for one. Glue's events are best effort: the reconciler finishes a run
whose event never came (F10). Another tool's runs of the same job are ignored.
"""

from __future__ import annotations

import json
from typing import Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.acting import carry_out, policy, wake_waiters
from landing_pipeline.runtime.batch import SQSRecord, process_batch
from landing_pipeline.runtime.context import RuntimeContext, handler_context, is_aws_error
from landing_pipeline.runtime.contract import (
    GLUE_ACTIVE_STATES,
    GLUE_SOURCE,
    GLUE_STATE_CHANGE,
    GROUP_ARG,
    RUN_TOKEN_ARG,
)
from landing_pipeline.runtime.decide import Caller, RunEnd, run_ended
from landing_pipeline.runtime.ledger import Commit
from landing_pipeline.runtime.values import Frozen

REQUIRED = ("ordered_queue_url", "ledger_table", "job_name", "output_bucket")
_REEVALUATIONS = 6


class MalformedStateChange(ValueError):
    """A completion-queue body that is not a Glue state change event."""


class RunEnded(Frozen):
    """What a Glue Job State Change event says: which run ended, how, and when."""

    _fields = __slots__ = ("job_name", "run_id", "state", "message", "time")
    job_name: str
    run_id: str
    state: str
    message: str | None
    time: str | None

    def __init__(self, job_name: str, run_id: str, state: str, message: str | None, time: str | None) -> None:
        self._init(job_name, run_id, state, message, time)


def parse_state_change(body: str) -> RunEnded | None:
    """The run a body reports on; None for a well-formed event of another kind."""
    try:
        event = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise MalformedStateChange(f"body is not JSON ({exc})") from None
    if not isinstance(event, dict):
        raise MalformedStateChange("body is not a JSON object")
    if event.get("source") != GLUE_SOURCE or event.get("detail-type") != GLUE_STATE_CHANGE:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict) or not detail.get("jobRunId") or not detail.get("jobName"):
        raise MalformedStateChange("detail lacks jobName or jobRunId")
    return RunEnded(job_name=str(detail["jobName"]), run_id=str(detail["jobRunId"]),
                    state=str(detail.get("state", "")), message=detail.get("message") or None,
                    time=event.get("time"))


def complete(ctx: RuntimeContext, body: str) -> str:
    """Apply one state change event; returns what was done (released, stale, hold, foreign, ignored,
    malformed)."""
    try:
        ended = parse_state_change(body)
    except MalformedStateChange as exc:
        obs.count(obs.REJECTED)
        obs.logger.error("malformed completion event dropped", extra={"reason": str(exc), "body": body[:2000]})
        return "malformed"
    if ended is None:
        obs.logger.info("not a Glue Job State Change event; ignored")
        return "ignored"
    if ended.job_name != ctx.job_name:
        obs.count(obs.FOREIGN)
        obs.logger.info("state change of another job; ignored", extra={"job_name": ended.job_name})
        return "foreign"
    if ended.state in GLUE_ACTIVE_STATES:
        return "ignored"
    run = ctx.ledger.get_run(ended.run_id) or adopt_run(ctx, ended.run_id)
    if run is None:
        obs.count(obs.FOREIGN)
        obs.logger.info("run not started by this pipeline; ignored", extra={"run_id": ended.run_id})
        wake_waiters(ctx, 1)  # a run of this job started by hand held one of its MaxConcurrentRuns slots too
        return "foreign"
    group, token = run
    with obs.file_context(group=group, run_id=ended.run_id):
        kind = _apply_end(ctx, ended, group, token)
        if ctx.keeps_catalog:   # also when nothing changed: a retried event retries this
            from landing_pipeline.runtime.catalog_sync import sync_run  # only stacks with feeds keep a catalog

            run_now = ctx.glue.get_job_run(JobName=ctx.job_name, RunId=ended.run_id)["JobRun"]
            sync_run(ctx, {**run_now, "JobRunState": ended.state})   # the event's word: Glue's may lag it
        return kind


def _apply_end(ctx: RuntimeContext, ended: RunEnded, group: str, token: str) -> str:
    for _ in range(_REEVALUATIONS):
        view = ctx.ledger.load_group(group)
        rules = policy(ctx, group, view.group.feed)
        d = run_ended(view.group, view.files, RunEnd(ended.run_id, token, ended.state, ended.message),
                      ctx.now(), rules, caller=Caller.COMPLETION)
        if not d.writes:
            obs.logger.info("completion changes nothing", extra={"action": d.kind, "reason": d.reason})
            return d.kind
        if carry_out(ctx, view, d) == Commit.OK:
            started = view.group.lease_at
            if started is not None:
                obs.seconds(obs.RUN_DURATION, ctx.now() - started)
            obs.logger.info("completion applied", extra={"action": d.kind, "outcome": str(d.outcome),
                                                         "state": ended.state, "reason": d.reason})
            return d.kind
    raise RuntimeError(f"group {group!r} kept changing while a run's end was applied; the event is retried")


def adopt_run(ctx: RuntimeContext, run_id: str) -> tuple[str, str] | None:
    """A run with no run item: ours if its arguments carry a run token and a group (the dispatcher died
    between StartJobRun and recording the run); the run item is written now."""
    try:
        run = ctx.glue.get_job_run(JobName=ctx.job_name, RunId=run_id)["JobRun"]
    except Exception as exc:
        if is_aws_error(exc, "EntityNotFoundException"):
            return None
        raise
    arguments = run.get("Arguments") or {}
    token, group = str(arguments.get(RUN_TOKEN_ARG) or ""), str(arguments.get(GROUP_ARG) or "")
    if not token or not group:
        return None
    ctx.ledger.put_run(run_id, group, token)
    obs.logger.warning("adopted a run the dispatcher had not recorded", extra={"run_id": run_id})
    return group, token


def _record_handler(ctx: RuntimeContext, record: SQSRecord) -> str:
    try:
        return complete(ctx, record.body)
    except Exception:
        obs.logger.exception("completion failed; the event will be retried", extra={"message_id": record.message_id})
        raise


def process_event(ctx: RuntimeContext, event: dict[str, Any]) -> dict[str, Any]:
    return process_batch(ctx, event, _record_handler)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event)
