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
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from landing_pipeline.cli.errors import warn
from landing_pipeline.cli.ops_actions import (
    REGION_ORDER,
    OpsError,
    operator_context,
    operator_region,
    queue_depths,
    read_outputs,
    redrive,
    resolve_names,
    skip,
)
from landing_pipeline.cli.ops_status import GroupStatus, groups_for_status, order_brief
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
    "--queue-url", help="Ordered FIFO queue URL (stack output ordered_queue_url): where wake-ups go.")]
DlqOpt = Annotated[str | None, typer.Option("--dlq-url", help="The ordered queue's DLQ URL (stack output "
                                                             "ordered_dlq_url): poison wake-ups.")]
DeadOpt = Annotated[str | None, typer.Option("--dead-files-url", help="Dead-files queue URL (stack output "
                                                                     "dead_files_queue_url).")]
RegionOpt = Annotated[str | None, typer.Option(help="AWS region. First found wins: " + REGION_ORDER + ".")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Send every AWS call to this URL instead of AWS's own endpoints, e.g. the one "
                           "`landing serve` prints (AWS_ENDPOINT_URL in the environment does the same, as for the "
                           "AWS CLI).")]


def _spec_or_default(stack: str) -> PipelineSpec:
    try:
        return load_stack(stack)
    except ConfigurationError:  # the display only needs maxAttempts and onFailure; the ledger has the truth
        return PipelineSpec()


def _context(stack: str, outputs: Path | None, table: str | None, queue_url: str | None, dlq_url: str | None,
             dead_url: str | None, region: str | None, needed: tuple[str, ...],
             endpoint_url: str | None = None) -> RuntimeContext:
    flags = {"ledger_table": table, "ordered_queue_url": queue_url, "ordered_dlq_url": dlq_url,
             "dead_files_queue_url": dead_url}
    names = resolve_names(flags, read_outputs(outputs) if outputs else {}, os.environ, needed, stack,
                          optional=("ordered_queue_url", "ordered_dlq_url", "dead_files_queue_url"))
    chosen = operator_region(region, os.environ, stack)
    ctx = operator_context(names, _spec_or_default(stack), region=chosen)
    if endpoint_url:
        ctx.client_factory = _endpoint_clients(endpoint_url, chosen)
    return ctx


def _endpoint_clients(url: str, region: str | None) -> Callable[[str], Any]:
    """Clients that talk to ``url`` (an emulator, a proxy), as the AWS CLI's ``--endpoint-url`` does."""
    if not url.startswith(("http://", "https://")):
        raise OpsError(f"--endpoint-url {url!r}: give a URL with its scheme, e.g. http://127.0.0.1:4580")

    def factory(service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=url, **({"region_name": region} if region else {}))

    return factory


def _run(action: Callable[[], T]) -> T:
    """Turn missing credentials and AWS refusals into an ``OpsError`` (one clear line, exit 2 in cli/errors.py)."""
    try:
        return action()
    except OpsError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if kind == "EndpointConnectionError":
            message = (f"{exc}. Fix: check the endpoint is up (`landing serve` prints its URL) and --endpoint-url "
                       "/ AWS_ENDPOINT_URL names it")
        elif kind == "NoCredentialsError":
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


STYLE = {"DEAD": "red", "FAILED": "yellow", "SKIPPED": "dim", "SUCCEEDED": "green"}


def _group_title(g: GroupStatus) -> str:
    parts = [f"group {g.group}: {g.state}"]
    if g.leased:
        parts.append(f"lease epoch {g.epoch}" + (f", run {g.run_id}" if g.run_id else ", run id not yet known")
                     + (f" (claimed by {g.claimed_by})" if g.claimed_by and g.claimed_by != g.run_id else "")
                     + (f", since {g.lease_since}" if g.lease_since else ""))
    if g.not_before:
        parts.append(f"not before {g.not_before}")
    if g.waiting_since:
        parts.append(f"waiting for a Glue slot since {g.waiting_since}")
    if g.wake_pending:
        parts.append("wake-up pending")
    if g.next_check_at:
        parts.append(f"reconciler looks at {g.next_check_at}")
    return "; ".join(parts)


