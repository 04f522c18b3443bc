"""``landing demo``: the stack you would deploy, running on this machine, end to end.

Deploys the real Pulumi program onto in-process emulated AWS (moto), runs the
real handlers and the real Glue script (local Spark), lands files, and shows the
pipeline working: one file at a time per group, groups in parallel, failures
retried and parked. No AWS account, no pulumi CLI, no Docker.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.live import Live

from landing_pipeline.runtime.errors import InputError

EXAMPLES = """
Examples:

  landing demo                                   # the built-in example set on local Spark

  landing demo --engine sleep --fault fail-run:'orders_*':2 --fault duplicate-event:'*'

  landing demo --design seed --timeline out/seed.png   # watch the seed card's runs overlap

  landing demo --trace trace.csv --engine sleep --speedup 600 --json out/replay.json

  landing demo --files ./my-files --json out/demo.json --timeline out/timeline.png

  landing demo --keep out/data          # keep the Parquet, quarantine, manifests and snapshots the runs wrote

  landing demo --chaos 7 --json out/chaos-7.json   # 50 drawn files, 5 groups, drawn faults: the invariant report

  landing demo --chaos 7 --files 200 --groups 20   # a bigger draw (with --chaos, --files is a number)
"""


def demo(
    stack: Annotated[str, typer.Option(help="Stack whose Pulumi.<stack>.yaml (over Pulumi.yaml's defaults) is "
                                            "deployed.")] = "dev",
    files: Annotated[str | None, typer.Option(
        help="Upload every file in this folder, in name order at time 0; with an arrivals.csv (time_s,file) in "
             "it, in that order at those pipeline seconds. With --chaos: how many files to draw (default 50); "
             "one option for both, as both say which files land, and --chaos decides how it is read.",
        metavar="DIR|N")] = None,
    trace: Annotated[Path | None, typer.Option(
        help="Land generated files as a trace CSV says: time_s,key[,size_bytes,duration_s,fail_attempts] "
             "(the simulator's trace format; duration_s and fail_attempts drive the sleep engine).",
        dir_okay=False)] = None,
    engine: Annotated[str | None, typer.Option(
        help="spark (default; sleep with --chaos): each Glue run executes the deployed job script on local "
             "PySpark (needs Java 17). sleep: a run just takes the file's duration (trace duration_s, else 60 s): "
             "fast replays.")] = None,
    speedup: Annotated[float | None, typer.Option(
        help="Pipeline seconds per wall second: visibility timeouts, backoffs, holds and arrival times run this "
             "much faster. Default 10 with spark, 60 with sleep.", min=0.001)] = None,
    fault: Annotated[list[str] | None, typer.Option(
        help="KIND:GLOB[:N], repeatable. KIND: duplicate-event, fail-run (first N attempts fail), timeout-run, "
             "throttle (next N starts), crash-after-start, lose-completion, malformed-event, "
             "delete-before-processing; and the strict layer's (ambiguous-start, duplicate-delivery, gsi-lag:SECONDS, "
             "crash-in:HANDLER:STEP, ...: an unknown KIND lists them all). GLOB matches the file name or key; N "
             "defaults to 1.")] = None,
    lenient: Annotated[bool, typer.Option(
        "--lenient", help="Turn the strict layer off: moto's kinder AWS (FIFO dedup only against stored "
                          "messages, exact GSIs, no retention, no Lambda timeout). See docs/emulator.md.")] = False,
    fast: Annotated[bool, typer.Option(
        "--fast", help="Virtual pipeline time instead of --speedup: time stands still while anything works and "
                       "jumps to the next deadline when everything waits, so a run costs its CPU time, not its "
                       "pipeline time (best with --engine sleep: a Spark run then takes no pipeline time). "
                       "Chaos mode always uses it.")] = False,
    design: Annotated[str, typer.Option(
        help="held: this project's dispatcher (holds the group until the run ends). seed: the original card's "
             "dispatcher (start the run and return), to watch same-group runs overlap.")] = "held",
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="Write files (key, group, status, reason, attempts, enqueue_seq, runs, rows in/out/quarantined, "
                       "output locations) and the summary as JSON.",
        dir_okay=False)] = None,
    timeline: Annotated[Path | None, typer.Option(
        help="Write a PNG Gantt chart of the Glue runs per group (overlaps hatched red).", dir_okay=False)] = None,
    logs: Annotated[Path | None, typer.Option(
        help="Write the functions' log lines and EMF metrics here, as CloudWatch would get them: JSON lines "
             "only (jq reads it).",
        dir_okay=False)] = None,
    timeout: Annotated[float, typer.Option(
        help="Wall seconds to wait for the pipeline to go quiet before giving up (exit 1).", min=1)] = 900.0,
    keep: Annotated[Path | None, typer.Option(
        help="Copy what the runs wrote out of emulated S3 into this folder before it goes: processed Parquet, "
             "quarantine, manifests and snapshots (s3://<output bucket>/KEY -> DIR/KEY).", file_okay=False)] = None,
    chaos: Annotated[int | None, typer.Option(
        help="Chaos mode: draw a workload (bursts into few groups, retries, files that die and are redriven), "
             "faults and settings from this seed, run them (sleep engine) and print the invariant report, "
             "computed from Glue's run log, the landing log and the DLQs, never the ledger. Exit 1 when an "
             "invariant fails. The same seed draws the same plan. --files N and --groups G size the draw.",
        metavar="SEED")] = None,
    groups: Annotated[int | None, typer.Option(
        help="With --chaos: how many groups the drawn files fall into (default 5).", min=1)] = None,
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="Put the files into the landing bucket before the pipeline takes events (its EventBridge "
                           "notifications off), then bring them in with `landing backfill`'s code; the sleep "
                           "engine gives every run 60 s.")] = False,
) -> None:
    """Run the stack you would deploy on this machine: real program, real handlers, real Glue script.

    Deploys the Pulumi program onto in-process emulated AWS (moto), lands files (the seed card's example set
    unless --files or --trace), shows progress until the pipeline is quiet, then prints every group's files in
    run order with their rows in / out / quarantined, each group's snapshot, and a summary.

    Exit status: 0 when files went through; 1 if the pipeline did not go quiet within --timeout, or the held
    design let runs of one group overlap or run out of order; 2 on bad input (checked before anything runs,
    including that the --json, --timeline, --logs and --keep paths can be written); 3 if no file was
    processed at all (every landed file was ignored: outside keyPrefix, a suffix not in keySuffixes, ...).
    With --chaos SEED: 1 when an invariant of the report failed, 0 when all held.
    """
    from landing_pipeline.emulator.bridge import BridgeError
    from landing_pipeline.emulator.demo import DemoOptions, run_demo
    from landing_pipeline.emulator.faults import parse_fault

    if chaos is not None:
        _chaos(chaos, files=files, groups=groups, stack=stack, engine=engine or "sleep", lenient=lenient,
               json_path=json_path, timeline=timeline, logs=logs, timeout=timeout,
               refused={"--trace": trace, "--fault": fault or None, "--speedup": speedup, "--keep": keep,
                        "--design": design if design != "held" else None, "--backfill": backfill or None})
        return
    if groups is not None:
        _bad("--groups only sizes a chaos draw: give --chaos SEED too")
    if fast and speedup is not None:
        _bad("--fast runs on virtual time, which has no speedup: give --fast or --speedup, not both")
    engine = engine or "spark"
    if engine not in ("spark", "sleep"):
        _bad(f"--engine {engine!r}: use spark or sleep")
    if design not in ("held", "seed"):
        _bad(f"--design {design!r}: use held (this project's dispatcher) or seed (the original card's)")
    for text in fault or []:
        parse_fault(text)  # a FaultSpecError (an InputError) exits 2 through cli/errors.py, before any work
    # The console is pinned to the real stdout: the live display and the function-output routing both replace
    # sys.stdout while the demo runs, and a console that looked it up at each write would print into them
    # (rich's proxy prints through the console: an endless loop in a terminal).
    _check_paths(json_path, timeline, logs, keep)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 140)  # a log file: the full table
    if logs is not None:
        logs.parent.mkdir(parents=True, exist_ok=True)
    log_file = logs.open("w", encoding="utf-8") if logs else None
    options = DemoOptions(stack=stack, engine=engine, speedup=speedup, faults=list(fault or []),  # type: ignore[arg-type]
                          design=design, files=Path(files) if files is not None else None,  # type: ignore[arg-type]
                          trace=trace, timeout_s=timeout,
                          function_log=log_file, keep_dir=keep, lenient=lenient, virtual_time=fast,
                          backfill=backfill)
    title = f"landing demo: stack {stack}, {design} design, {engine} engine"
    try:
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            result = run_demo(options, on_progress=_painter(live, title))
    except BridgeError as exc:  # bad settings, files or traces propagate as they are to cli/errors.py
        raise BridgeError(f"the stack could not be deployed to emulated AWS: {exc}") from None
    finally:
        if log_file is not None:
            log_file.close()
    _show(console, result, json_path, timeline)
    summary = result.report["summary"]
    broken = design == "held" and (summary["overlapping_runs"] or summary["ordering_violations"])
    if not result.quiet or broken:
        raise typer.Exit(1)
    if result.nothing_processed:
        raise typer.Exit(NOTHING_PROCESSED_EXIT)


NOTHING_PROCESSED_EXIT = 3
"""Every landed file was ignored: the run showed nothing, which a script (or CI) must not take for a success."""


def _check_paths(json_path: Path | None, timeline: Path | None, logs: Path | None, keep: Path | None) -> None:
    """Fail before the deploy (not after minutes of Spark) when an output path cannot be written."""
    from landing_pipeline.emulator.outputs import path_problem

    problems = [problem for option, path, folder in (("--json", json_path, False), ("--timeline", timeline, False),
                                                     ("--logs", logs, False), ("--keep", keep, True))
                if path is not None and (problem := path_problem(option, path, folder=folder))]
    if problems:
        _bad("\n".join(problems))


def _painter(live: Live, title: str) -> Any:
    from landing_pipeline.cli.demo_view import progress_panel

    last = [0.0]

    def paint(progress: Any) -> None:
        if time.monotonic() - last[0] >= 0.2:
            last[0] = time.monotonic()
            live.update(progress_panel(progress, title))

    return paint


def _show(console: Console, result: Any, json_path: Path | None, timeline: Path | None) -> None:
    from landing_pipeline.cli.demo_view import data_views, group_table, summary_panel
    from landing_pipeline.emulator.report import to_json
    from landing_pipeline.emulator.timeline import render, title_for

    if result.backfills:
        from landing_pipeline.cli.backfill import report as backfill_report

        for outcome in result.backfills:
            for line in backfill_report(outcome, result.backfill_target, "", dry_run=False):
                console.print(f"backfill: {line}", highlight=False, markup=False)
    console.print(group_table(result))
    for renderable in data_views(result):
        console.print(renderable)
    console.print(summary_panel(result))
    if result.function_errors:
        console.print(f"[yellow]{len(result.function_errors)} function invocation(s) failed (retried as Lambda "
                      f"would); first: {result.function_errors[0]}[/]", highlight=False)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(to_json(result.report), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_path}")
    if timeline is not None:
        title = title_for(result.report, design=result.design, stack=result.stack, engine=result.engine)
        render(result.report, timeline, title=title, group_limit=result.group_limit)
        console.print(f"wrote {timeline}")


CHAOS_FILES, CHAOS_GROUPS = 50, 5


def _chaos(seed: int, *, files: str | None, groups: int | None, stack: str, engine: str, lenient: bool,
           json_path: Path | None, timeline: Path | None, logs: Path | None, timeout: float,
           refused: dict[str, Any]) -> None:
    """``--chaos SEED``: draw, run, report; exit 1 when an invariant failed (or the pipeline never went quiet)."""
    from landing_pipeline.cli.chaos_view import plain_report, rich_report
    from landing_pipeline.emulator import chaos as chaos_mode

    given = [option for option, value in refused.items() if value is not None]
    if given:
        _bad(f"{', '.join(given)} cannot be combined with --chaos: the seed draws the workload, the faults and "
             "the settings, and the clock is chaos mode's own. Drop "
             f"{'it' if len(given) == 1 else 'them'}, or run without --chaos")
    if engine not in ("spark", "sleep"):
        _bad(f"--engine {engine!r}: use sleep (chaos mode's default) or spark")
    count = CHAOS_FILES
    if files is not None:
        if not files.isdigit() or int(files) < 1:
            _bad(f"--files {files!r}: with --chaos, --files is how many files to draw (a whole number, at least 1)")
        count = int(files)
    _check_paths(json_path, timeline, logs, None)
    tty = sys.stdout.isatty()
    console = Console(file=sys.stdout, width=None if tty else 140)
    if logs is not None:
        logs.parent.mkdir(parents=True, exist_ok=True)
    log_file = logs.open("w", encoding="utf-8") if logs else None
    title = f"landing demo --chaos {seed}: {count} files, {groups or CHAOS_GROUPS} groups, {engine} engine"
    try:
        # in a terminal a live panel; else (a pipe, a CI log) progress lines on stderr, the report alone on stdout
        with Live(console=console, refresh_per_second=4, transient=True) if tty else nullcontext() as live:
            progress = _painter(live, title) if live is not None else _progress_lines(title)
            report, result = chaos_mode.run_with_result(
                seed, files=count, groups=groups or CHAOS_GROUPS, engine=engine, lenient=lenient, stack=stack,
                timeout_s=timeout, function_log=log_file, on_progress=progress)
    finally:
        if log_file is not None:
            log_file.close()
    if tty:
        for renderable in rich_report(report):
            console.print(renderable)
    else:
        print(plain_report(report), flush=True)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        console.print(f"wrote {json_path}", highlight=False)
    if timeline is not None:
        from landing_pipeline.emulator.timeline import render, title_for

        picture = title_for(result.report, design=result.design, stack=result.stack, engine=result.engine)
        render(result.report, timeline, title=f"chaos seed {seed}: {picture}", group_limit=result.group_limit)
        console.print(f"wrote {timeline}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


def _progress_lines(title: str, every_s: float = 10.0) -> Any:
    """A progress line on stderr every ``every_s`` wall seconds, for a pipe or a CI log."""
    last = [time.monotonic()]

    def report(progress: Any) -> None:
        if time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            print(f"{title}: landed {progress.landed}/{progress.total}, running {progress.running}, done "
                  f"{progress.done}, dead {progress.dead}, pipeline {progress.pipeline_s:,.0f} s, wall "
                  f"{progress.wall_s:,.1f} s", file=sys.stderr, flush=True)

    return report


def _bad(message: str) -> NoReturn:
    raise InputError(message)  # printed (escaped) with exit 2 by the handler in cli/errors.py


def register(app: typer.Typer) -> None:
    app.command(name="demo", help=inspect.cleandoc(demo.__doc__ or "") + "\n" + EXAMPLES)(demo)
