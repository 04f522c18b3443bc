"""What ``landing status``, ``landing redrive`` and ``landing skip`` do to a deployed pipeline.

They go through the same ledger code and the same message format as the
handlers, so an operator's redrive is indistinguishable from the router's
enqueue: same group, same dedup id, ledger updated first. Kept apart from the
typer commands so tests drive them against moto directly.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landing_pipeline.cli.dlq_scan import DlqMessage, DlqScan
from landing_pipeline.runtime.context import RuntimeContext, is_aws_error
from landing_pipeline.runtime.contract import RESOURCE_ENV
from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.ledger import FileRecord, Ledger, Status, parse_iso
from landing_pipeline.runtime.spec import PipelineSpec

FIFO_DEDUP_WINDOW_S = 5 * 60
# names in `pulumi stack output --json` (docs/interfaces.md), with the camelCase spellings users may export
OUTPUT_NAMES = {
    "ledger_table": ("ledger_table_name", "ledgerTableName"),
    "ordered_queue_url": ("ordered_queue_url", "orderedQueueUrl"),
    "ordered_dlq_url": ("ordered_dlq_url", "orderedDlqUrl"),
    "intake_dlq_url": ("intake_dlq_url", "intakeDlqUrl"),
    "job_name": ("job_name", "jobName"),
}
FLAG_OF = {"ledger_table": "--table", "ordered_queue_url": "--queue-url", "ordered_dlq_url": "--dlq-url"}
ENV_OF = RESOURCE_ENV


class OpsError(InputError):
    """Something the operator must fix (a name, a file, credentials); the message says how."""


def read_outputs(path: Path) -> dict[str, str]:
    """Stack outputs as ``pulumi stack output --json`` writes them (nested objects are searched too)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OpsError(f"cannot read --outputs {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise OpsError(f"--outputs {path} is not JSON ({exc.msg}); write it with "
                       "`pulumi stack output --json > outputs.json`") from None
    if not isinstance(document, dict):
        raise OpsError(f"--outputs {path} should be a JSON object of stack outputs")
    flat: dict[str, str] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            flat.update({k: str(v) for k, v in value.items() if isinstance(v, str | int)})
        elif isinstance(value, str | int):
            flat[key] = str(value)
    return flat


def resolve_names(flags: Mapping[str, str | None], outputs: Mapping[str, str], environ: Mapping[str, str],
                  needed: tuple[str, ...], stack: str, optional: tuple[str, ...] = ()) -> dict[str, str]:
    """Each name from its flag, else the outputs file, else the LANDING_* variable; every missing needed one
    is reported at once with the ways to give it (``optional`` ones are taken when present)."""
    names: dict[str, str] = {}
    missing = []
    for name in dict.fromkeys((*needed, *optional)):
        value = flags.get(name) or next((outputs[o] for o in OUTPUT_NAMES[name] if outputs.get(o)), None) \
            or environ.get(ENV_OF.get(name, ""), "")
        if value:
            names[name] = value
        elif name in needed:
            missing.append(f"{FLAG_OF.get(name, name)} (stack output {OUTPUT_NAMES[name][0]})")
    if missing:
        raise OpsError(f"missing {', '.join(missing)}. Pass --outputs FILE, written by `pulumi stack output --json "
                       f"--stack {stack} > {stack}-outputs.json`, or the flag(s).")
    return names


REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")
REGION_ORDER = ("--region, then AWS_REGION, then AWS_DEFAULT_REGION, then aws:region of Pulumi.<stack>.yaml, "
                "then your profile's")
"""Which region the operator commands use, first found wins: what you type beats what you exported, which
beats what the stack was deployed with (the same precedence the AWS CLI gives --region over the environment)."""


