"""The numbers a user asks for, computed from what the model recorded.

Every metric named by the CLI's ``--json`` contract is produced here, with the
ordering checks done independently of the model's own bookkeeping: a model bug
that let two runs of a group overlap would show up here, not be hidden by it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from landing_pipeline.simulator.billing import usage_of
from landing_pipeline.simulator.capacity import glue_capacity
from landing_pipeline.simulator.handoff import busy_share_while_waiting
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, LOST, PENDING, SUCCEEDED
from landing_pipeline.simulator.model import PipelineModel
from landing_pipeline.simulator.prices import cost_breakdown
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.stability import Stability

# The metrics the JSON report always carries (the contract of ``landing simulate --json``).
NAMED_METRICS = ("files", "succeeded", "dead", "ordering_violations", "overlapping_runs", "max_runs_per_group",
                 "max_parallel_groups", "wait_mean_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
                 "backlog_max", "oldest_age_max_s", "glue_dpu_hours", "cost_usd", "unstable_groups",
                 "sim_events", "wall_s")


def ordering_violations(group: np.ndarray, first_start: np.ndarray, final_s: np.ndarray) -> int:
    """Files whose first run started before an earlier-enqueued file of their group was finished.

    Files are numbered in enqueue order, so a stable sort by group lists each group's files in order. A
    running maximum of "finished at" per group is built by offsetting each group's times past the
    previous group's, so one global accumulate suffices.
    """
    n = len(group)
    if n == 0:
        return 0
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = first_start[order]
    finals = final_s[order]
    horizon = float(max(np.max(finals), np.max(starts), 0.0)) + 1.0
    finished = np.where(finals >= 0, finals, horizon - 0.5)  # never finished: later than any start
    offset = g_sorted * (horizon + 1.0)
    running = np.maximum.accumulate(finished + offset) - offset
    earlier = np.empty(n)
    earlier[0] = -1.0
    earlier[1:] = running[:-1]
    first_of_group = np.ones(n, dtype=bool)
    first_of_group[1:] = g_sorted[1:] != g_sorted[:-1]
    earlier[first_of_group] = -1.0
    started = starts >= 0
    return int(np.count_nonzero(started & (starts < earlier - 1e-9)))


def _percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    if not len(values):
        return [None] * len(qs)
    return [float(v) for v in np.percentile(values, qs)]


def compute(model: PipelineModel, scenario: Scenario, stability: Stability, wall_s: float,
            sim_events: int, end_s: float) -> dict[str, Any]:
    w, ledger = model.w, model.ledger
    status = np.asarray(ledger.status, dtype=np.int8)
    enqueue = np.asarray(w.enqueue_s)
    land = np.asarray(w.land_s)
    first = np.asarray(ledger.first_start)
    done = np.asarray(ledger.done_s)
    started = first >= 0
    ok = status == SUCCEEDED
    waits = first[started] - enqueue[started]
    latencies = done[ok] - land[ok]
    p50, p95, p99 = _percentiles(latencies, (50, 95, 99))
    (wait_p95,) = _percentiles(waits, (95,))
    oldest = model.oldest_age_max_s
    if model.oldest_ptr < w.files:  # messages never deleted (blocked groups, unfinished drain)
        oldest = max(oldest, end_s - w.enqueue_s[model.oldest_ptr])
    usage = usage_of(model)
    costs = cost_breakdown(usage, scenario.prices, model.spec.lambda_memory_mb)
    runs_ok = model.runs.ok
    first_land = float(land.min()) if len(land) else 0.0
    violations = ordering_violations(np.asarray(w.group, dtype=np.int64), first, np.asarray(ledger.final_s))
    receives = np.asarray(ledger.receives)
    line, slots = model.line, glue_capacity(model.spec, scenario)
    return {
        "files": w.files,
        "succeeded": int(np.count_nonzero(ok)),
        "dead": int(np.count_nonzero(status == DEAD)),
        "ordering_violations": violations,
        "overlapping_runs": model.glue.overlapping_runs,
        "max_runs_per_group": model.glue.max_runs_per_group,
        "max_parallel_groups": model.glue.max_parallel_groups,
        "wait_mean_s": float(waits.mean()) if len(waits) else None,
        "latency_p50_s": p50,
        "latency_p95_s": p95,
        "latency_p99_s": p99,
        "backlog_max": model.backlog_max,
        "oldest_age_max_s": oldest,
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
        "dead_by_receive_ceiling": ledger.dead_by_ceiling,
        "glue_runs": len(model.runs),
        "failed_runs": int(len(runs_ok) - np.count_nonzero(runs_ok)),
        "throttled_starts": model.throttled_starts,
        "waits": line.waits,
        "wakeups": line.wakeups,
        "wakeups_lost": line.lost_races,
        "fallback_wakeups": line.fallbacks,
        "receives_mean": float(receives.mean()) if len(receives) else 0.0,
        "receives_max": int(receives.max()) if len(receives) else 0,
        "slot_busy_while_waiting": busy_share_while_waiting(
            line.spans, np.asarray(model.run_dispatched), model.runs.end, slots),
        "max_concurrent_runs": model.glue.max_concurrent_runs,
        "glue_slots": slots,
        "wait_p95_s": wait_p95,
        "latency_mean_s": float(latencies.mean()) if len(latencies) else None,
        "drain_s": max(0.0, model.last_final_s - first_land),
        "reordered_by_intake": w.reordered_by_intake,
        "parallel_groups_needed": stability.parallel_groups_needed,
        "offered_load": stability.offered_load,
        "hold_mean_s": stability.hold_mean_s,
        "cost_breakdown": costs,
    }


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
