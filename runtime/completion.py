"""The completion Lambda: a Glue run ended, so release (or delay, or park) the message that held its group.

Glue publishes "Glue Job State Change" events; an EventBridge rule for this
pipeline's job sends them through the completion queue to this function. The
run id leads to the file through the ledger's run item; a run with no run item
is looked up in Glue once (the dispatcher may have crashed right after starting
it) and, if its arguments do not name a file this pipeline is running, ignored:
another tool may start the same job by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.batch import process_batch
from landing_pipeline.runtime.context import RuntimeContext, handler_context, is_aws_error
from landing_pipeline.runtime.contract import (
    ATTEMPT_ARG,
    FILE_ID_ARG,
    GLUE_FINAL_STATES,
    GLUE_SOURCE,
    GLUE_STATE_CHANGE,
)
from landing_pipeline.runtime.handoff import wake_waiter
from landing_pipeline.runtime.ledger import IN_FLIGHT, RunRecord, parse_iso
from landing_pipeline.runtime.outcomes import apply_run_result

REQUIRED = ("ordered_queue_url", "ordered_dlq_url", "ledger_table", "job_name", "output_bucket")


class MalformedStateChange(ValueError):
    """A completion-queue body that is not a Glue state change event."""


@dataclass(frozen=True)
class RunEnded:
    job_name: str
    run_id: str
    state: str
    message: str | None
    time: str | None


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
    """Apply one state change event; returns what was done (released, retry, dead, already, stale,
    foreign, ignored, malformed)."""
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
    if ended.state not in GLUE_FINAL_STATES:
        return "ignored"
    run = ctx.ledger.get_run(ended.run_id) or adopt_run(ctx, ended.run_id)
    if run is None:
        obs.count(obs.FOREIGN)
        obs.logger.info("run not started by this pipeline; ignored", extra={"run_id": ended.run_id})
        wake_waiter(ctx)  # a run of this job started by hand held one of its MaxConcurrentRuns slots too
        return "foreign"
    record = ctx.ledger.get(run.file_id)
    with obs.file_context(file_id=run.file_id, run_id=ended.run_id, attempt=run.attempt,
                          key=record.key if record else None, group=record.group if record else None):
        started, finished = parse_iso(record.started_at if record else None), parse_iso(ended.time)
        if started is not None and finished is not None and record is not None and record.attempts == run.attempt:
            obs.seconds(obs.RUN_DURATION, finished - started)
        applied = apply_run_result(ctx, run.file_id, run.attempt, ended.run_id, ended.state, ended.message,
                                   current=record)
        obs.logger.info("completion applied", extra={"action": applied.action, "state": ended.state})
        return applied.action


def adopt_run(ctx: RuntimeContext, run_id: str) -> RunRecord | None:
    """A run with no run item: ours only if its arguments name a file whose current attempt it is
    (the dispatcher crashed between StartJobRun and recording the run)."""
    try:
        run = ctx.glue.get_job_run(JobName=ctx.job_name, RunId=run_id)["JobRun"]
    except Exception as exc:
        if is_aws_error(exc, "EntityNotFoundException"):
            return None
        raise
    arguments = run.get("Arguments") or {}
    file_id, attempt_text = str(arguments.get(FILE_ID_ARG) or ""), str(arguments.get(ATTEMPT_ARG) or "")
    if not file_id or not attempt_text.isdigit():
        return None
    attempt = int(attempt_text)
    record = ctx.ledger.get(file_id)
    if record is None or record.attempts != attempt or record.status not in IN_FLIGHT:
        return None
    ctx.ledger.put_run(run_id, record.file_id, attempt)
    obs.logger.warning("adopted a run the dispatcher had not recorded", extra={"run_id": run_id})
    return RunRecord(run_id, record.file_id, attempt)


def _record_handler(ctx: RuntimeContext, record: SQSRecord) -> str:
    try:
        return complete(ctx, record.body)
    except Exception:
        obs.logger.exception("completion failed; the event will be retried", extra={"message_id": record.message_id})
        raise


def process_event(ctx: RuntimeContext, event: dict[str, Any], lambda_context: Any = None) -> dict[str, Any]:
    return process_batch(ctx, event, _record_handler, lambda_context)


@obs.instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_event(handler_context(*REQUIRED), event, context)
