"""``landing demo`` without the terminal: deploy, land the files, run until the pipeline is quiet, report.

"Quiet" means nothing can happen any more without a new file or an operator:
every file has landed, no Glue run is going, no function (the reconciler
included) is running, the intake, completion and ordered queues are empty (a
wake-up held for a settle or a backoff is in the ordered queue), and no group in
the ledger has anything a reconciler pass could change: no lease, no work to
wake for, no dead file left unannounced. What is left is then finished, dead
(announced), or waiting behind a dead file of a group that ``onFailure: block``
stops: an operator's business. A group a pass would wake keeps the demo waiting
for the scheduler (emulator/scheduler.py), never for ever: its pass comes every
``reconcileMinutes``. The condition must hold over several checks in a row, so a
message between two hops is not mistaken for the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from landing_pipeline.emulator import outputs, pipeline, report, workload
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.function_output import routed_stdout
from landing_pipeline.emulator.observe import Recorder, per_file
from landing_pipeline.emulator.report import LedgerView
from landing_pipeline.emulator.virtual_clock import VirtualClock
from landing_pipeline.runtime.contract import CATALOG_DATABASE_ENV

DEFAULT_SPEEDUP = {"spark": 10.0, "sleep": 60.0}
"""Spark runs take real seconds, and a run's wall time x speedup must stay well inside the stack's job timeout
(30 min in dev: 180 s of Spark at 10x); sleep runs take pipeline time, so they can go faster."""
CHECK_EVERY_S = 0.2
QUIET_CHECKS = 3
HORIZON_S = 7 * 86400.0
"""Virtual time: pipeline seconds after which a run that is still not quiet is given up (a group stuck for a
week is stuck; its files are reported unfinished)."""
PROGRESS_EVERY_S = 0.1
"""Virtual time: wall seconds between two progress reports (a report per jump would cost more than the run)."""
OPERATOR_TURNS = 8
Operator = Callable[[InProcessAWS, Deployment, int], list[str]]
"""(emulated account, deployment, turn) -> the operator's actions, as text (``DemoOptions.operator``)."""


@dataclass
class DemoOptions:
    stack: str = "dev"
    project_dir: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    """Stack settings to change for this run only (tests use them for short timeouts and ``onFailure``)."""
    engine: pipeline.Engine = "spark"
    speedup: float | None = None
    """Pipeline seconds per wall second; None: DEFAULT_SPEEDUP of the engine."""
    faults: list[str] = field(default_factory=list)
    design: pipeline.Design = "held"
    files: Path | None = None
    trace: Path | None = None
    timeout_s: float = 900.0
    """Wall seconds to wait for quiet before giving up (the report then says which files are unfinished)."""
    function_log: IO[str] | None = None
    keep_dir: Path | None = None
    """Copy the output bucket (processed Parquet, quarantine, manifests, snapshots) here before moto goes."""
    lenient: bool = False
    """Turn the strict layer off (emulator/strict.py): moto's own, kinder AWS."""
    virtual_time: bool = False
    """Pipeline time stands still while anything works and jumps to the next deadline when all waits
    (emulator/virtual_clock.py): a headless run takes its CPU time, not its pipeline time. ``speedup`` is then
    ignored; ``timeout_s`` still bounds the wall time."""
    arrivals: list[workload.Arrival] | None = None
    """Land exactly these (chaos mode's drawn workload) instead of the built-in set, ``files`` or ``trace``."""
    operator: Operator | None = None
    """Called each time the pipeline goes quiet (turn 1, 2, ...), as an operator would act on what is left
    (redrive the DLQ, skip a file); what it did, as text. Nothing done: the demo ends; else it drains again,
    at most OPERATOR_TURNS times."""
    recorder: Recorder | None = None
    """Where the emulator logs what it saw (a new one when None): chaos mode passes its own, so its operator
    stamps its actions on the same sequence as the runs (``Recorder.tick``)."""
    backfill: bool = False
    """Put the files into the landing bucket before the pipeline takes events (emulator/backfill.py), then bring
    them in with ``landing backfill``'s code. The sleep engine then gives every run DEFAULT_RUN_S."""


@dataclass(frozen=True)
class Progress:
    landed: int
    total: int
    running: int
    done: int
    dead: int
    groups_running: tuple[str, ...]
    pipeline_s: float
    wall_s: float


