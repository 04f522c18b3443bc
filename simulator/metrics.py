"""The numbers a user asks for, computed from what the model recorded.

Every metric named by the CLI's ``--json`` contract is produced here. Order and exclusion are checked against
the records of what happened (when each file was recorded and finished, when each run's lease was taken and
when it ran) and the stack's order (``orderBy``, the sort keys the router computes), never against the
ledger table the decisions read: a protocol bug that let two runs of a group overlap, or started a file
before an earlier one, shows here instead of being hidden by its own bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from landing_pipeline.simulator.billing import usage_of
from landing_pipeline.simulator.capacity import glue_capacity
from landing_pipeline.simulator.feed_report import per_feed_metrics
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, LOST, PENDING, SUCCEEDED
from landing_pipeline.simulator.model import PipelineModel, sort_keys
from landing_pipeline.simulator.ordering import late_files, ordering_violations, ranks
from landing_pipeline.simulator.prices import cost_breakdown
from landing_pipeline.simulator.queue_model import QueueModel
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.stability import Stability

if TYPE_CHECKING:
    from landing_pipeline.simulator.runner import Model

# The metrics the JSON report always carries (the contract of ``landing simulate --json``).
NAMED_METRICS = ("files", "succeeded", "dead", "ordering_violations", "late", "overlapping_runs",
                 "max_runs_per_group", "max_parallel_groups", "wait_mean_s", "latency_p50_s", "latency_p95_s",
                 "latency_p99_s", "backlog_max", "oldest_age_max_s", "glue_dpu_hours", "cost_usd",
                 "unstable_groups", "sim_events", "wall_s")


def _percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    if not len(values):
        return [None] * len(qs)
    return [float(v) for v in np.percentile(values, qs)]


def busy_share_while_waiting(spans: Sequence[float], slot_from: np.ndarray, slot_to: np.ndarray,
                             slots: int) -> float | None:
    """Share of slot-time busy while at least one group waited for a slot (None if none ever waited).

    A slot is busy from StartJobRun to the run's end. 1.0 means no slot was ever idle while a group waited;
    each freed slot costs the handoff's latency (completion, the waiter's wake-up, the dispatcher) unless
    another start takes it sooner.
    """
    waits = np.asarray(spans, dtype=float).reshape(-1, 2)
    waits = waits[waits[:, 1] > waits[:, 0]]
    if not len(waits) or slots <= 0:
        return None
    times = np.concatenate((waits[:, 0], waits[:, 1], slot_from, slot_to))
    waiting_step = np.concatenate((np.ones(len(waits)), -np.ones(len(waits)), np.zeros(2 * len(slot_from))))
    busy_step = np.concatenate((np.zeros(2 * len(waits)), np.ones(len(slot_from)), -np.ones(len(slot_to))))
    order = np.argsort(times, kind="stable")
    times, waiting, busy = times[order], np.cumsum(waiting_step[order]), np.cumsum(busy_step[order])
    lengths = np.diff(times)
    during = waiting[:-1] > 0
    total = float(lengths[during].sum())
    if total <= 0:
        return None
    return float((np.minimum(busy[:-1], slots) * lengths)[during].sum()) / (slots * total)


def compute(model: Model, scenario: Scenario, stability: Stability, wall_s: float,
            sim_events: int, end_s: float) -> dict[str, Any]:
    w, ledger = model.w, model.ledger
    status = np.asarray(ledger.status, dtype=np.int8)
    enqueue = np.asarray(w.enqueue_s)
    land = np.asarray(w.land_s)
    first = np.asarray(ledger.first_start)
    done = np.asarray(ledger.done_s)
    final = np.asarray(ledger.final_s)
    started = first >= 0
    ok = status == SUCCEEDED
    waits = first[started] - enqueue[started]
    latencies = done[ok] - land[ok]
    p50, p95, p99 = _percentiles(latencies, (50, 95, 99))
    (wait_p95,) = _percentiles(waits, (95,))
    age = np.where(final >= 0, final, end_s) - enqueue
    usage = usage_of(model)
    costs = cost_breakdown(usage, scenario.prices, model.spec.lambda_memory_mb)
    runs = model.runs
    first_land = float(land.min()) if len(land) else 0.0
    group = np.asarray(w.group, dtype=np.int64)
    if isinstance(model, QueueModel):
        rank = model.rank
    else:
        rank = ranks(model.sort_keys if isinstance(model, PipelineModel) else sort_keys(w, model.spec.order_by))
    late = late_files(group, rank, enqueue, *model.leases())
    finished = np.where(final >= 0, final, math.inf)
    if model.spec.on_failure == "block":   # a DEAD file holds its group's later files (unless it was late)
        finished = np.where((status == DEAD) & ~late, math.inf, finished)
    violations = ordering_violations(group, rank, enqueue, finished, runs.file, runs.lease_at)
    slots = glue_capacity(model.spec, scenario)
    glue = model.glue_slots
    metrics: dict[str, Any] = {
        "files": w.files,
        "succeeded": int(np.count_nonzero(ok)),
        "dead": int(np.count_nonzero(status == DEAD)),
        "ordering_violations": violations,
        "late": int(np.count_nonzero(late)),
        "overlapping_runs": glue.overlapping_runs,
        "max_runs_per_group": glue.max_runs_per_group,
        "max_parallel_groups": glue.max_parallel_groups,
        "wait_mean_s": float(waits.mean()) if len(waits) else None,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "latency_p99_s": p99,
        "backlog_max": model.backlog_max,
        "oldest_age_max_s": float(age.max()) if len(age) else 0.0,
        "glue_dpu_hours": usage.glue_dpu_hours,
        "cost_usd": sum(costs.values()),
        "unstable_groups": stability.unstable_names,
        "sim_events": sim_events,
        "wall_s": wall_s,
        # --- beyond the contract: what explains the numbers above ---
        "landed": w.files + w.ignored + w.rejected,
        "ignored": w.ignored,
        "rejected": w.rejected,
        "groups": len(w.group_names),
        "lost": int(np.count_nonzero(status == LOST)),
        "blocked": int(np.count_nonzero(status == BLOCKED)),
        "unfinished": int(np.count_nonzero(status == PENDING)),
        "late_recorded": int(sum(model.late)),
        "glue_runs": model.glue_runs,
        "failed_runs": int(len(runs.ok) - np.count_nonzero(runs.ok)),
        "max_concurrent_runs": glue.max_concurrent_runs,
        "glue_slots": slots,
        "wait_p95_s": wait_p95,
        "latency_mean_s": float(latencies.mean()) if len(latencies) else None,
        "drain_s": max(0.0, model.last_final_s - first_land),
        "reordered_by_intake": w.reordered_by_intake,
        "parallel_groups_needed": stability.parallel_groups_needed,
        "offered_load": stability.offered_load,
        "hold_mean_s": stability.hold_mean_s,
        "dispatcher_invocations": usage.dispatcher_invocations,
        "starts_refused": model.glue.refused,
        "cost_breakdown": costs,
    }
    if isinstance(model, PipelineModel):
        metrics.update(protocol_metrics(model, slots))
    elif isinstance(model, QueueModel):
        spans = np.asarray(model.run_spans, dtype=float).reshape(-1, 2)
        metrics.update({"waits": model.waits, "waiters_woken": model.waiters_woken, "recovered": 0,
                        "deliveries": model.deliveries,
                        "deliveries_per_file": model.deliveries / w.files if w.files else 0.0,
                        "reconciler_passes": model.passes,
                        "slot_busy_while_waiting": busy_share_while_waiting(model.wait_spans, spans[:, 0], spans[:, 1],
                                                                            slots)})
    if model.spec.feeds:   # only stacks with feeds: other reports stay as they were
        metrics["per_feed"] = per_feed_metrics(model, scenario)
    return metrics


def protocol_metrics(model: PipelineModel, slots: int) -> dict[str, Any]:
    """How the protocol got there: wake-ups, guard failures, the reconciler's repairs, injected faults."""
    actor, queue, table, faults = model.actor, model.queue, model.table, model.faults
    deaths = {(str(fid), d) for fid, d in _deaths(model)}
    announced = set(actor.announced)
    runs = model.glue.runs
    return {
        "waits": model.waits,
        "waiters_woken": actor.woken,
        "slot_busy_while_waiting": busy_share_while_waiting(
            model.wait_spans, np.asarray([r.dispatched for r in runs]), np.asarray([r.end for r in runs]), slots),
        "wakeups_sent": queue.sent,
        "wakeups_deduplicated": queue.deduplicated,
        "wakeups_to_dlq": queue.to_dlq,
        "deliveries": model.deliveries,
        "deliveries_per_file": model.deliveries / model.w.files if model.w.files else 0.0,
        "guard_conflicts": table.conflicts,
        "decisions": dict(sorted(actor.decisions.items())),
        "reconciler_passes": model.passes,
        "reconciler": dict(sorted(model.reconciled.items())),
        "recovered": actor.recovered,
        "restarts": actor.restarts,
        "adopted": actor.adopted,
        "slot_repairs": model.slot_repairs,
        "dead_not_announced": len(deaths - announced),
        "faults": {"crashes": faults.crashes, "duplicate_deliveries": faults.duplicates,
                   "lost_glue_events": faults.lost_events},
        "quotas": model.quota_log.report(),
        "fifo_in_flight_max": getattr(queue, "in_flight_max", 0),
    }


def _deaths(model: PipelineModel) -> list[tuple[int, int]]:
    """Every (file, death number) the files reached: the first and only death without redrives."""
    return [(fid, 1) for fid, s in enumerate(model.ledger.status) if s == DEAD]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
