"""A held message came back while its run was in flight: find the run, then re-hold it or finish it.

The completion event is the normal end of a hold, but it can be lost or late,
and a dispatcher can die between starting a run and recording it. In both cases
the message reappears and Glue, not the ledger, knows what became of the run:
the run is found by id (``GetJobRun``) or, when its id was never recorded, by
the arguments the dispatcher gave it (``GetJobRuns``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.context import RuntimeContext, is_aws_error
from landing_pipeline.runtime.contract import GLUE_ACTIVE_STATES, GLUE_FINAL_STATES
from landing_pipeline.runtime.job_args import run_matches
from landing_pipeline.runtime.ledger import FileRecord, Status
from landing_pipeline.runtime.outcomes import apply_run_result
from landing_pipeline.runtime.queues import set_visibility

MAX_RUN_PAGES = 20


@dataclass(frozen=True)
class Decision:
    """``hold``: keep the message in flight (reported as a batch item failure); ``done``: let it be deleted."""

    hold: bool
    reason: str


def find_run(ctx: RuntimeContext, record: FileRecord, attempt: int) -> dict[str, Any] | None:
    """The Glue run started for ``attempt`` of this file and not yet in the ledger, if any."""
    request: dict[str, Any] = {"JobName": ctx.job_name, "MaxResults": 200}
    for _ in range(MAX_RUN_PAGES):
        page = ctx.glue.get_job_runs(**request)
        for run in page.get("JobRuns", []):
            if run_matches(run.get("Arguments"), record.file_id, attempt) and run.get("Id") not in record.run_ids:
                return dict(run)
        if not page.get("NextToken"):
            return None
        request["NextToken"] = page["NextToken"]
    return None


def check_running(ctx: RuntimeContext, record: FileRecord, handle: str) -> Decision | None:
    """The held message came back while the ledger says RUNNING: the completion event was lost (or is
    late). Ask Glue: re-hold a run that is still going, finish one that has ended."""
    run_id = record.current_run_id or ""
    try:
        run = ctx.glue.get_job_run(JobName=ctx.job_name, RunId=run_id)["JobRun"]
    except Exception as exc:
        if not is_aws_error(exc, "EntityNotFoundException"):
            raise
        run = {"Id": run_id, "JobRunState": "FAILED", "ErrorMessage": f"Glue has no run {run_id}"}
    return act_on_run_state(ctx, record.file_id, record.attempts, run_id, run, handle)


def act_on_run_state(ctx: RuntimeContext, file_id: str, attempt: int, run_id: str, run: dict[str, Any],
                      handle: str) -> Decision | None:
    state = str(run.get("JobRunState", ""))
    if state in GLUE_FINAL_STATES:
        obs.count(obs.RECOVERED)
        if run.get("ExecutionTime"):
            obs.seconds(obs.RUN_DURATION, float(run["ExecutionTime"]))
        applied = apply_run_result(ctx, file_id, attempt, run_id, state, run.get("ErrorMessage"),
                                   receipt_handle=handle, delete=False)
        if applied.action == "stale":
            return None
        if applied.action == "retry" or (applied.record is not None and applied.record.status == Status.FAILED):
            return Decision(True, "backoff")
        return Decision(False, f"finished {state.lower()}")
    if state not in GLUE_ACTIVE_STATES:
        obs.logger.warning("unexpected Glue run state; holding", extra={"state": state})
    if ctx.ledger.refresh_receipt(file_id, run_id, handle) is None:
        return None
    set_visibility(ctx, handle, ctx.spec.hold_visibility_s)
    obs.count(obs.REHELD)
    obs.logger.warning("run still going but its message came back (completion late or lost); held again",
                       extra={"state": state})
    return Decision(True, "reheld")