@dataclass
class DemoResult:
    report: dict[str, Any]
    quiet: bool
    stack: str
    region: str
    design: str
    engine: str
    speedup: float
    landing_bucket: str
    output_bucket: str
    job_name: str
    faults_fired: dict[str, int]
    function_errors: list[str]
    deploy_s: float
    spark_start_s: float | None
    resources: int
    ledger: dict[str, LedgerView]
    deliveries: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    """Every record a function got: (pipeline time, function, file or message, receive count, outcome)."""
    notes: list[str] = field(default_factory=list)
    """Differences from AWS the user should know about (e.g. a job deployed without its helper modules)."""
    aws_requests: int = 0
    """AWS API requests served while the files went through (deploy excluded)."""
    moto_s: float = 0.0
    """Wall seconds moto spent serving those requests (its dispatch, parsing and serialising; deploy excluded)."""
    moto_cpu_s: float = 0.0
    """CPU seconds of the same (the share of a run's CPU that is moto's)."""
    dead_letters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """DLQ role (intake_dlq, ordered_dlq, completion_dlq) -> the messages parked there: body and attributes."""
    s3_objects: dict[str, bytes] = field(default_factory=dict)
    """Output-bucket objects at the end (key -> bytes), for callers that check what the job wrote."""
    group_limit: int | None = None
    """The stack's maxParallelGroups (the picture says when a file waited for a slot)."""
    data: outputs.DataView = field(default_factory=outputs.DataView)
    """What the runs wrote: manifests per file, each group's snapshot, where ``--keep`` put the output."""
    recorder: Recorder | None = None
    """Everything the emulator observed (uploads, Glue runs, deliveries, intake messages): the independent
    records chaos mode's invariants are computed from."""
    operator_actions: list[str] = field(default_factory=list)
    """What ``DemoOptions.operator`` did after each drain."""
    dropped_sends: list[tuple[float, str, str]] = field(default_factory=list)
    """(pipeline time, queue, deduplication id) of each SendMessage the strict layer's 5-minute FIFO window
    answered as a success and dropped: how a message can vanish on AWS."""
    reconciler_passes: list[tuple[float, dict[str, Any] | None, str | None]] = field(default_factory=list)
    """Each reconciler pass the scheduler fired: (pipeline time, what it did, its error)."""
    backfills: list[Any] = field(default_factory=list)
    """``--backfill``: the backfill's outcome (cli/backfill_run.Outcome)."""
    backfill_target: Any = None
    """``--backfill``: what it sent to (cli/backfill_run.Target: the bucket and the intake queue's URL)."""

    @property
    def nothing_processed(self) -> bool:
        """Files landed but the pipeline took none of them in (all IGNORED): the demo showed nothing."""
        summary = self.report["summary"]
        return bool(summary["files"]) and summary["ignored"] == summary["files"]


def arrivals_for(options: DemoOptions, spec: Any) -> list[workload.Arrival]:
    if options.files is not None and options.trace is not None:
        raise workload.WorkloadError("give --files or --trace, not both")
    if options.arrivals is not None:
        if options.files is not None or options.trace is not None:
            raise workload.WorkloadError("a drawn workload (--chaos) cannot be combined with --files or --trace")
        return list(options.arrivals)
    if options.files is not None:
        return workload.from_folder(options.files)
    if options.trace is not None:
        return workload.from_trace(options.trace, spec)
    return workload.builtin()


