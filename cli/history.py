"""``landing history export``: a deployed pipeline's history as a simulator trace.

Thin: names and times are read and checked here; the reads are cli/history_read.py, the join (and its rules for
durations and failures) cli/history_trace.py. Resources are found as ``landing status`` finds them (flags,
``--outputs``, ``LANDING_*`` variables, ``--endpoint-url`` for the emulator).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from landing_pipeline.cli.common import err_console
from landing_pipeline.cli.history_read import Clients, read_files, read_runs
from landing_pipeline.cli.history_trace import DETAILS_HEADER, TRACE_HEADER, Exported, export, iso, to_csv
from landing_pipeline.cli.ops import EndpointOpt, OutputsOpt, RegionOpt, TableOpt, _endpoint_clients, _run
from landing_pipeline.cli.ops_actions import OpsError, operator_region, read_outputs, resolve_names
from landing_pipeline.runtime.context import aws_error_code

history_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                          help="A deployed pipeline's history (ledger and Glue runs), for the simulator.")

AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_time(option: str, text: str | None, now: float) -> float | None:
    """An ISO 8601 time (a date alone is its midnight UTC; no zone is UTC) or a span ago (``90m``, ``2h``, ``3d``)."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    ago = AGO.match(value)
    if ago:
        return now - float(ago.group(1)) * UNIT_S[ago.group(2)]
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OpsError(f"{option} {text!r} is not a time. Fix: give ISO 8601 (2025-09-15T10:00:00Z, or a date "
                       "2025-09-15) or a span ago (90m, 2h, 3d)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def window(since: str | None, until: str | None, now: float) -> tuple[float | None, float | None]:
    start, end = parse_time("--since", since, now), parse_time("--until", until, now)
    if start is not None and end is not None and start > end:
        raise OpsError(f"--since {since} ({iso(start)}) is after --until {until} ({iso(end)}). Fix: swap them, or "
                       "give --since the earlier time")
    return start, end


def export_history(clients: Clients, table: str, job: str, *, since: float | None = None,
                   until: float | None = None, on_page: Callable[[str, int], None] | None = None) -> Exported:
    """Read the ledger and the job's runs through ``clients`` and join them (the library entry: tests pass moto's
    clients; the command passes boto3's)."""
    files = read_files(clients("dynamodb"), table, on_page)
    try:
        runs = read_runs(clients("glue"), clients("s3"), job, since, on_page)
    except Exception as exc:
        if aws_error_code(exc) == "EntityNotFoundException":
            raise OpsError(f"no Glue job {job!r} here ({exc}). Fix: --job, or job_name in --outputs, names the "
                           "stack's job; check --region") from None
        raise
    exported = export(files, runs, since=since, until=until)
    if not exported.trace:
        raise OpsError(_empty_message(files, since, until))
    return exported


def _empty_message(files: list[Any], since: float | None, until: float | None) -> str:
    asked = f"between {iso(since) if since else 'the start'} and {iso(until) if until else 'now'}"
    if not files:
        return "the ledger holds no files: nothing has landed on this stack yet (or --table names another table)"
    landed = sorted(float(f.landed_at or f.recorded_at or 0.0) for f in files)
    return (f"no file landed {asked}; the ledger's {len(files)} file(s) landed from {iso(landed[0])} to "
            f"{iso(landed[-1])}. Fix: widen --since / --until")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int], None] | None]:
    """A spinner with counts on a terminal (a long scan says it is alive); nothing when piped."""
    if not enabled:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as bar:
        tasks = {"ledger": bar.add_task("ledger: 0 files"), "glue": bar.add_task("Glue runs: 0", visible=False)}
        labels = {"ledger": "ledger: {} files", "glue": "Glue runs: {}"}

        def update(what: str, count: int) -> None:
            bar.update(tasks[what], description=labels[what].format(count), visible=True)
        yield update


