"""The reconciler Lambda: a scheduled pass (EventBridge Scheduler, every ``reconcileMinutes``) that closes
every gap an at-least-once, best-effort world leaves.

It lists the groups whose ``next_check_at`` is due (the sparse ``by_check`` index: a hint) and re-reads each
strongly before acting through the same rules as the handlers (runtime/decide.py, caller RECONCILER):
a running lease whose run has ended is released as the completion handler would (F10: a lost Glue event
costs at most one interval); a STARTING lease past its grace is resolved by its token, adopted or restarted
(F1); a group with work, no lease and no wake-up gets one (F6); a dead file not yet announced is announced
with a dedup id unique to that death (F5). Then it repairs the slot counter from Glue's active runs, wakes
waiters up to the free slots, and publishes the dead-file count the alarm reads. Passes are idempotent:
the Scheduler may run one twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.acting import carry_out, policy, resolve_check, wake_waiters
from landing_pipeline.runtime.context import RuntimeContext, handler_context
from landing_pipeline.runtime.contract import (
    DEAD_FILES_METRIC,
    GLUE_ACTIVE_STATES,
    METRICS_NAMESPACE,
    pipeline_dimensions,
)
from landing_pipeline.runtime.decide import Caller, decide
from landing_pipeline.runtime.ledger import Commit

REQUIRED = ("ordered_queue_url", "ledger_table", "job_name", "output_bucket")
MAX_GROUPS_PER_PASS = 500
_REEVALUATIONS = 4


@dataclass
class Pass:
    """What one pass did (tests, the emulator's report and the pass's log line read it)."""

    looked_at: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    slots_repaired: bool = False
    woken: int = 0
    dead_files: int = 0

    def count(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1


def reconcile(ctx: RuntimeContext) -> Pass:
    result = Pass()
    for group in ctx.ledger.due_groups(ctx.now(), MAX_GROUPS_PER_PASS):
        result.looked_at += 1
        try:
            result.count(reconcile_group(ctx, group))
        except Exception:
            obs.logger.exception("could not reconcile a group; the next pass tries again", extra={"group": group})
            result.count("error")
    running, dead = ctx.ledger.counters()
    result.slots_repaired = _repair_slots(ctx, running)
    running, dead = ctx.ledger.counters()
    free = max(0, ctx.spec.max_parallel_groups - running)
    if free:
        result.woken = wake_waiters(ctx, free)
    result.dead_files = max(0, dead)
    _publish(ctx, result.dead_files)
    obs.logger.info("reconciler pass", extra={"looked_at": result.looked_at, "actions": result.actions,
                                              "woken": result.woken, "dead_files": result.dead_files})
    return result


def reconcile_group(ctx: RuntimeContext, group: str) -> str:
    for _ in range(_REEVALUATIONS):
        view = ctx.ledger.load_group(group)
        rules = policy(ctx, group, view.group.feed)
        if not view.exists:
            return "gone"
        d = decide(view.group, view.files, ctx.now(), rules, caller=Caller.RECONCILER)
        if d.check is not None:
            resolved = resolve_check(ctx, view, d, Caller.RECONCILER)
            if resolved == "conflict":
                continue
            if resolved != "live":
                return resolved
            return "live"
        if not d.writes and not d.send_wake:
            return d.kind
        if carry_out(ctx, view, d) == Commit.OK:
            return d.kind
    return "conflict"


def _repair_slots(ctx: RuntimeContext, counted: int) -> bool:
    """Set the slot counter to the slots in use when they differ: the job's active runs, but never fewer
    than the leases held (a lease whose run has ended and is not yet released still holds its slot; a counter
    below the leases lets a start through that Glue's MaxConcurrentRuns refuses). Runs with no lease (a
    restart's double start) count while they run."""
    active = 0
    request: dict[str, Any] = {"JobName": ctx.job_name, "MaxResults": 200}
    for _ in range(5):
        page = ctx.glue.get_job_runs(**request)
        active += sum(1 for run in page.get("JobRuns", []) if run.get("JobRunState") in GLUE_ACTIVE_STATES)
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    if active == counted:
        return False
    in_use = max(active, ctx.ledger.leases_held())
    if in_use == counted:
        return False
    return ctx.ledger.set_slot_count(counted, in_use)


def _publish(ctx: RuntimeContext, dead: int) -> None:
    """The dead-file gauge, 0 included, on every pass: the alarm means "a file is dead" and never expires."""
    try:
        ctx.client("cloudwatch").put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=[{
            "MetricName": DEAD_FILES_METRIC, "Value": float(dead), "Unit": "Count",
            "Dimensions": [{"Name": k, "Value": v} for k, v in pipeline_dimensions(ctx.ledger_table).items()]}])
    except Exception as exc:
        obs.logger.warning("could not publish the dead-file count", extra={"error": str(exc)})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = reconcile(handler_context(*REQUIRED))
    return {"looked_at": result.looked_at, "actions": result.actions, "woken": result.woken,
            "dead_files": result.dead_files}