def run_demo(options: DemoOptions, on_progress: Callable[[Progress], None] | None = None,
             keep_output: bool = False) -> DemoResult:
    stack = read_stack(options.stack, options.project_dir, options.overrides)
    arrivals = arrivals_for(options, stack.spec)
    faults = FaultPlan.parse(options.faults)
    speedup = options.speedup or DEFAULT_SPEEDUP[options.engine]
    clock = VirtualClock() if options.virtual_time else PipelineClock(speedup)
    with routed_stdout(options.function_log), InProcessAWS(stack.region, clock) as aws:
        started = time.monotonic()
        if options.engine == "spark":  # the JVM starts while the stack deploys (both take seconds)
            from landing_pipeline.emulator.spark_executor import shared_session

            threading.Thread(target=shared_session, name="spark-start", daemon=True).start()
        deployment = deploy(aws, stack)
        deploy_s = time.monotonic() - started
        clock.restart()
        requests_before = aws.requests
        operator_actions: list[str] = []
        recorder = options.recorder or Recorder()
        backfills: list[Any] = []
        backfill_target = None
        if options.backfill:
            from landing_pipeline.emulator import backfill

            backfill.seed_before_intake(aws, deployment, arrivals, recorder)
            backfill_target = backfill.target_of(aws, deployment, options.stack)
        running = pipeline.start(aws, deployment, [] if options.backfill else arrivals, engine=options.engine,
                                 design=options.design, faults=faults, recorder=recorder,
                                 strict=not options.lenient)
        try:
            if options.backfill:
                backfills.append(backfill.backfill(aws, deployment, stack=options.stack))
            quiet = _wait_until_quiet(running, len(arrivals), options, on_progress)
            for turn in range(1, OPERATOR_TURNS + 1):
                if not quiet or options.operator is None:
                    break
                actions = options.operator(aws, deployment, turn)
                operator_actions += actions
                if not actions:
                    break
                quiet = _wait_until_quiet(running, len(arrivals), options, on_progress)
        finally:
            pipeline.shutdown(running)
            close = getattr(running.executor, "close", None)  # also on Ctrl-C: the JVM and its temporary folder
            if close is not None:
                close()
        requests = aws.requests - requests_before
        ledger = read_ledger(aws, deployment)
        dead_letters = _dead_letters(aws, deployment)
        passes = list(running.scheduler.passes) if running.scheduler is not None else []
        built = _report(running, deployment, ledger, options.design, dead_letters)
        built["summary"]["reconciler_passes"] = len(passes)
        result = DemoResult(
            report=built, quiet=quiet,
            stack=options.stack,
            region=aws.region, design=options.design, engine=options.engine, speedup=clock.speedup,
            landing_bucket=deployment.landing_bucket, output_bucket=deployment.output_bucket,
            job_name=deployment.job_name, faults_fired=dict(faults.fired()),
            function_errors=list(running.recorder.function_errors), deploy_s=deploy_s,
            spark_start_s=getattr(running.executor, "spark_start_s", None), resources=len(deployment.created),
            ledger=ledger, aws_requests=requests, moto_s=running.moto_s, moto_cpu_s=running.moto_cpu_s,
            deliveries=list(running.recorder.deliveries),
            notes=list(getattr(running.executor, "notes", [])),
            dead_letters=dead_letters, group_limit=deployment.spec.max_parallel_groups,
            recorder=running.recorder, operator_actions=operator_actions,
            dropped_sends=list(running.strict.sqs.dropped) if running.strict is not None else [],
            reconciler_passes=[(p.at, p.result, p.error) for p in passes], backfills=backfills,
            backfill_target=backfill_target)
        if keep_output:
            result.s3_objects = _objects(aws, deployment.output_bucket)
        result.data = outputs.collect(aws.client("s3"), deployment.output_bucket, glue=aws.client("glue"),
                                      database=deployment.environment.get(CATALOG_DATABASE_ENV, ""))
        outputs.attach(result.report, result.data)
        if options.keep_dir is not None:
            from landing_pipeline.emulator.spark_executor import session_log

            log = session_log() if options.engine == "spark" else None
            result.data.kept, result.data.kept_files = options.keep_dir, outputs.keep(
                aws.client("s3"), deployment.output_bucket, options.keep_dir, [log] if log else [])
    return result