def _clients(endpoint_url: str | None, region: str | None) -> Clients:
    if endpoint_url:
        return _endpoint_clients(endpoint_url, region)

    def factory(service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=region) if region else boto3.client(service)

    return factory


def details_path(output: Path) -> Path:
    return output.with_name(output.stem + ".details.csv")


def check_writable(output: Path) -> None:
    """Refuse an output the command could not write before reading a day of history (exit 2, naming -o)."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpsError(f"-o {output}: cannot create its folder ({exc.strerror}). Fix: give a path you can "
                       "write") from None
    unwritable = output.exists() and not os.access(output, os.W_OK)
    if output.is_dir() or unwritable or not os.access(output.parent, os.W_OK):
        raise OpsError(f"-o {output}: not a file this user can write. Fix: give a writable file path, e.g. -o day.csv")


@history_app.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the trace CSV (the simulator's "
                                         "format); the details go beside it as <name>.details.csv.")],
    stack: Annotated[str, typer.Option(help="Stack name (its aws:region is used when no --region is given).")]
    = "dev",
    outputs: OutputsOpt = None, table: TableOpt = None,
    job: Annotated[str | None, typer.Option("--job", help="Glue job name (stack output job_name).")] = None,
    region: RegionOpt = None, endpoint_url: EndpointOpt = None,
    since: Annotated[str | None, typer.Option(help="Only files landed at or after this: ISO 8601 "
                                              "(2025-09-15T10:00:00Z) or a span ago (90m, 2h, 3d).")] = None,
    until: Annotated[str | None, typer.Option(help="Only files landed at or before this (same forms).")] = None,
) -> None:
    """Write a deployed pipeline's history as a trace for `landing simulate --trace`.

    Reads every file version the ledger knows (strongly consistent scan) and the Glue job's runs (GetJobRuns),
    joins them by the file ids each run's arguments name, and writes one row per file landed in the window:
    time_s (from the earliest landing, printed), key, size_bytes, duration_s (the job's time on the file),
    fail_attempts (failed runs before the successful one) and event_delay_s (a late S3 event). Feed, group,
    state, run id, batch place, start, end and DPU-seconds go to <name>.details.csv. Needs credentials that
    may read the ledger table, the job's runs and the output bucket's batch lists; nothing is written to AWS.

    Examples:
      landing history export --outputs dev-outputs.json --since 2025-09-15 -o day.csv
      landing history export --since 2h -o last.csv --endpoint-url http://127.0.0.1:4580
      landing simulate --stack dev --trace day.csv    # replay it
    """
    now = time.time()
    start, end = window(since, until, now)
    check_writable(output)
    try:
        names = resolve_names({"ledger_table": table, "job_name": job}, read_outputs(outputs) if outputs else {},
                              os.environ, ("ledger_table", "job_name"), stack)
    except OpsError as exc:   # resolve_names knows no flag of the job's name: say it is --job
        raise OpsError(str(exc).replace("job_name (stack output", "--job (stack output")) from None
    chosen = operator_region(region, os.environ, stack)
    clients = _clients(endpoint_url, chosen)
    with _progress(err_console.is_terminal) as on_page:
        exported = _run(lambda: export_history(clients, names["ledger_table"], names["job_name"], since=start,
                                               until=end, on_page=on_page))
    output.write_text(to_csv(exported.trace, TRACE_HEADER), encoding="utf-8")
    details_path(output).write_text(to_csv(exported.details, DETAILS_HEADER), encoding="utf-8")
    typer.echo(f"wrote {output}: {len(exported.trace)} file(s) in {exported.groups} group(s), {exported.runs} Glue "
               f"run(s); details in {details_path(output)}")
    typer.echo(f"time_s 0 is {iso(exported.start)} (the earliest landing in the window)"
               + (f"; {exported.files_outside} file(s) outside the window left out" if exported.files_outside
                  else ""))


def register(app: typer.Typer) -> None:
    """Add ``landing history`` (and its ``export``) to ``app``."""
    app.add_typer(history_app, name="history")
