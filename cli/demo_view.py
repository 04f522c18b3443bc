"""How ``landing demo`` looks in a terminal: the live progress line, the per-group table, the summary."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from landing_pipeline.emulator.demo import DemoResult, Progress

STATUS_STYLE = {"SUCCEEDED": "green", "DEAD": "bold red", "FAILED": "red", "IGNORED": "dim", "BLOCKED": "yellow",
                "RECEIVED": "yellow", "RUNNING": "cyan", "STARTING": "cyan", "SKIPPED": "magenta", "TIMEOUT": "red"}


def progress_panel(progress: Progress, title: str) -> Panel:
    line = Text.assemble(
        ("landed ", "dim"), (f"{progress.landed}/{progress.total}", "bold"),
        ("   running ", "dim"), (str(progress.running), "bold cyan"),
        ("   done ", "dim"), (str(progress.done), "bold green"),
        ("   dead ", "dim"), (str(progress.dead), "bold red" if progress.dead else "bold"),
        ("   groups running ", "dim"), (str(len(progress.groups_running)), "bold"))
    groups = Text(", ".join(progress.groups_running) or "none", style="cyan")
    clock = Text(f"pipeline time {progress.pipeline_s:,.0f} s   wall {progress.wall_s:,.1f} s", style="dim")
    return Panel(Group(line, Text.assemble(("  ", ""), groups), clock), title=title, expand=False)


def _duration(file: dict[str, Any]) -> str:
    runs = [r for r in file["runs"] if r["end"] is not None]
    if not runs:
        return "-"
    last = runs[-1]
    return f"{last['end'] - last['start']:,.0f} s"


def group_table(result: DemoResult) -> Table:
    """Files per group in run order (files that never ran after them, in landing order)."""
    table = Table(title="Files by group, in run order", title_justify="left", show_lines=False)
    with_feeds = any(file.get("feed") for file in result.report["files"])   # a stack with feeds: say whose
    for column, justify in (("group", "left"), ("#", "right"), ("file", "left"), ("status", "left"),
                            ("attempts", "right"), ("runs", "left"), ("last run", "right"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for file in result.report["files"]:
        by_group[file["group"]].append(file)
    for group in sorted(by_group, key=lambda g: min((r["start"] for f in by_group[g] for r in f["runs"]),
                                                     default=float("inf"))):
        files = sorted(by_group[group], key=lambda f: (not f["runs"], f["runs"][0]["start"] if f["runs"] else 0))
        for index, file in enumerate(files, start=1):
            status = file["status"]
            runs = " ".join(_run_mark(run["state"]) for run in file["runs"]) or "-"
            label = Text(group)
            if with_feeds:   # the group's feed under its name (a column of its own would fold the file names)
                label.append(f"\nfeed {file.get('feed') or '-'}", style="dim")
            table.add_row(label if index == 1 else "", str(index), escape(file["key"].rsplit("/", 1)[-1]),
                          Text(status, style=STATUS_STYLE.get(status, "")), str(file["attempts"]), runs,
                          _duration(file), escape(file.get("_reason") or ""))
        table.add_section()
    return table


def _run_mark(state: str) -> str:
    return {"SUCCEEDED": "ok", "FAILED": "fail", "TIMEOUT": "timeout", "STOPPED": "stop"}.get(state, state.lower())


def summary_panel(result: DemoResult) -> Panel:
    s = result.report["summary"]
    held = result.design == "held"
    promise = s["overlapping_runs"] == 0 and s["ordering_violations"] == 0
    lines = [
        Text.assemble(("files ", "dim"), (str(s["files"]), "bold"), ("   succeeded ", "dim"),
                      (str(s["succeeded"]), "bold green"), ("   dead ", "dim"),
                      (str(s["dead"]), "bold red" if s["dead"] else "bold"), ("   ignored ", "dim"),
                      (str(s["ignored"]), "bold"), ("   duplicates suppressed ", "dim"),
                      (str(s["duplicates_suppressed"]), "bold")),
        Text.assemble(("overlapping runs in a group ", "dim"),
                      (str(s["overlapping_runs"]), "bold red" if s["overlapping_runs"] else "bold green"),
                      ("   ordering violations ", "dim"),
                      (str(s["ordering_violations"]), "bold red" if s["ordering_violations"] else "bold green"),
                      ("   peak groups in parallel ", "dim"), (str(s["max_parallel_groups"]), "bold")),
        Text(f"stack {result.stack} ({result.region}), {result.resources} resources deployed to emulated AWS in "
             f"{result.deploy_s:.1f} s; engine {result.engine}"
             + (f" (Spark started in {result.spark_start_s:.1f} s)" if result.spark_start_s else "")
             + f"; speedup {result.speedup:g}x; wall {s['wall_s']:.1f} s", style="dim"),
    ]
    if result.faults_fired:
        lines.append(Text("faults injected: " + ", ".join(f"{k} x{v}" for k, v in sorted(result.faults_fired.items())),
                          style="yellow"))
    for note in result.notes:
        lines.append(Text(f"note: {note}", style="yellow"))
    if not result.quiet:
        lines.append(Text("the pipeline was still busy when the demo gave up (--timeout): unfinished files are "
                          "listed with their current status", style="bold red"))
    if result.nothing_processed:
        reasons = Counter(str(f.get("reason") or "no reason recorded") for f in result.report["files"])
        lines.append(Text(f"NOTHING WAS PROCESSED: all {s['files']} landed file(s) were ignored, so this run shows "
                          "nothing about ordering (exit 3). Why:", style="bold red"))
        lines += [Text(f"  {count} x {reason}", style="red") for reason, count in reasons.most_common()]
        lines.append(Text("Fix: land files the stack takes in (its keyPrefix / keySuffixes, `landing config "
                          f"--stack {result.stack}`), or change the stack's settings", style="red"))
        return Panel(Group(*lines), title=f"Summary ({result.design} design)", expand=False)
    if held:
        verdict = ("order held in every group, no same-group runs overlapped" if promise else
                   "THE PROMISE DID NOT HOLD: see the overlaps / ordering violations above")
    else:
        verdict = ("seed design: runs of one group overlapped, as the card's dispatcher allows"
                   if s["overlapping_runs"] else "seed design: no overlap happened in this run (try files that "
                   "land closer together)")
    lines.append(Text(verdict, style="bold green" if (promise and held) else "bold yellow" if not held else "bold red"))
    return Panel(Group(*lines), title=f"Summary ({result.design} design)", expand=False)


def data_views(result: DemoResult) -> list[Any]:
    """What the runs did to the data: rows in / out / quarantined per file and where they went, and each
    group's snapshot (a few rows in merge-key order). The sleep engine reads and writes nothing: say so."""
    data, files = result.data, result.report["files"]
    if result.engine == "sleep":
        return [Text("engine sleep: runs only take their time, no rows are read or written (--engine spark runs "
                     "the job on the files)", style="dim")]
    where = (f"kept in {data.kept}/ ({data.kept_files} files)" if data.kept is not None else
             f"in s3://{result.output_bucket}/ (emulated: gone when the demo ends; --keep DIR copies it out)")
    table = Table()
    for column, justify in (("file", "left"), ("rows in", "right"), ("out", "right"), ("quarantined", "right"),
                            ("written to", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for file in files:
        rows = file.get("rows")
        if not rows:
            continue
        written = [_relative(file.get("output_uri"), result.output_bucket)]
        if file.get("quarantine_uri"):
            sample = (file.get("quarantine_sample") or [""])[0]
            written.append(f"{_relative(file['quarantine_uri'], result.output_bucket)}  ({sample})")
        table.add_row(escape(file["key"].rsplit("/", 1)[-1]), str(rows["in"]), str(rows["out"]),
                      str(rows["quarantined"]), escape("\n".join(written)))
    shown: list[Any] = [Text(f"What happened to the data: {where}", style="italic"), table] if table.row_count else [
        Text("no run wrote a manifest: no file's rows reached the output", style="yellow")]
    for snap in data.snapshots:
        keys = ", ".join(snap.merge_keys) or "none"
        title = (f"Snapshot of {snap.group}: version {snap.version}, {snap.rows} row(s), merge keys {keys}"
                 + (f" (first {len(snap.sample)} by key)" if len(snap.sample) < snap.rows else ""))
        view = Table()
        for column in snap.columns:
            view.add_column(escape(column), overflow="fold")
        for row in snap.sample:
            view.add_row(*("" if row.get(c) is None else escape(str(row.get(c))) for c in snap.columns))
        shown += [Text(title, style="italic"), view]
    if data.tables:
        shown.append(catalog_view(data.tables, result.output_bucket))
    return shown


def catalog_view(tables: list[Any], bucket: str) -> Any:
    """Each feed's table read back through the catalog, as a query engine would: its partitions and rows, and
    whether the files' columns and types are the table's."""
    view = Table(title="Catalog tables, read back through the catalog", title_justify="left")
    for column, justify in (("table", "left"), ("location", "left"), ("partitions", "right"), ("rows", "right"),
                            ("columns", "left")):
        view.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for t in tables:
        problems = [*(f"missing {c}" for c in t.missing), *(f"not in table {c}" for c in t.unlisted), *t.mistyped]
        verdict = Text("; ".join(problems), style="red") if problems else Text(
            f"{len(t.columns)}, as the files" if t.partitions and t.rows else f"{len(t.columns)}", style="green")
        view.add_row(escape(t.name), escape(_relative(t.location, bucket)), str(len(t.partitions)), str(t.rows),
                     verdict)
    return view


def _relative(uri: str | None, bucket: str) -> str:
    prefix = f"s3://{bucket}/"
    return uri[len(prefix):] if uri and uri.startswith(prefix) else (uri or "-")
