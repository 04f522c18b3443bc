"""The readable summary of a simulation: what happened, what it costs, and what to change.

Numbers alone do not answer "how many parallel groups do I need"; the summary
says it in words, with the warnings (groups that can never keep up, files
never announced, ordering violations, overlapping runs) printed before the tables.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.feed_report import per_feed_table
from landing_pipeline.simulator.overheads import describe as describe_overheads
from landing_pipeline.simulator.prices import PRICES_AS_OF, REGION
from landing_pipeline.simulator.quota_report import quota_notes, regional_as_of
from landing_pipeline.simulator.scenario import Scenario

if TYPE_CHECKING:
    from landing_pipeline.simulator.sweep import SweepResult

UNSTABLE_SHOWN = 8


def duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def show(value: Any, kind: str = "n") -> str:
    """A metric for the table; replicated metrics as mean ± 95 % half-width."""
    if isinstance(value, dict) and "mean" in value:
        mean, half = value["mean"], value["ci95"]
        return f"{show(mean, kind)} ± {show(half, kind)}" if half else show(mean, kind)
    if value is None:
        return "-"
    if kind == "s":
        return duration(float(value))
    if kind == "$":
        return f"${value:,.2f}"
    if kind == "%":
        return f"{100 * float(value):.1f} %"
    return _number(float(value))


def mean_of(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, int | float) else 0.0


def warnings(metrics: dict[str, Any], spec: PipelineSpec, scenario: Scenario) -> list[str]:
    notes = []
    unstable = metrics["unstable_groups"]
    if unstable:
        shown = ", ".join(unstable[:UNSTABLE_SHOWN]) + (f" and {len(unstable) - UNSTABLE_SHOWN} more"
                                                         if len(unstable) > UNSTABLE_SHOWN else "")
        notes.append(f"{len(unstable)} group(s) get more work than one-at-a-time processing finishes within the "
                     f"{duration(scenario.duration_s)} window: {shown}. More parallel groups cannot help them; a "
                     "faster job or a finer grouping rule can.")
    capacity = int(mean_of(metrics["glue_slots"]))
    if spec.max_parallel_groups > scenario.limits.account_concurrent_runs:
        notes.append(f"max_parallel_groups={spec.max_parallel_groups} exceeds the account's concurrent Glue runs "
                     f"({scenario.limits.account_concurrent_runs}): at most {capacity} run at once. Request a quota "
                     "increase, or set limits.account_concurrent_runs in the scenario to your real quota.")
    notes += _protocol_notes(metrics, spec)
    notes += quota_notes(metrics, scenario.limits, duration, show)
    notes += list(scenario.price_notes)
    if mean_of(metrics["overlapping_runs"]):
        notes.append(f"{show(metrics['overlapping_runs'])} run(s) started while another run of their group was "
                     "still going: files of one group were processed at the same time.")
    if mean_of(metrics["ordering_violations"]):
        notes.append(f"{show(metrics['ordering_violations'])} file(s) started while an earlier file of their "
                     f"group (orderBy={spec.order_by}), already recorded, had not finished: order within the "
                     "group was not kept.")
    if mean_of(metrics["late"]):
        notes.append(f"{show(metrics['late'])} file(s) were recorded late (after a later file of their group had "
                     f"started; settleSeconds={spec.settle_seconds}): lateFiles={spec.late_files} "
                     + ("ran each next." if spec.late_files == "run" else "parked each as DEAD for an operator."))
    if mean_of(metrics["ignored"]) or mean_of(metrics["rejected"]):
        notes.append(f"{show(metrics['ignored'])} file(s) do not match keyPrefix/keySuffixes and "
                     f"{show(metrics['rejected'])} fit no group (groupingFallback=reject) or no feed "
                     "(unmatchedFiles=reject): the router skips them.")
    if mean_of(metrics["unfinished"]):
        notes.append(f"{show(metrics['unfinished'])} file(s) were still unfinished when the drain limit "
                     f"({duration(scenario.limits.drain_limit_s)} after the last arrival) ended the simulation.")
    if mean_of(metrics["blocked"]):
        notes.append(f"{show(metrics['blocked'])} file(s) wait behind a DEAD file (on_failure=block) for "
                     "'landing redrive' or 'landing skip'.")
    return notes


def _protocol_notes(metrics: dict[str, Any], spec: PipelineSpec) -> list[str]:
    """What the protocol's own records say: dead files never announced, wake-ups parked, idle slots."""
    notes = []
    if mean_of(metrics.get("dead_not_announced")):
        notes.append(f"{show(metrics['dead_not_announced'])} DEAD file(s) were never announced on the dead-files "
                     "queue: the alarm would stay quiet.")
    if mean_of(metrics.get("wakeups_to_dlq")):
        notes.append(f"{show(metrics['wakeups_to_dlq'])} wake-up(s) were received more than maxReceiveCount "
                     f"({spec.receive_ceiling}) times and went to the ordered queue's DLQ; the reconciler woke their "
                     "groups again.")
    busy = metrics.get("slot_busy_while_waiting")
    if busy is not None and mean_of(busy) < 0.9:
        notes.append(f"Glue slots were busy only {show(busy, '%')} of the time while groups waited for one: the "
                     "handoff (completion, the waiter's wake-up, the dispatcher) leaves slots idle between runs.")
    return notes