def _shown_run(run_id: str | None, position: str | None) -> str:
    """A Glue run id shortened as the console lists it, and the file's place in its batch when it had company."""
    if not run_id:
        return ""
    shown = run_id if len(run_id) <= 14 else run_id[:12] + "…"
    return shown + (f" ({position})" if position and not position.endswith("/1") else "")


def _status(ctx: RuntimeContext, group: str | None, key: str | None, as_json: bool) -> None:
    groups = groups_for_status(ctx.ledger, group=group, key=key)
    if as_json:
        typer.echo(json.dumps({"groups": [g.as_json() for g in groups],
                               "queues": {label: {"waiting": visible, "in_flight": in_flight}
                                          for label, (visible, in_flight) in queue_depths(ctx).items()}},
                              indent=2, default=str))
        return
    console = Console()
    if not groups:
        console.print(escape("no files in the ledger" + (f" for group {group!r}" if group else "")
                             + (f" with key {key!r}" if key else "")))
    counts: Counter[str] = Counter()
    late = 0
    columns = ("#", "key", "status", "landed (order)", "late", "tries", "deaths", "run", "last error")
    always = {"#", "key", "status", "landed (order)", "tries"}
    for g in groups:
        rows: list[tuple[list[str], str | None]] = []
        for number, f in enumerate(g.files, start=1):
            status = f.status + (" (in run)" if f.in_run else "")
            attempts = f"{f.attempts_since_redrive}/{ctx.spec.max_attempts}" + (
                f" (+{f.attempts - f.attempts_since_redrive})" if f.attempts != f.attempts_since_redrive else "")
            rows.append(([str(number), escape(f.key), status,
                          escape(order_brief(f.order)), "late" if f.late else "", attempts,
                          str(f.deaths) if f.deaths else "", escape(_shown_run(f.run_id, f.batch_position)),
                          escape((f.reason or "")[:160])], STYLE.get(f.status)))
            counts[f.status] += 1
            late += f.late
        shown = [i for i, column in enumerate(columns) if column in always or any(row[i] for row, _ in rows)]
        table = Table(title=escape(_group_title(g)), title_justify="left")
        for i in shown:  # a column nobody in the group has a value for (late, deaths, error) is left out
            column = columns[i]
            table.add_column(column, overflow="fold", min_width=16 if column == "key" else None,
                             no_wrap=column in ("#", "tries", "late"))
        for row, style in rows:
            table.add_row(*(row[i] for i in shown), style=style)
        console.print(table)
    if counts:
        console.print("files: " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
                      + (f"; late {late}" if late else ""))
    for label, (visible, in_flight) in queue_depths(ctx).items():
        console.print(f"{label}: {visible} waiting, {in_flight} in flight")


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
               queue_url: QueueOpt = None, dlq_url: DlqOpt = None, dead_files_url: DeadOpt = None,
               region: RegionOpt = None, endpoint_url: EndpointOpt = None,
               group: Annotated[str | None, typer.Option(help="Only this group.")] = None,
               key: Annotated[str | None, typer.Option(help="Only files with exactly this S3 key.")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
               watch: Annotated[bool, typer.Option(
                   "--watch", help="Refresh a live view, one line per group (state, running, waiting for, next "
                                   "in order, backlog, last error), until Ctrl-C.")] = False,
               interval: Annotated[float, typer.Option(help="With --watch: seconds between two reads.",
                                                       min=0.2)] = 2.0,
               ) -> None:
        """Show each group's state and lease, and its files in the group's order (order key, late, attempts).

        The group and its open files are read as a decision reads them (strongly consistent); finished files
        come from the history index. Then the queues: wake-ups waiting and being handled, poison wake-ups in the
        ordered DLQ, and announcements in the dead-files queue.

        Examples:
          landing status --stack dev --outputs dev-outputs.json
          landing status --table ingest-ledger-1a2b --group orders_20250915
          landing status --watch --endpoint-url http://127.0.0.1:4580   # against `landing serve`
        """
        if watch and as_json:
            raise OpsError("--watch refreshes a live view; --json prints once: give one of them")
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, dead_files_url, region,
                                    ("ledger_table",), endpoint_url))
        if watch:
            from landing_pipeline.cli.ops_watch import watch_status

            _run(lambda: watch_status(ctx, group=group, key=key, interval_s=interval))
            return
        _run(lambda: _status(ctx, group, key, as_json))

    @app.command("redrive")
    def redrive_cmd(stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
                    queue_url: QueueOpt = None, dlq_url: DlqOpt = None, dead_files_url: DeadOpt = None,
                    region: RegionOpt = None, endpoint_url: EndpointOpt = None,
                    group: Annotated[str | None, typer.Option(help="Only DEAD files of this group.")] = None,
                    key: Annotated[str | None, typer.Option(help="Only DEAD files with this S3 key.")] = None,
                    file_id: Annotated[str | None, typer.Option(help="Only this file id.")] = None,
                    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be redriven; change "
                                                          "nothing.")] = False) -> None:
        """Give DEAD files a fresh set of max_attempts runs and wake their groups.

        Each redrive is conditional on the file's death number, so a file that died again or was handled by
        someone else meanwhile is left alone and reported. The file keeps its place in its group's order and
        is never counted late; a group blocked behind it (on_failure: block) goes on with it first. Its
        announcements leave the dead-files queue.

        Examples:
          landing redrive --stack dev --outputs dev-outputs.json --dry-run
          landing redrive --stack dev --outputs dev-outputs.json --group orders_20250915
        """
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, dead_files_url, region,
                                    ("ledger_table", "ordered_queue_url"), endpoint_url))
        moved, problems = _run(lambda: redrive(ctx, group=group, key=key, file_id=file_id, dry_run=dry_run))
        result = Table(title="would redrive" if dry_run else "redriven", title_justify="left")
        for column in ("group", "key", "file id", "death", "note"):
            result.add_column(column, overflow="fold")
        for item in moved:
            result.add_row(escape(item.group), escape(item.key), item.file_id[:16] + "…", str(item.death),
                           escape(item.note))
        Console().print(result)
        for problem in problems:
            warn(str(problem))
        typer.echo(f"{len(moved)} file(s) {'would be ' if dry_run else ''}redriven")

    @app.command("skip")
    def skip_cmd(key: Annotated[str, typer.Argument(help="S3 key of the DEAD file to skip.")],
                 stack: StackOpt = "dev", outputs: OutputsOpt = None, table: TableOpt = None,
                 queue_url: QueueOpt = None, dlq_url: DlqOpt = None, dead_files_url: DeadOpt = None,
                 region: RegionOpt = None, endpoint_url: EndpointOpt = None,
                 file_id: Annotated[str | None, typer.Option(
                     help="The file id, when several versions of the key are DEAD.")] = None,
                 reason: Annotated[str, typer.Option(help="Why, for your records (printed).")] = "") -> None:
        """Give up on a DEAD file: finish it as SKIPPED and let its group go on.

        Conditional on the file's death number; a group blocked behind it (on_failure: block) is woken at
        once, and its announcements leave the dead-files queue.

        Example:
          landing skip --stack dev --outputs dev-outputs.json landing/orders_20250915_101500.csv
        """
        ctx = _run(lambda: _context(stack, outputs, table, queue_url, dlq_url, dead_files_url, region,
                                    ("ledger_table", "ordered_queue_url"), endpoint_url))
        done = _run(lambda: skip(ctx, key, file_id=file_id, reason=reason))
        typer.echo(f"skipped {done.record.key} (group {done.record.group}"
                   + (f", reason: {done.reason}" if done.reason else "") + "); "
                   + ("group woken" if done.woken else "group not woken (running, or a wake-up is on its way)")
                   + f"; {done.notices_taken} announcement(s) taken from the dead-files queue")