def stack_region(stack: str, project_dir: Path | None = None) -> str | None:
    """``aws:region`` of ``Pulumi.<stack>.yaml`` (or ``Pulumi.yaml``'s default): where ``pulumi up`` put the stack.

    Without it ``landing status --stack prod`` asked the profile's region and reported a missing table
    for a stack deployed elsewhere. None when there is no project, stack file or setting."""
    from landing_pipeline.runtime.errors import ConfigurationError
    from landing_pipeline.runtime.spec_loader import find_project_dir, project_defaults, stack_settings

    try:
        folder = find_project_dir(project_dir)
        stack_file = folder / f"Pulumi.{stack}.yaml"
        values = (stack_settings(stack_file, folder) if stack_file.is_file()
                  else project_defaults(folder / "Pulumi.yaml"))
    except ConfigurationError:
        return None
    region = values.get("aws:region")
    return str(region) if region else None


def operator_region(flag: str | None, environ: Mapping[str, str], stack: str,
                    project_dir: Path | None = None) -> str | None:
    """The region to talk to (``REGION_ORDER``); None leaves it to boto3 (the profile's region)."""
    if flag:
        return flag
    for name in REGION_ENV:
        if environ.get(name):
            return environ[name]
    return stack_region(stack, project_dir)


def operator_context(names: Mapping[str, str], spec: PipelineSpec, clients: Mapping[str, Any] | None = None,
                     region: str | None = None) -> RuntimeContext:
    def factory(service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=region) if region else boto3.client(service)

    return RuntimeContext(spec=spec, ledger_table=names.get("ledger_table", ""),
                          ordered_queue_url=names.get("ordered_queue_url", ""),
                          ordered_dlq_url=names.get("ordered_dlq_url", ""), clients=dict(clients or {}),
                          client_factory=factory)


# --- status ---------------------------------------------------------------------------------------
def files_for_status(ledger: Ledger, *, group: str | None = None, key: str | None = None) -> list[FileRecord]:
    """Files in group order then received order (the order each group processes them in)."""
    records = ledger.group_files(group) if group else list(ledger.all_files())
    if key:
        records = [r for r in records if r.key == key]
    return sorted(records, key=lambda r: (r.group, r.received_seq))


def duration_s(record: FileRecord, now: float) -> float | None:
    """Run time of the latest attempt (so far, for one still running)."""
    started = parse_iso(record.started_at)
    if started is None:
        return None
    finished = parse_iso(record.finished_at)
    if finished is not None and finished >= started:
        return finished - started
    return now - started if record.status in (Status.STARTING, Status.RUNNING) else None


def queue_depths(ctx: RuntimeContext) -> dict[str, tuple[int, int]]:
    """(visible, in flight) per known queue: backlog and groups running."""
    result = {}
    for label, url in (("ordered queue", ctx.ordered_queue_url), ("FIFO DLQ", ctx.ordered_dlq_url)):
        if url:
            attributes = ctx.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            result[label] = (int(attributes["ApproximateNumberOfMessages"]),
                             int(attributes["ApproximateNumberOfMessagesNotVisible"]))
    return result


@dataclass(frozen=True)
class Redriven:
    key: str
    group: str
    file_id: str
    status_before: str
    dedup_id: str
    note: str = ""


def redrive(ctx: RuntimeContext, *, group: str | None = None, dry_run: bool = False) -> tuple[list[Redriven],
                                                                                               list[str]]:
    """Move DLQ messages (of ``group``) back to the ordered queue, ledger first; returns what moved and
    the problems (messages left in the DLQ and why)."""
    ledger, moved, problems = ctx.ledger, [], []
    scan = DlqScan(ctx)
    woken_groups: set[str] = set()
    try:
        for item in scan:
            if group and item.group != group:
                continue
            if item.message is None:
                problems.append(f"message {item.raw['MessageId']} is not a file document ({item.problem}); "
                                "left in the DLQ")
                continue
            record = ledger.get(item.message.file_id)
            status = record.status if record else "unknown"
            dedup, note = _redrive_dedup_id(item, record, ctx.now())
            if dry_run:
                moved.append(Redriven(item.message.key, item.group, item.message.file_id, status, dedup, note))
                continue
            final = record is None or record.status in (Status.SUCCEEDED, Status.SKIPPED)
            if not final and ledger.record_redriven(record) is None:  # type: ignore[arg-type]
                problems.append(f"{item.message.key}: the ledger changed meanwhile; left in the DLQ, try again")
                continue
            ctx.sqs.send_message(QueueUrl=ctx.ordered_queue_url, MessageBody=item.raw["Body"],
                                 MessageGroupId=item.group or item.message.group, MessageDeduplicationId=dedup)
            scan.delete(item)
            woken_groups.add(item.message.group)
            moved.append(Redriven(item.message.key, item.group, item.message.file_id, status, dedup, note))
    finally:
        scan.release()
    for name in sorted(woken_groups):
        wake_blocked(ctx, name)
    return moved, problems


