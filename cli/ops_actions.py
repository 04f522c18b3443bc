"""What ``landing status``, ``landing redrive`` and ``landing skip`` do to a deployed pipeline.

In v2 the ledger holds each group's work, so an operator acts on the ledger, through the same code the
handlers use: a redrive or a skip is one transaction conditional on the file's death number (so a file that
died again meanwhile, or that someone else already handled, is left alone and reported), and then the group
is woken exactly as the router wakes it (``wake_pending`` set by a conditional write, one wake-up per group).
The dead-files queue's announcements of a handled file are taken away afterwards; they are news, not the
record. Kept apart from the typer commands so tests drive them against moto directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landing_pipeline.cli.dlq_scan import take_notices
from landing_pipeline.runtime.context import RuntimeContext
from landing_pipeline.runtime.contract import RESOURCE_ENV
from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.ledger import FileRecord, Ledger, Status
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.wakeups import send_wake_for

# names in `pulumi stack output --json` (docs/interfaces.md), with the camelCase spellings users may export
OUTPUT_NAMES = {
    "ledger_table": ("ledger_table_name", "ledgerTableName"),
    "ordered_queue_url": ("ordered_queue_url", "orderedQueueUrl"),
    "ordered_dlq_url": ("ordered_dlq_url", "orderedDlqUrl"),
    "dead_files_queue_url": ("dead_files_queue_url", "deadFilesQueueUrl"),
    "intake_dlq_url": ("intake_dlq_url", "intakeDlqUrl"),
    "job_name": ("job_name", "jobName"),
}
FLAG_OF = {"ledger_table": "--table", "ordered_queue_url": "--queue-url", "ordered_dlq_url": "--dlq-url",
           "dead_files_queue_url": "--dead-files-url"}
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
                          ordered_dlq_url=names.get("ordered_dlq_url", ""),
                          dead_files_queue_url=names.get("dead_files_queue_url", ""), clients=dict(clients or {}),
                          client_factory=factory)


# --- queues ---------------------------------------------------------------------------------------
QUEUE_LABELS = (("ordered queue (wake-ups)", "ordered_queue_url"), ("ordered DLQ (poison wake-ups)", "ordered_dlq_url"),
                ("dead-files queue", "dead_files_queue_url"))


def queue_depths(ctx: RuntimeContext) -> dict[str, tuple[int, int]]:
    """(visible, in flight) per known queue: wake-ups waiting and being handled, poison wake-ups, announcements."""
    result = {}
    for label, field_name in QUEUE_LABELS:
        url = getattr(ctx, field_name)
        if url:
            attributes = ctx.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            result[label] = (int(attributes["ApproximateNumberOfMessages"]),
                             int(attributes["ApproximateNumberOfMessagesNotVisible"]))
    return result


# --- waking a group -----------------------------------------------------------------------------
def wake_group(ctx: RuntimeContext, group: str) -> bool:
    """Send the group one wake-up, as the router would: only by setting ``wake_pending`` with a conditional write,
    so a group with a wake-up already on its way gets no second one. A leased group is not woken: the run's end
    (completion handler or reconciler) sees the new work in the same write that releases the lease."""
    for _ in range(3):
        current = ctx.ledger.get_group(group)
        if current is None or current.leased or current.wake_pending:
            return False
        after = ctx.ledger.set_wake_pending(group, state=current.state)
        if after is not None:
            send_wake_for(ctx, group, after.version, after.seq)
            return True
    return False  # the group kept moving: its own handlers are at work on it


# --- redrive -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Redriven:
    key: str
    group: str
    file_id: str
    status_before: str
    death: int
    """The death number the redrive was conditional on."""
    note: str = ""


def dead_files(ledger: Ledger, *, group: str | None = None, key: str | None = None,
               file_id: str | None = None) -> list[FileRecord]:
    """DEAD files by group then order key: the group's partition for ``group`` (strong), else the pointer items
    (a scan), each re-read strongly so the death number is the current one."""
    if group:
        view = ledger.load_group(group)
        ids = [f.file_id for f in view.files if f.status == Status.DEAD]
    else:
        ids = [r.file_id for r in ledger.all_files() if r.status == Status.DEAD]
    records = [r for r in (ledger.get(i) for i in ids) if r is not None and r.status == Status.DEAD]
    records = [r for r in records if (key is None or r.key == key) and (file_id is None or r.file_id == file_id)]
    return sorted(records, key=lambda r: (r.group, r.sort_key))


def redrive(ctx: RuntimeContext, *, group: str | None = None, key: str | None = None, file_id: str | None = None,
            dry_run: bool = False) -> tuple[list[Redriven], list[str]]:
    """Give DEAD files (of ``group`` / with ``key`` / ``file_id``) a fresh ``maxAttempts`` and wake their groups;
    returns what was redriven and the problems (files left as they were, and why)."""
    moved: list[Redriven] = []
    problems: list[str] = []
    handled: dict[str, int] = {}
    for record in dead_files(ctx.ledger, group=group, key=key, file_id=file_id):
        if dry_run:
            moved.append(Redriven(record.key, record.group, record.file_id, str(record.status), record.deaths))
            continue
        after = ctx.ledger.redrive(record.file_id, death=record.deaths)
        if after is None:
            problems.append(f"{record.key}: changed while redriving it (redriven or skipped by someone else, or "
                            "dead again); nothing done, check `landing status`")
            continue
        handled[record.file_id] = record.deaths
        moved.append(Redriven(record.key, record.group, record.file_id, str(record.status), record.deaths,
                              "was late; a redriven file is never late" if record.late else ""))
    if not dry_run:
        for name in sorted({item.group for item in moved}):
            wake_group(ctx, name)
        take_notices(ctx, handled)
    return moved, problems


# --- skip ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Skipped:
    record: FileRecord
    woken: int
    """Groups woken (0 or 1): a group blocked behind the file goes on."""
    notices_taken: int
    reason: str


def find_dead(ledger: Ledger, key: str, file_id: str | None = None) -> FileRecord:
    candidates = [r for r in ledger.all_files() if r.key == key and (file_id is None or r.file_id == file_id)]
    if not candidates:
        raise OpsError(f"no file with key {key!r} in the ledger; `landing status --key ...` lists what is there")
    dead = [r for r in (ledger.get(c.file_id) for c in candidates) if r is not None and r.status == Status.DEAD]
    if not dead:
        states = ", ".join(sorted({r.status for r in candidates}))
        raise OpsError(f"{key!r} is not DEAD (status: {states}); only a DEAD file can be skipped")
    if len(dead) > 1:
        ids = ", ".join(r.file_id[:12] for r in dead)
        raise OpsError(f"{key!r} has {len(dead)} DEAD versions ({ids}); choose one with --file-id")
    return dead[0]


def skip(ctx: RuntimeContext, key: str, *, file_id: str | None = None, reason: str = "") -> Skipped:
    """Finish a DEAD file as SKIPPED (conditional on its death number) and let its group go on."""
    record = find_dead(ctx.ledger, key, file_id)
    updated = ctx.ledger.skip(record.file_id, reason=reason, death=record.deaths)
    if updated is None:
        raise OpsError(f"{key!r} changed while skipping it (redriven or skipped by someone else?); "
                       "check `landing status`")
    woken = int(wake_group(ctx, record.group))
    taken = take_notices(ctx, {record.file_id: record.deaths})
    return Skipped(updated, woken, taken, reason)