def cost_title(metrics: dict[str, Any]) -> str:
    """Say what the cost is: one run's bill, or with replications the mean bill of one run and the 95 %
    confidence half-width of that mean (not the spread of single runs, and not the sum over replications)."""
    replications = metrics.get("replications", 1)
    return (f"Cost per run: mean ± 95 % CI of {replications} replications" if replications > 1
            else "Cost of this run")


OUTCOME_ROWS = (("files landed / accepted", "files"), ("succeeded", "succeeded"), ("dead", "dead"),
                ("lost (no retry)", "lost"), ("blocked", "blocked"), ("ordering violations", "ordering_violations"),
                ("late", "late"), ("overlapping runs", "overlapping_runs"),
                ("max runs per group", "max_runs_per_group"), ("max parallel groups", "max_parallel_groups"),
                ("Glue slots", "glue_slots"), ("Glue runs (failed)", "glue_runs"),
                ("dispatcher invocations", "dispatcher_invocations"),
                ("  of which: decisions lost to another writer", "guard_conflicts"),
                ("waits for a slot / waiters woken", "waits"),
                ("slots busy while groups waited", "slot_busy_while_waiting"),
                ("reconciler passes (repairs)", "reconciler_passes"))


def summary_tables(metrics: dict[str, Any], region: str = REGION, as_of: str = PRICES_AS_OF) -> list[Table]:
    outcome = Table(title="Outcome", show_header=False, title_justify="left")
    outcome.add_column("metric", style="bold")
    outcome.add_column("value", justify="right")
    for label, name in OUTCOME_ROWS:
        if name not in metrics:   # the seed design has no protocol metrics
            continue
        value = show(metrics[name])
        if name == "files":
            value = f"{show(metrics['landed'])} / {value}"
        if name == "glue_runs":
            value = f"{value} ({show(metrics['failed_runs'])})"
        if name == "waits":
            value = f"{value} / {show(metrics['waiters_woken'])}"
        if name == "slot_busy_while_waiting":
            value = show(metrics[name], "%")
        if name == "reconciler_passes":
            value = f"{value} ({show(metrics['recovered'])})"
        outcome.add_row(label, value)
    timing = Table(title="Timing", show_header=False, title_justify="left")
    timing.add_column("metric", style="bold")
    timing.add_column("value", justify="right")
    for label, name, kind in (("wait, recorded to run start: mean", "wait_mean_s", "s"),
                              ("wait: p95", "wait_p95_s", "s"), ("latency, landing to done: p50", "latency_p50_s", "s"),
                              ("latency: p95", "latency_p95_s", "s"), ("latency: p99", "latency_p99_s", "s"),
                              ("backlog max (files waiting in the ledger)", "backlog_max", "n"),
                              ("oldest file age max (recorded to finished)", "oldest_age_max_s", "s"),
                              ("drain, first landing to last done", "drain_s", "s")):
        timing.add_row(label, show(metrics[name], kind))
    cost = Table(title=cost_title(metrics), caption=f"list prices, {region}, as of {as_of}",
                 show_header=False, title_justify="left", caption_justify="left")
    cost.add_column("item", style="bold")
    cost.add_column("value", justify="right")
    cost.add_row("Glue DPU-hours", show(metrics["glue_dpu_hours"]))
    for name, value in metrics["cost_breakdown"].items():
        cost.add_row(f"  {name}", show(value, "$"))
    cost.add_row("total", show(metrics["cost_usd"], "$"))
    return [outcome, timing, cost]


