"""One backfill from start to end: list, select, (estimate,) submit with a checkpoint, report.

The library entry of ``landing backfill`` and of ``landing demo --backfill`` (emulator/backfill.py): both call
``run_backfill`` with their clients, so the demo shows the command's own behaviour.

Resumable: the listing is in key order, so after each batch is sent the last key of it is written to a small
state file (keyed by stack, bucket, queue, prefix and the --since/--until text). The same command after an
interruption lists from after that key (KeyMarker). At most one batch (10 messages) is sent twice, which the
ledger dedups (a file version is recorded once), so an interruption costs nothing. A backfill that finishes
removes its state file: the next one starts from the beginning and the ledger skips what it already holds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from landing_pipeline.cli.backfill_core import (
    BATCH,
    Listed,
    Selection,
    Shape,
    event_body,
    known_files,
    list_current,
    select,
    send_batch,
    shape_of,
)
from landing_pipeline.runtime.context import aws_error_code
from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.spec import PipelineSpec

SUBMIT_RATE_PER_S = 200.0
"""Messages a backfill sends per second (one SendMessageBatch of 10 every ~50 ms): the arrival rate of the
simulator's trace for ``--dry-run``. All files arrive within seconds; the drain is the pipeline's business."""


@dataclass(frozen=True)
class Target:
    """Where a backfill reads and writes: the stack's landing bucket, its intake queue, its ledger (optional)."""

    stack: str
    bucket: str
    intake_queue_url: str
    ledger_table: str | None = None
    region: str = "us-east-1"
    account: str = "000000000000"


@dataclass(frozen=True)
class Request:
    prefix: str
    since: float | None = None
    until: float | None = None
    window_text: tuple[str, str] = ("", "")
    """--since and --until as typed: part of the checkpoint's identity."""
    dry_run: bool = False
    state_dir: Path | None = None
    """Where checkpoints live; None: no checkpoint (a test, a dry run)."""
    restart: bool = False
    """Ignore (and replace) a checkpoint of an earlier, interrupted run."""


@dataclass
class Hooks:
    """Progress callbacks (the command's bars; None: silent)."""

    listed: Callable[[int], None] | None = None
    submitting: Callable[[int], None] | None = None
    """Called once with the number of files about to be sent."""
    sent: Callable[[int], None] | None = None
    """Called after each batch with the files sent so far in this run."""


@dataclass(frozen=True)
class Estimate:
    files: int
    drain_s: float
    cost_usd: float
    glue_dpu_hours: float
    submit_s: float


@dataclass
class Outcome:
    listed: int
    selection: Selection
    shape: Shape
    known: int | None
    """Files the ledger already held before this run (the router skips them); None: ledger not read."""
    submitted: int = 0
    resumed_after: str | None = None
    submitted_before: int = 0
    """Files an interrupted earlier run of the same command had sent."""
    estimate: Estimate | None = None
    state_file: Path | None = None
    notes: list[str] = field(default_factory=list)


def check_prefix(spec: PipelineSpec, prefix: str) -> None:
    """``--prefix`` must lie inside the stack's keyPrefix: the intake rule delivers nothing else."""
    if spec.key_prefix and not prefix.startswith(spec.key_prefix):
        raise InputError(f"--prefix {prefix!r} is outside the stack's keyPrefix {spec.key_prefix!r}: the intake rule "
                         f"delivers only keys under it. Fix: give a prefix starting with {spec.key_prefix!r}, or leave "
                         "--prefix out to backfill the whole landing prefix")


def state_path(state_dir: Path, target: Target, request: Request) -> Path:
    identity = json.dumps([target.stack, target.bucket, target.intake_queue_url, request.prefix,
                           *request.window_text])
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in target.stack)
    return state_dir / f"{safe}-{digest}.json"


def default_state_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/landing-pipeline/backfill`` (``~/.cache/...`` when unset)."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "landing-pipeline" / "backfill"


def _load(path: Path | None) -> tuple[str | None, int]:
    if path is None or not path.is_file():
        return None, 0
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return str(document["after_key"]), int(document.get("submitted", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None, 0   # a damaged checkpoint: start over (the ledger dedups what was sent)


def _save(path: Path, after_key: str, submitted: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"after_key": after_key, "submitted": submitted,
                                   "updated": datetime.now(UTC).isoformat()}), encoding="utf-8")
    scratch.replace(path)   # atomic: a crash leaves the old checkpoint or the new one