def read_ledger(aws: InProcessAWS, deployment: Deployment) -> dict[str, LedgerView]:
    """Every file the ledger knows, by its pointer item, with the open item's live fields while open: what
    ``Ledger.get`` reads for each file of ``Ledger.all_files``, joined from one consistent scan of the table
    instead (a read or two per file made the report a fifteenth of a chaos seed's AWS requests)."""
    from landing_pipeline.runtime.contract import GROUP_PK_PREFIX, LEDGER_KEY, LEDGER_SORT_KEY, POINTER_PK_PREFIX
    from landing_pipeline.runtime.ledger_items import FileRecord, Status

    items: dict[tuple[str, str], dict[str, Any]] = {}
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=deployment.ledger_table,
                                                                       ConsistentRead=True):
        for item in page.get("Items", []):
            items[(item[LEDGER_KEY]["S"], item[LEDGER_SORT_KEY]["S"])] = item
    views = {}
    for (pk, _), pointer_item in items.items():
        if not pk.startswith(POINTER_PK_PREFIX):
            continue
        r = FileRecord.from_item(pointer_item)
        if r.status not in (Status.SUCCEEDED, Status.SKIPPED):
            live = items.get((GROUP_PK_PREFIX + r.group, r.sort_key))
            r = FileRecord.from_item({**pointer_item, **live}) if live else r
        views[r.file_id] = LedgerView(r.file_id, r.key, r.group, str(r.status), int(r.attempts), r.sort_key,
                                      r.last_error, late=bool(r.late))
    return views