def render(console: Console, metrics: dict[str, Any], spec: PipelineSpec, scenario: Scenario, *, stack: str,
           design: str, seed: int, theory: dict[str, Any] | None) -> None:
    replications = metrics.get("replications", 1)
    shown = "held design, fast model" if design == "queue" else f"{design} design"
    console.print(f"[bold]{scenario.name}[/] against [bold]{stack}[/]: {shown}, "
                  f"{scenario.overheads.preset} overheads, max_parallel_groups={spec.max_parallel_groups}, "
                  f"{spec.worker_count} x {spec.worker_type}, seed {seed}"
                  + (f", {replications} replications (mean ± 95 % CI)" if replications > 1 else ""),
                  highlight=False)
    for note in warnings(metrics, spec, scenario):
        console.print(f"[yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    for table in summary_tables(metrics, scenario.region, regional_as_of(scenario)):
        console.print(table)
    feeds = per_feed_table(metrics)
    if feeds is not None:
        console.print(feeds)
    needed = int(mean_of(metrics["parallel_groups_needed"]))
    console.print(f"Capacity: the work of this scenario keeps about {mean_of(metrics['offered_load']):.1f} Glue "
                  f"runs busy on average over its {duration(scenario.duration_s)} window, so at least {needed} "
                  f"parallel group(s) are needed to finish it within the window (this stack allows "
                  f"{spec.max_parallel_groups}; with fewer, the backlog drains after it). For the "
                  "cheapest setting that meets a latency target, run this command as 'landing simulate sweep' "
                  f"with --vary max_parallel_groups={sweep_values(spec.max_parallel_groups, needed)} "
                  "--target-p95 2h (or --target latency_p95_s:le:2h).", highlight=False)
    if theory is not None:
        console.print(f"Theory ({theory['model']}, utilization {theory['utilization']:.2f}): mean wait "
                      f"{duration(theory['wait_mean_s'])}; simulated {show(metrics['wait_mean_s'], 's')}.",
                      highlight=False)
    overheads = ", ".join(f"{k}={v}" for k, v in describe_overheads(scenario.overheads).items())
    console.print(f"[dim]overheads: {overheads}[/]", highlight=False)
    console.print(f"[dim]{show(metrics['sim_events'])} events in {show(metrics['wall_s'], 's')}[/]", highlight=False)


def sweep_values(current: int, needed: int) -> str:
    """Doublings from the stack's setting up to the first that covers the need: a --vary worth pasting."""
    values = [max(current, 1)]
    while values[-1] < needed and len(values) < 8:
        values.append(values[-1] * 2)
    return ",".join(str(v) for v in values)


SWEEP_COLUMNS = {"succeeded": ("ok", "n"), "dead": ("dead", "n"), "latency_p95_s": ("p95", "s"),
                 "wait_mean_s": ("wait", "s"), "max_parallel_groups": ("peak", "n"), "cost_usd": ("cost", "$")}


def sweep_table(result: SweepResult, names: list[str], stack: str, scenario: str) -> Table:
    """Every combination with its metrics; the recommendation in bold green, misses dimmed."""
    columns = dict(SWEEP_COLUMNS)
    for target in result.targets:  # always show what the recommendation was judged on
        columns.setdefault(target.metric, (target.metric.removesuffix("_s").replace("latency_", ""),
                                           "s" if target.metric.endswith("_s") else "n"))
    table = Table(title=f"sweep of {scenario} on {stack}", caption="p95: latency, landing to done; wait: "
                  "enqueue to run start (mean); peak: most groups running at once; all metrics in --json")
    for name in names:
        table.add_column(name, justify="right", min_width=min(len(name), 10), overflow="fold")
    for label, _ in columns.values():
        table.add_column(label, justify="right", no_wrap=True)
    table.add_column("meets", justify="center")
    for row in result.rows:
        style = "bold green" if row is result.best else ("" if row.meets else "dim")
        values = [str(row.settings[n]) for n in names]
        if row.error:
            table.add_row(*values, f"invalid: {row.error}", *[""] * (len(columns) - 1), "-", style="red")
            continue
        table.add_row(*values, *(show(row.metrics[name], kind) for name, (_, kind) in columns.items()),
                      "yes" if row.meets else "no", style=style)
    return table