def run_backfill(clients: Callable[[str], Any], spec: PipelineSpec, target: Target, request: Request,
                 hooks: Hooks | None = None) -> Outcome:
    """List the bucket, select what the intake path would take, then send it (or, ``dry_run``, estimate it)."""
    hooks = hooks or Hooks()
    check_prefix(spec, request.prefix)
    state = None if request.state_dir is None else state_path(request.state_dir, target, request)
    after, before = (None, 0) if request.restart or request.dry_run else _load(state)
    listed = _list(clients("s3"), target.bucket, request.prefix, after, hooks)
    if not listed and after is None:
        raise InputError(f"no object under --prefix {request.prefix!r} in bucket {target.bucket!r}. Fix: check "
                         "--prefix and the bucket (--bucket / --outputs)")
    selection = select(spec, target.bucket, listed, since=request.since, until=request.until)
    if not selection.files and after is None:
        raise InputError(_nothing_selected(len(listed), selection))
    outcome = Outcome(listed=len(listed), selection=selection, shape=shape_of(spec, selection.files),
                      known=None, resumed_after=after, submitted_before=before, state_file=state)
    if target.ledger_table:
        try:
            ids = [f.file_id(target.bucket) for f in selection.files]
            outcome.known = len(known_files(clients("dynamodb"), target.ledger_table, ids))
        except Exception as exc:   # the count is news; the ledger's dedup does not depend on it
            outcome.notes.append(f"could not read the ledger {target.ledger_table!r} ({aws_error_code(exc) or exc}): "
                                 "already-known files not counted")
    if request.dry_run:
        outcome.estimate = estimate(spec, selection.files, target.region)
        return outcome
    _check_queue(clients("sqs"), target.intake_queue_url)
    _submit(clients("sqs"), target, selection.files, state, before, outcome, hooks)
    if state is not None:
        state.unlink(missing_ok=True)
    return outcome


def _list(s3: Any, bucket: str, prefix: str, after: str | None, hooks: Hooks) -> list[Listed]:
    try:
        return list(list_current(s3, bucket, prefix, after=after, on_item=hooks.listed))
    except Exception as exc:
        if aws_error_code(exc) == "NoSuchBucket":
            raise InputError(f"no bucket {bucket!r} ({exc}). Fix: --bucket, or landing_bucket_name in --outputs, "
                             "names the stack's landing bucket; check --region") from None
        raise


def _check_queue(sqs: Any, url: str) -> None:
    try:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except Exception as exc:
        code = str(aws_error_code(exc) or "")
        if "NonExistentQueue" in code or code == "QueueDoesNotExist":
            raise InputError(f"no intake queue {url!r} ({code}). Fix: --intake-queue-url, or intake_queue_url in "
                             "--outputs, names the queue the stack's intake rule targets; check --region") from None
        raise


def _nothing_selected(listed: int, selection: Selection) -> str:
    parts = [f"{n} {reason}" for reason, n in selection.skipped.most_common()]
    if selection.outside_window:
        parts.append(f"{selection.outside_window} landed outside --since/--until")
    return (f"none of the {listed} listed object(s) would be ingested: {'; '.join(parts)}. Fix: widen --since / "
            "--until, or check --prefix and the stack's keyPrefix / keySuffixes")


def _submit(sqs: Any, target: Target, files: list[Listed], state: Path | None, before: int, outcome: Outcome,
            hooks: Hooks) -> None:
    if hooks.submitting is not None:
        hooks.submitting(len(files))
    for start in range(0, len(files), BATCH):
        chunk = files[start:start + BATCH]
        send_batch(sqs, target.intake_queue_url, [event_body(target.bucket, item, region=target.region,
                                                             account=target.account) for item in chunk])
        outcome.submitted += len(chunk)
        if state is not None:
            _save(state, chunk[-1].key, before + outcome.submitted)
        if hooks.sent is not None:
            hooks.sent(outcome.submitted)


def estimate(spec: PipelineSpec, files: list[Listed], region: str | None) -> Estimate:
    """The simulator's drain time and cost for these files arriving at the backfill's send rate (the stack's
    settings, the scenario defaults' job model and overheads, prices of ``region``)."""
    from landing_pipeline.simulator.arrival_specs import FileList
    from landing_pipeline.simulator.runner import simulate
    from landing_pipeline.simulator.scenario import Scenario
    from landing_pipeline.simulator.trace import TraceRow

    rows = tuple(TraceRow(time_s=index / SUBMIT_RATE_PER_S, key=item.key, size_bytes=float(item.size))
                 for index, item in enumerate(files))
    scenario = Scenario(name="backfill", duration_s=max(1.0, rows[-1].time_s), arrivals=(FileList(rows),),
                        source="the backfill's listing").for_region(region)
    metrics = simulate(spec, scenario).metrics
    return Estimate(files=len(files), drain_s=float(metrics.get("drain_s") or 0.0),
                    cost_usd=float(metrics.get("cost_usd") or 0.0),
                    glue_dpu_hours=float(metrics.get("glue_dpu_hours") or 0.0),
                    submit_s=len(files) / SUBMIT_RATE_PER_S)
