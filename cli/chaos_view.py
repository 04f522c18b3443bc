"""How ``landing demo --chaos SEED`` reports: a rich table in a terminal, plain lines in a pipe or a file.

The verdict comes first (which invariant failed, how often), then what the seed drew (settings, faults and
whether each kind fired), what the operator did, and for every failed invariant its violations and the
timeline of each group involved, so a reader can see why without rerunning. Plain text is what CI logs
and ``grep`` want: one fact per line, no box drawing, no colour.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from landing_pipeline.emulator.chaos import ChaosReport
from landing_pipeline.emulator.invariants import INVARIANTS

MEANING = {
    "overlapping_runs": "pairs of runs of one group going at the same time (Glue's run log)",
    "ordering_violations": "a file started while an earlier file of its group, already heard of, had not finished",
    "lost": "taken-in files with no successful run, no skip and no DLQ message",
    "processed_twice": "file versions with more than one successful run",
    "dead_not_in_dlq": "files the ledger says are DEAD that no DLQ message names",
}
TIMELINE_LINES = 60
"""Lines of a group's timeline shown per violation group (the JSON report has them all)."""


def verdict(report: ChaosReport) -> str:
    if report.problems:
        return "FAILED: the operator could not act: " + "; ".join(report.problems)
    if not report.quiet:
        return "FAILED: the pipeline never went quiet (--timeout); unfinished files are counted as lost"
    broken = [f"{name} {count}" for name, count in report.invariants.items() if count]
    return "FAILED: " + ", ".join(broken) if broken else "every invariant held"


def rich_report(report: ChaosReport) -> list[Any]:
    """Renderables for a terminal."""
    table = Table(title=f"Chaos seed {report.seed}: {report.files} files, {report.groups} groups",
                  title_justify="left")
    table.add_column("invariant")
    table.add_column("count", justify="right")
    table.add_column("meaning", overflow="fold")
    for name in INVARIANTS:
        count = report.invariants.get(name, 0)
        table.add_row(name, Text(str(count), style="bold red" if count else "bold green"), MEANING[name])
    table.add_row("late", Text(str(report.late), style="bold"), "files heard only after a later file of their "
                  "group had started (counted, not a violation)")
    if report.fenced_runs:
        table.add_row("fenced runs", str(report.fenced_runs), "runs that lost their lease claim and did no work")
    shown: list[Any] = [table]
    drawn = Table(title="What the seed drew", title_justify="left", show_header=False)
    drawn.add_column("what")
    drawn.add_column("value", overflow="fold")
    drawn.add_row("settings", ", ".join(f"{k}={v}" for k, v in report.overrides.items()) or "the stack's")
    for fault in report.faults_drawn:
        drawn.add_row("fault", Text(f"{fault}  ({_fired(report, fault)})"))
    for action in report.operator:
        drawn.add_row("operator", Text(action))
    shown.append(drawn)
    for group, lines in report.timelines.items():
        mine = [v for v in report.violations if v.get("group") == group]
        body = [Text(f"{v['invariant']}: {v['why']}", style="red") for v in mine[:10]]
        if len(mine) > 10:
            body.append(Text(f"... {len(mine) - 10} more (see --json)", style="red"))
        body += [Text(line, style="dim") for line in _cut(lines, mine)]
        shown.append(Panel(Group(*body), title=f"group {group}", title_align="left", expand=False))
    style = "bold green" if not report.failed else "bold red"
    shown.append(Text(f"{verdict(report)}   (wall {report.wall_s:.1f} s, CPU {report.cpu_s:.1f} s, "
                      f"{report.aws_requests} AWS requests)", style=style))
    return shown


def plain_report(report: ChaosReport) -> str:
    """The same facts as lines of text."""
    lines = [f"chaos seed {report.seed}: {report.files} files, {report.groups} groups"]
    lines += [f"  {name:20} {report.invariants.get(name, 0):6}   {MEANING[name]}" for name in INVARIANTS]
    lines.append(f"  {'late':20} {report.late:6}   counted, not a violation")
    if report.fenced_runs:
        lines.append(f"  {'fenced runs':20} {report.fenced_runs:6}")
    lines.append("settings: " + (", ".join(f"{k}={v}" for k, v in report.overrides.items()) or "the stack's"))
    lines += [f"fault: {fault}  ({_fired(report, fault)})" for fault in report.faults_drawn]
    lines += [f"operator: {action}" for action in report.operator]
    for group, timeline in report.timelines.items():
        mine = [v for v in report.violations if v.get("group") == group]
        lines.append(f"group {group}:")
        lines += [f"  {v['invariant']}: {v['why']}" for v in mine]
        lines += [f"  | {line}" for line in _cut(timeline, mine)]
    lines.append(f"{verdict(report)} (wall {report.wall_s:.1f} s, CPU {report.cpu_s:.1f} s, "
                 f"{report.aws_requests} AWS requests)")
    return "\n".join(lines)


def _fired(report: ChaosReport, fault: str) -> str:
    kind = fault.split(":", 1)[0]
    count = report.faults_fired.get(kind, 0)
    return f"{kind} fired {count}x" if count else f"{kind} never fired"


def _cut(lines: list[str], violations: list[dict[str, Any]]) -> list[str]:
    """A long timeline cut to the lines of the files its violations name (then to TIMELINE_LINES)."""
    if len(lines) <= TIMELINE_LINES:
        return lines
    names = {name for v in violations for name in v.get("files", [])}
    kept = [line for line in lines if any(name in line for name in names)] or lines
    cut = kept[:TIMELINE_LINES]
    return [*cut, f"... {len(lines) - len(cut)} more lines (see --json)"] if len(cut) < len(lines) else cut
