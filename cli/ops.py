"""``landing status``, ``landing redrive``, ``landing skip``: operate a deployed pipeline with your AWS credentials.

Resource names come from flags, from the stack's outputs (``--outputs FILE`` as
written by ``pulumi stack output --json``), or from the same ``LANDING_*``
variables the functions use; no ``pulumi`` CLI is needed at run time.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from landing_pipeline.cli.errors import warn
from landing_pipeline.cli.ops_actions import (
    REGION_ORDER,
    OpsError,
    duration_s,
    files_for_status,
    operator_context,
    operator_region,
    queue_depths,
    read_outputs,
    redrive,
    resolve_names,
    skip,
)
from landing_pipeline.runtime.context import RuntimeContext, aws_error_code
from landing_pipeline.runtime.errors import ConfigurationError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack

T = TypeVar("T")

StackOpt = Annotated[str, typer.Option(help="Stack name: its Pulumi.<stack>.yaml gives max_attempts and on_failure "
                                            "for the display, and it names the outputs file in hints.")]
OutputsOpt = Annotated[Path | None, typer.Option(
    help="Stack outputs JSON from `pulumi stack output --json --stack dev > dev-outputs.json`.")]
TableOpt = Annotated[str | None, typer.Option("--table", help="Ledger table name (stack output ledger_table_name).")]
QueueOpt = Annotated[str | None, typer.Option(
    "--queue-url", help="Ordered FIFO queue URL (stack output ordered_queue_url).")]
DlqOpt = Annotated[str | None, typer.Option("--dlq-url", help="FIFO DLQ URL (stack output ordered_dlq_url).")]
RegionOpt = Annotated[str | None, typer.Option(help="AWS region. First found wins: " + REGION_ORDER + ".")]


def _spec_or_default(stack: str) -> PipelineSpec:
    try:
        return load_stack(stack)
    except ConfigurationError:  # the display only needs maxAttempts and onFailure; the ledger has the truth
        return PipelineSpec()


def _context(stack: str, outputs: Path | None, table: str | None, queue_url: str | None, dlq_url: str | None,
             region: str | None, needed: tuple[str, ...]) -> RuntimeContext:
    flags = {"ledger_table": table, "ordered_queue_url": queue_url, "ordered_dlq_url": dlq_url}
    names = resolve_names(flags, read_outputs(outputs) if outputs else {}, os.environ, needed, stack,
                          optional=("ordered_queue_url", "ordered_dlq_url"))
    return operator_context(names, _spec_or_default(stack), region=operator_region(region, os.environ, stack))


def _run(action: Callable[[], T]) -> T:
    """Turn missing credentials and AWS refusals into an ``OpsError`` (one clear line, exit 2 in cli/errors.py)."""
    try:
        return action()
    except OpsError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if kind == "NoCredentialsError":
            message = ("no AWS credentials found. Fix: `aws configure`, `aws sso login --profile P` with "
                       "AWS_PROFILE=P, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
        elif kind == "NoRegionError":
            message = ("no AWS region. Fix: pass --region eu-west-1, set AWS_REGION, aws:region in "
                       "Pulumi.<stack>.yaml or your profile's region")
        elif aws_error_code(exc) == "ResourceNotFoundException":
            message = f"{exc}. Fix: check --table / --outputs point at this account and --region"
        elif aws_error_code(exc) in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
                                     "ExpiredTokenException", "InvalidClientTokenId"):
            message = f"AWS refused the call ({aws_error_code(exc)}): {exc}. Fix: use credentials allowed to " \
                      "read the ledger and the queues"
        elif aws_error_code(exc) and "NonExistentQueue" in str(aws_error_code(exc)):
            message = f"{exc}. Fix: check --queue-url / --dlq-url / --outputs and --region"
        else:
            raise
    raise OpsError(message) from None


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}s" if value < 120 else f"{value / 60:.1f}m"


def _status(ctx: RuntimeContext, group: str | None, key: str | None, as_json: bool) -> None:
    records = files_for_status(ctx.ledger, group=group, key=key)
    now = ctx.now()
    if as_json:
        typer.echo(json.dumps([{**{k: v for k, v in r.__dict__.items() if k != "receipt_handle"},
                                "run_ids": list(r.run_ids), "duration_s": duration_s(r, now)} for r in records],
                              indent=2, default=str))
        return
    console = Console()
    if not records:
        console.print(escape("no files in the ledger" + (f" for group {group!r}" if group else "")
                             + (f" with key {key!r}" if key else "")))
    current = None
    table: Table | None = None
    for record in records:
        if record.group != current:
            if table is not None:
                console.print(table)
            current = record.group
            table = Table(title=escape(f"group {record.group}"), title_justify="left")
            for column in ("#", "key", "status", "attempts", "received", "run time", "last error"):
                table.add_column(column, overflow="fold")
        assert table is not None
        attempts = f"{record.attempts_since_redrive}/{ctx.spec.max_attempts}" + \
            (f" (+{record.attempt_base})" if record.attempt_base else "")
        style = {"DEAD": "red", "BLOCKED": "yellow", "FAILED": "yellow", "RUNNING": "cyan", "SKIPPED": "dim"}
        table.add_row(str(len(table.rows) + 1), escape(record.key), record.status, attempts, record.received_at or "",
                      _seconds(duration_s(record, now)), escape((record.last_error or "")[:120]),
                      style=style.get(record.status))
    if table is not None:
        console.print(table)
    counts = Counter(r.status for r in records)
    console.print("files: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())) if counts else "")
    for label, (visible, in_flight) in queue_depths(ctx).items():
        console.print(f"{label}: {visible} waiting, {in_flight} in flight")


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
               queue_url: QueueOpt = None, dlq_url: DlqOpt = None, region: RegionOpt = None,
               group: Annotated[str | None, typer.Option(help="Only this group (its MessageGroupId).")] = None,
               key: Annotated[str | None, typer.Option(help="Only files with exactly this S3 key.")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
               ) -> None:
        """Show the ledger: each group's files in processing order, with status, attempts and run time.

        Then the ordered queue's backlog (waiting; in flight = groups held) and the FIFO DLQ depth.

        Examples:
          landing status --stack dev --outputs dev-outputs.json
          landing status --table ingest-ledger-1a2b --group orders_20250915
        """
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, region, ("ledger_table",)))
        _run(lambda: _status(ctx, group, key, as_json))

    @app.command("redrive")
    def redrive_cmd(stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
                    queue_url: QueueOpt = None, dlq_url: DlqOpt = None, region: RegionOpt = None,
                    group: Annotated[str | None, typer.Option(help="Only DLQ messages of this group.")] = None,
                    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would move; move nothing."
                                                          )] = False) -> None:
        """Move DEAD files from the FIFO DLQ back to the ordered queue, keeping group and dedup id.

        The ledger is updated first: each file gets a fresh set of max_attempts runs.

        A group blocked behind a redriven file (on_failure: block) is woken; the redriven file runs first.

        Examples:
          landing redrive --stack dev --outputs dev-outputs.json --dry-run
          landing redrive --stack dev --outputs dev-outputs.json --group orders_20250915
        """
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, region,
                                    ("ledger_table", "ordered_queue_url", "ordered_dlq_url")))
        moved, problems = _run(lambda: redrive(ctx, group=group, dry_run=dry_run))
        result = Table(title="would redrive" if dry_run else "redriven", title_justify="left")
        for column in ("group", "key", "status before", "dedup id", "note"):
            result.add_column(column, overflow="fold")
        for item in moved:
            result.add_row(escape(item.group), escape(item.key), item.status_before, item.dedup_id[:16] + "…",
                           escape(item.note))
        Console().print(result)
        for problem in problems:
            warn(str(problem))
        typer.echo(f"{len(moved)} message(s) {'would be ' if dry_run else ''}redriven")

    @app.command("skip")
    def skip_cmd(key: Annotated[str, typer.Argument(help="S3 key of the DEAD file to skip.")],
                 stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
                 queue_url: QueueOpt = None, dlq_url: DlqOpt = None, region: RegionOpt = None,
                 file_id: Annotated[str | None, typer.Option(
                     help="The file id, when several versions of the key are DEAD.")] = None,
                 reason: Annotated[str, typer.Option(help="Recorded in the ledger's last_error.")] = "") -> None:
        """Give up on a DEAD file: mark it SKIPPED and let its group go on.

        Its message leaves the FIFO DLQ; a file BLOCKED behind it (on_failure: block) is released at once.

        Example:
          landing skip --stack dev --outputs dev-outputs.json landing/orders_20250915_101500.csv
        """
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, region, ("ledger_table",)))
        done = _run(lambda: skip(ctx, key, file_id=file_id, reason=reason))
        typer.echo(f"skipped {done.record.key} (group {done.record.group}); "
                   f"{'removed from' if done.removed_from_dlq else 'not found in'} the FIFO DLQ; "
                   f"{done.woken} blocked file(s) released")