def _redrive_dedup_id(item: DlqMessage, record: FileRecord | None, now: float) -> tuple[str, str]:
    """The message's own dedup id, unless a message with that id entered the ordered queue less than five
    minutes ago: SQS would silently drop the redrive then, so it gets a suffix (and says so)."""
    original = item.dedup_id or (item.message.file_id if item.message else "")
    last_sent_ms = int(record.enqueue_seq.split("#", 1)[0]) if record and record.enqueue_seq else 0
    if now - last_sent_ms / 1000 < FIFO_DEDUP_WINDOW_S + 60:
        redrives = record.redrives + 1 if record else 1
        return f"{original[:100]}-r{redrives}", "sent less than 5 minutes ago: new dedup id"
    return original, ""


def wake_blocked(ctx: RuntimeContext, group: str) -> int:
    """Make the group's BLOCKED file visible now instead of at its next hourly look."""
    woken = 0
    for record in ctx.ledger.group_files(group, statuses=(Status.BLOCKED,)):
        if not record.receipt_handle:
            continue
        try:
            ctx.sqs.change_message_visibility(QueueUrl=ctx.ordered_queue_url, ReceiptHandle=record.receipt_handle,
                                              VisibilityTimeout=0)
            woken += 1
        except Exception as exc:
            if not is_aws_error(exc):
                raise  # a stale handle: the file is already being looked at again
    return woken


# --- skip ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Skipped:
    record: FileRecord
    removed_from_dlq: bool
    woken: int


def find_dead(ledger: Ledger, key: str, file_id: str | None = None) -> FileRecord:
    candidates = [r for r in ledger.all_files() if r.key == key and (file_id is None or r.file_id == file_id)]
    dead = [r for r in candidates if r.status == Status.DEAD]
    if not candidates:
        raise OpsError(f"no file with key {key!r} in the ledger; `landing status --key ...` lists what is there")
    if not dead:
        states = ", ".join(sorted({r.status for r in candidates}))
        raise OpsError(f"{key!r} is not DEAD (status: {states}); only a DEAD file can be skipped")
    if len(dead) > 1:
        ids = ", ".join(r.file_id[:12] for r in dead)
        raise OpsError(f"{key!r} has {len(dead)} DEAD versions ({ids}); choose one with --file-id")
    return dead[0]


def skip(ctx: RuntimeContext, key: str, *, file_id: str | None = None, reason: str = "") -> Skipped:
    """Mark a DEAD file SKIPPED, take it out of the DLQ, and let its group go on."""
    record = find_dead(ctx.ledger, key, file_id)
    who = reason or f"skipped by {getpass.getuser()} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
    updated = ctx.ledger.record_skipped(record.file_id, who)
    if updated is None:
        raise OpsError(f"{key!r} changed while skipping it (redriven meanwhile?); check `landing status`")
    removed = False
    if ctx.ordered_dlq_url:
        scan = DlqScan(ctx)
        try:
            for item in scan:
                if item.file_id == record.file_id:
                    scan.delete(item)
                    removed = True
        finally:
            scan.release()
    woken = wake_blocked(ctx, record.group) if ctx.ordered_queue_url else 0
    return Skipped(updated, removed, woken)
