"""``landing backfill``: bring files already in the landing bucket through the real intake path.

Thin: options are read and checked here and the outcome printed; the work is cli/backfill_run.py (and its steps
cli/backfill_core.py), which ``landing demo --backfill`` runs too. Resources are found as ``landing status``
finds them (flags, ``--outputs``, ``LANDING_*`` variables, ``--endpoint-url`` for ``landing serve``); the intake
queue, when nothing names it, is the SQS target of the EventBridge rule for the bucket's Object Created events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from landing_pipeline.cli.backfill_core import account_of, intake_queue_of
from landing_pipeline.cli.backfill_run import Hooks, Outcome, Request, Target, default_state_dir, run_backfill
from landing_pipeline.cli.common import err_console, load_spec_or_exit
from landing_pipeline.cli.errors import warn
from landing_pipeline.cli.history import window
from landing_pipeline.cli.ops import EndpointOpt, OutputsOpt, RegionOpt, TableOpt, _endpoint_clients, _run
from landing_pipeline.cli.ops_actions import OpsError, operator_region, read_outputs
from landing_pipeline.runtime.contract import LEDGER_TABLE_ENV

INTERRUPTED_EXIT = 130


def _named(flag: str | None, outputs: dict[str, str], *names: str) -> str | None:
    return flag or next((outputs[name] for name in names if outputs.get(name)), None)


def _clients(endpoint_url: str | None, region: str | None) -> Callable[[str], Any]:
    if endpoint_url:
        return _endpoint_clients(endpoint_url, region)

    def factory(service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=region) if region else boto3.client(service)

    return factory


@contextmanager
def _progress(enabled: bool) -> Iterator[Hooks]:
    """A counter while listing and a bar while sending, on a terminal only (nothing when piped)."""
    if not enabled:
        yield Hooks()
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        listing = bar.add_task("listing", total=None)
        sending = bar.add_task("sending", total=None, visible=False)

        def submitting(total: int) -> None:
            bar.update(listing, visible=False)
            bar.update(sending, total=total, visible=True)

        yield Hooks(listed=lambda n: bar.update(listing, completed=n),
                    submitting=submitting, sent=lambda n: bar.update(sending, completed=n))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def report(outcome: Outcome, target: Target, prefix: str, dry_run: bool) -> list[str]:
    """What the command prints at the end (one line each), from the outcome."""
    chosen, shape = outcome.selection, outcome.shape
    lines = []
    if outcome.resumed_after is not None:
        lines.append(f"resumed after {outcome.resumed_after!r} ({outcome.submitted_before} file(s) sent by the "
                     "interrupted run)")
    lines.append(f"listed {outcome.listed} object(s) under s3://{target.bucket}/{prefix} (current versions only)")
    for reason, count in chosen.skipped.most_common():
        lines.append(f"skipped {count}: {reason}")
    if chosen.outside_window:
        lines.append(f"skipped {chosen.outside_window}: landed outside --since / --until")
    feeds = ", ".join(f"{name} {n}" for name, n in shape.feeds.most_common())
    lines.append(f"{len(chosen.files)} file(s) in {len(shape.groups)} group(s)" + (f"; feeds: {feeds}" if feeds
                                                                                      else ""))
    for reason, count in shape.refused.most_common():
        lines.append(f"{count} file(s) the router will park in the intake DLQ: {reason}")
    if outcome.known is not None:
        lines.append(f"already in the ledger: {outcome.known} (the router skips them; "
                     f"{len(chosen.files) - outcome.known} new)")
    lines += outcome.notes
    if dry_run and outcome.estimate is not None:
        e = outcome.estimate
        lines.append(f"dry run, nothing sent. Simulator estimate for stack {target.stack}: sending takes about "
                     f"{_duration(e.submit_s)}, the pipeline drains in about {_duration(e.drain_s)}, "
                     f"{e.glue_dpu_hours:.2f} Glue DPU-hours, about ${e.cost_usd:.2f}")
    elif not dry_run:
        lines.append(f"sent {outcome.submitted} message(s) to the intake queue {target.intake_queue_url}")
    return lines


def register(app: typer.Typer) -> None:
    """Add ``landing backfill`` to ``app``."""

    @app.command("backfill")
    def backfill(
        stack: Annotated[str, typer.Option(help="Stack name: its Pulumi.<stack>.yaml gives keyPrefix, keySuffixes, "
                                                "grouping and feeds (and aws:region when no --region).")] = "dev",
        prefix: Annotated[str | None, typer.Option(help="Only keys under this prefix; it must lie inside the "
                                                        "stack's keyPrefix. Default: the whole keyPrefix.")] = None,
        since: Annotated[str | None, typer.Option(help="Only versions that landed (LastModified) at or after this: "
                                                  "ISO 8601 (2025-09-15T10:00:00Z) or a span ago (90m, 2h, 3d)."
                                                  )] = None,
        until: Annotated[str | None, typer.Option(help="Only versions that landed at or before this (same "
                                                  "forms).")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Send nothing: print the files, groups and feeds, "
                                              "and the simulator's estimate of the drain time and cost.")] = False,
        outputs: OutputsOpt = None,
        bucket: Annotated[str | None, typer.Option("--bucket", help="Landing bucket (stack output "
                                                   "landing_bucket_name).")] = None,
        intake_queue_url: Annotated[str | None, typer.Option(
            "--intake-queue-url", help="Intake queue URL (stack output intake_queue_url). Default: the SQS target of "
                                       "the EventBridge rule for the bucket's Object Created events.")] = None,
        table: TableOpt = None, region: RegionOpt = None, endpoint_url: EndpointOpt = None,
        state_dir: Annotated[Path | None, typer.Option(
            help="Where the checkpoint of an interrupted backfill is kept. Default: "
                 "$XDG_CACHE_HOME/landing-pipeline/backfill (~/.cache/...).", file_okay=False)] = None,
        restart: Annotated[bool, typer.Option("--restart", help="Start from the first key, ignoring the "
                                              "checkpoint of an interrupted run.")] = False,
    ) -> None:
        """Send the objects already in the landing bucket through the intake path, as if they had just landed.

        Each current object version under --prefix becomes an intake-queue message shaped as EventBridge
        delivers S3's Object Created event (time = its LastModified), so the router groups, dedups and orders it
        exactly as a new upload; versions the ledger already holds are skipped by the router. Keys the stack's
        intake rule would not deliver (keyPrefix, keySuffixes) and objects the router ignores (folder markers,
        empty objects) are left out and counted. Interrupted (Ctrl-C, a crash)? Run the same command again: it
        continues after the last batch sent (a batch sent twice is harmless: the ledger dedups).

        Needs credentials that may list the bucket's versions (s3:ListBucketVersions), send to the intake queue
        and, for the already-known count, read the ledger table.

        Examples:
          landing backfill --stack dev --outputs dev-outputs.json --dry-run
          landing backfill --stack dev --outputs dev-outputs.json --prefix landing/orders_ --since 2025-09-01
          landing backfill --endpoint-url http://127.0.0.1:4580 --outputs serve-outputs.json   # landing serve
        """
        start, end = window(since, until, time.time())
        spec = load_spec_or_exit(stack)
        chosen_prefix = spec.key_prefix if prefix is None else prefix
        flat = read_outputs(outputs) if outputs else {}
        landing = _named(bucket, flat, "landing_bucket_name", "landingBucketName")
        if not landing:
            raise OpsError(f"missing --bucket (stack output landing_bucket_name). Pass --outputs FILE, written by "
                           f"`pulumi stack output --json --stack {stack} > {stack}-outputs.json`, or --bucket")
        chosen_region = operator_region(region, os.environ, stack)
        clients = _clients(endpoint_url, chosen_region)
        queue = _named(intake_queue_url, flat, "intake_queue_url", "intakeQueueUrl") or _run(
            lambda: intake_queue_of(clients("events"), clients("sqs"), landing))
        ledger = _named(table, flat, "ledger_table_name", "ledgerTableName") or os.environ.get(LEDGER_TABLE_ENV)
        target = Target(stack=stack, bucket=landing, intake_queue_url=queue, ledger_table=ledger or None,
                        region=chosen_region or "us-east-1", account=account_of(queue))
        request = Request(prefix=chosen_prefix, since=start, until=end, window_text=(since or "", until or ""),
                          dry_run=dry_run, state_dir=state_dir or default_state_dir(), restart=restart)
        try:
            with _progress(err_console.is_terminal) as hooks:
                outcome = _run(lambda: run_backfill(clients, spec, target, request, hooks))
        except KeyboardInterrupt:
            warn("interrupted: run the same command again to continue after the last batch sent")
            raise typer.Exit(INTERRUPTED_EXIT) from None
        for line in report(outcome, target, chosen_prefix, dry_run):
            typer.echo(line)