def _report(running: pipeline.RunningPipeline, deployment: Deployment, ledger: dict[str, LedgerView],
            design: str, dead_letters: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    from landing_pipeline.runtime.grouping import group_for_key

    recorder, clock = running.recorder, running.aws.clock
    uploads = [(pipeline.file_id_of(deployment.landing_bucket, u), u) for u in recorder.uploads]
    runs = per_file(recorder.snapshot_runs())   # a batch run reported file by file (its run id + "/<place>")
    return report.build(uploads, ledger, runs, dict(recorder.intake_messages),
                        dict(recorder.enqueued), design=design,
                        group_of=lambda key: group_for_key(key, deployment.spec), now=clock.now(),
                        wall_s=clock.wall_elapsed(),
                        ignored_reason=lambda upload: _ignored_reason(upload, deployment, dead_letters),
                        feed_of=lambda key, group: _feed_name(deployment.spec, key, group))


def _feed_name(spec: Any, key: str, group: str) -> str | None:
    from landing_pipeline.runtime.feeds import feed_of_key

    feed = feed_of_key(spec.feeds, group, key)
    return feed.name if feed is not None else None


def _ignored_reason(upload: Any, deployment: Deployment, dead_letters: dict[str, list[dict[str, Any]]]) -> str:
    """Why the pipeline did not take an upload in: the router's own rule, else the intake DLQ's reason."""
    from landing_pipeline.runtime.events import ObjectCreated
    from landing_pipeline.runtime.router import ignore_reason

    obj = ObjectCreated(deployment.landing_bucket, upload.key, upload.size, upload.etag, upload.version_id)
    reason = ignore_reason(deployment.spec, obj)
    if reason is not None:
        return reason
    for message in dead_letters.get("intake_dlq", []):
        if upload.key in message["body"] and message["attributes"]:
            return "parked in the intake DLQ: " + "; ".join(str(v) for v in message["attributes"].values() if v)
    return "the router never recorded it (no ledger item); see --logs"


def _wait_until_quiet(running: pipeline.RunningPipeline, total: int, options: DemoOptions,
                      on_progress: Callable[[Progress], None] | None) -> bool:
    clock = running.aws.clock
    if isinstance(clock, VirtualClock):
        return _wait_until_quiet_virtual(running, clock, total, options, on_progress)
    calm = 0
    while True:
        if on_progress is not None:
            on_progress(_progress(running, total))
        calm = calm + 1 if _quiet_now(running, options.design) else 0
        if calm >= QUIET_CHECKS:
            return True
        if clock.wall_elapsed() > options.timeout_s:
            return False
        threading.Event().wait(CHECK_EVERY_S)


def _wait_until_quiet_virtual(running: pipeline.RunningPipeline, clock: VirtualClock, total: int,
                              options: DemoOptions, on_progress: Callable[[Progress], None] | None) -> bool:
    """The coordinator of virtual time: whenever every participant waits, stop if the pipeline is quiet, else
    jump to the next deadline. Idle is exact here (no participant can act before the jump), so one quiet
    check is enough. Not quiet with no deadline left (nothing can ever happen again), or past HORIZON_S, or
    past ``timeout_s`` wall seconds: the report lists the unfinished files."""
    reported = -PROGRESS_EVERY_S
    while True:
        if not clock.wait_idle(options.timeout_s - clock.wall_elapsed()):
            return False
        if on_progress is not None and clock.wall_elapsed() - reported >= PROGRESS_EVERY_S:
            reported = clock.wall_elapsed()
            on_progress(_progress(running, total))
        if _quiet_now(running, options.design):
            if on_progress is not None:
                on_progress(_progress(running, total))
            return True
        deadline = clock.next_deadline()
        if deadline is None or deadline > HORIZON_S:
            return False
        clock.advance_to(deadline)


def _progress(running: pipeline.RunningPipeline, total: int) -> Progress:
    """Counted from what the emulator saw, not from a ledger scan (which would load moto on large replays):
    done = files with a successful run, dead = deaths announced on the dead-files queue (else the ordered DLQ)."""
    recorder, clock = running.recorder, running.aws.clock
    done = recorder.succeeded_files()
    queues = running.deployment.queues
    dlq = queues.get("dead_files") or queues.get("ordered_dlq")
    dead = running.aws.queue_depth(dlq) if dlq else 0
    return Progress(landed=len(recorder.uploads), total=total, running=recorder.active_runs(), done=done,
                    dead=dead,
                    groups_running=tuple(sorted(recorder.running_groups())), pipeline_s=clock.now(),
                    wall_s=clock.wall_elapsed())


def _quiet_now(running: pipeline.RunningPipeline, design: str) -> bool:
    """Cheapest checks first (this runs after every jump of a virtual clock); queue depths are read from moto's
    model, not through a botocore round trip each."""
    if not running.uploads_done.is_set() or running.recorder.active_runs() or running.in_flight():
        return False
    aws, queues = running.aws, running.deployment.queues
    if aws.queue_depth(queues["intake"]) or aws.queue_depth(queues["completion"]):
        return False
    if aws.queue_depth(queues["ordered"]):
        return False
    if design == "seed":  # the card's design has no ledger work list: an empty queue is the end
        return True
    return _only_blocked_left(running.aws, running.deployment)


def _only_blocked_left(aws: InProcessAWS, deployment: Deployment) -> bool:
    """Whether no group has anything a reconciler pass (or a wake-up) could change: what is unfinished is dead
    and announced, or waits behind such a file under ``onFailure: block``, i.e. needs an operator."""
    from landing_pipeline.runtime.ledger import Ledger

    ledger = Ledger(aws.client("dynamodb"), deployment.ledger_table, clock=aws.clock.epoch)
    return all(operator_only(ledger.load_group(group), deployment.spec, aws.clock.epoch())
               for group in ledger.all_groups())


def operator_only(view: Any, spec: Any, now: float) -> bool:
    """One group (``Ledger.load_group``): no lease, nothing unannounced, and the rules (runtime/decide.py, as the
    reconciler calls them, at a time past every settle and backoff wait) have nothing to start or wake."""
    from landing_pipeline.runtime.decide import Caller, decide
    from landing_pipeline.runtime.group_state import FileStatus, Policy

    if view.group.leased or any(f.status == FileStatus.DEAD and f.deaths > f.announced for f in view.files):
        return False
    far = now + 10 * 86400.0
    d = decide(view.group, view.files, far, Policy.from_spec(spec), caller=Caller.RECONCILER)
    return d.kind in ("idle", "blocked") and not d.files and not d.announce


def _dead_letters(aws: InProcessAWS, deployment: Deployment) -> dict[str, list[dict[str, Any]]]:
    """Every message the dead-letter queues hold at the end, read by draining them: a FIFO receive returns
    only messages of groups with none in flight, so a receive that left its batch in place (invisible) would
    see at most 10 messages of each group. The pipeline has stopped; nothing reads these queues after."""
    sqs, found = aws.client("sqs"), {}
    for role, url in deployment.queues.items():
        if not role.endswith("_dlq") and role != "dead_files":
            continue
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=43000,
                                        MessageAttributeNames=["All"]).get("Messages") or []
            if not batch:
                break
            messages += [{"body": m["Body"], "attributes": {k: v.get("StringValue") for k, v in
                                                            (m.get("MessageAttributes") or {}).items()}}
                         for m in batch]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(batch)])
        found[role] = messages
    return found


def _objects(aws: InProcessAWS, bucket: str) -> dict[str, bytes]:
    s3, result = aws.client("s3"), {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents") or []:
            result[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return result
