"""Chaos mode (``landing demo --chaos SEED``): a workload and a fault schedule drawn from one seed, run
through the real stack, judged by ``invariants`` from what the emulator saw (never from the ledger).

The seed alone decides everything that is drawn: which files land when (bursts into few groups, files of one
group landing within a second of each other), which runs fail and how often (retries; a few files die and
are redriven by the operator after the first drain, through ``landing redrive``'s own code), which faults
fire on which files with which parameters, and the stack settings worth varying (``onFailure``,
``maxParallelGroups``, ``maxAttempts``). What the run then does still depends on thread timing, which is why
the report carries the timeline of any group where an invariant failed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from landing_pipeline.emulator import chaos_timeline, gc_budget, invariants
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.demo import DemoOptions, DemoResult, Progress, run_demo
from landing_pipeline.emulator.deploy import Deployment, read_stack
from landing_pipeline.emulator.faults import KINDS
from landing_pipeline.emulator.invariants import OperatorAction
from landing_pipeline.emulator.observe import Recorder, per_file
from landing_pipeline.emulator.workload import Arrival
from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.spec import PipelineSpec


@dataclass(frozen=True)
class ChaosPlan:
    """Everything one seed draws: the same seed gives an equal plan, always."""

    seed: int
    files: int
    groups: int
    arrivals: tuple[Arrival, ...]
    faults: tuple[str, ...]
    overrides: dict[str, Any] = field(default_factory=dict)
    dying: tuple[str, ...] = ()
    """Names of files whose runs all fail until the operator redrives them (they go DEAD first)."""


@dataclass
class ChaosReport:
    """One chaos run: the invariants (all must be 0), what was drawn, and what it cost."""

    seed: int
    files: int
    groups: int
    invariants: dict[str, int]
    late: int
    faults_drawn: list[str]
    faults_fired: dict[str, int]
    overrides: dict[str, Any]
    quiet: bool
    wall_s: float
    cpu_s: float
    fenced_runs: int = 0
    operator: list[str] = field(default_factory=list)
    """What the operator did after the first drain (redrives), with the pipeline time."""
    violations: list[dict[str, Any]] = field(default_factory=list)
    """One entry per violation: the invariant, the group, the files and runs involved, why."""
    timelines: dict[str, list[str]] = field(default_factory=dict)
    """Group -> its timeline (landings, hearings, runs, redrives in time order) for each group with a violation."""
    aws_requests: int = 0
    problems: list[str] = field(default_factory=list)
    """What went wrong outside the pipeline (the operator's tool raised): the run is failed, not judged."""

    @property
    def failed(self) -> bool:
        """An invariant failed, the pipeline never went quiet (then something is stuck: ``lost`` says what), or
        the operator could not act (``problems``)."""
        return not self.quiet or bool(self.problems) or any(self.invariants.values())

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "files": self.files, "groups": self.groups, "failed": self.failed,
                "quiet": self.quiet, "invariants": dict(self.invariants), "late": self.late,
                "fenced_runs": self.fenced_runs, "faults_drawn": list(self.faults_drawn),
                "faults_fired": dict(self.faults_fired), "overrides": dict(self.overrides),
                "operator": list(self.operator), "violations": list(self.violations),
                "timelines": {group: list(lines) for group, lines in self.timelines.items()},
                "problems": list(self.problems),
                "wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3), "aws_requests": self.aws_requests}


def plan(seed: int, *, files: int = 50, groups: int = 5) -> ChaosPlan:
    """Draw the workload, the faults and the settings of one chaos run from ``random.Random(seed)`` alone."""
    if files < 1 or groups < 1:
        raise InputError(f"--chaos needs at least one file and one group (got --files {files}, --groups {groups})")
    rng = random.Random(seed)
    max_attempts = rng.choice((2, 3, 4))
    overrides: dict[str, Any] = {**FAST, "onFailure": rng.choice(("continue", "block")),
                                 "maxParallelGroups": rng.choice((1, 2, 3, 4)), "maxAttempts": max_attempts}
    names = _landings(rng, files, groups)
    dying = rng.sample(range(files), k=min(files, rng.choice((0, 1, 1, 2))))
    arrivals = []
    for index, (at, name) in enumerate(names):
        fails = 0
        if index in dying:  # dies, is redriven after the first drain; now and then dies once more
            fails = max_attempts * (2 if rng.random() < 0.3 else 1)
        elif rng.random() < 0.15:  # fails, then succeeds on a retry
            fails = rng.randint(1, max_attempts - 1)
        arrivals.append(Arrival(at, name, _body(name), round(rng.uniform(*RUN_S), 1), fails))
    count = rng.randint(*FAULTS_PER_SEED)
    faults = tuple(_fault(rng.choice(sorted(KINDS)), rng.choice(names)[1], rng) for _ in range(count))
    return ChaosPlan(seed, files, groups, tuple(arrivals), faults, overrides,
                     tuple(names[index][1] for index in sorted(dying)))


FAST = {"jobTimeoutMinutes": 5, "holdMarginS": 60, "retryBackoffCapS": 120}
"""Short job timeout and hold (a held message reappears after 360 s) so a stalled group recovers in seconds of
wall time; the drawn runs take RUN_S, well inside the timeout."""
RUN_S = (5.0, 40.0)
"""Pipeline seconds a drawn run takes (sleep engine)."""
FAULTS_PER_SEED = (1, 5)
HANDLERS = ("router", "dispatcher", "completion")
DAY = "20250915"
FIRST_STAMP_S = 10 * 3600
"""File names carry 10:00:00 plus their landing second: ``feed0_20250915_100012.csv``."""


def _landings(rng: random.Random, files: int, groups: int) -> list[tuple[float, str]]:
    """(pipeline time, file name) in landing order: bursts of 1-6 files, each into one group (a few hot groups
    get most), the files of a burst landing within one second, sometimes in the opposite order to their names
    (same whole second: the stack's order is then the key's)."""
    weights = [rng.random() ** 3 + 0.02 for _ in range(groups)]
    horizon = files * 6.0
    bursts: list[tuple[int, list[float], bool]] = []
    remaining = files
    while remaining:
        size = min(remaining, rng.choice((1, 1, 2, 3, 4, 6)))
        group = rng.choices(range(groups), weights)[0]
        start = round(rng.uniform(0.0, horizon), 1)
        bursts.append((group, [start + round(rng.uniform(0.0, 0.9), 2) for _ in range(size)], rng.random() < 0.5))
        remaining -= size
    landed: list[tuple[float, str]] = []
    last_stamp: dict[int, int] = {}
    for group, times, reversed_names in sorted(bursts, key=lambda b: (b[0], min(b[1]))):
        times.sort()
        stamps = []
        for at in times:
            stamp = max(last_stamp.get(group, -1) + 1, FIRST_STAMP_S + int(at))
            last_stamp[group] = stamp
            stamps.append(stamp)
        if reversed_names:
            stamps.reverse()
        landed += [(at, f"feed{group}_{DAY}_{_hhmmss(stamp)}.csv") for at, stamp in zip(times, stamps, strict=True)]
    return sorted(landed)


def _hhmmss(seconds: int) -> str:
    return f"{seconds // 3600 % 24:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"


def _body(name: str) -> bytes:
    stem = name.rsplit(".", 1)[0]
    return f"order_id,customer_id,amount,order_ts\n{stem}-1,c-1,1.00,2025-09-15 10:00:00\n".encode()


def _fault(kind: str, name: str, rng: random.Random) -> str:
    """One ``--fault`` string of ``kind`` on the drawn file ``name``, with drawn counts and parameters."""
    if kind == "gsi-lag":
        return f"gsi-lag:{rng.choice((5, 30, 120, 600))}"
    if kind == "crash-in":
        return f"crash-in:{rng.choice(HANDLERS)}:{rng.randint(1, 6)}"
    if kind == "slow-handler":
        return f"slow-handler:{rng.choice(HANDLERS)}:{rng.choice((60, 300, 900))}"
    parameters: dict[str, Callable[[], int]] = {
        "duplicate-delivery": lambda: rng.randint(1, 6), "delay-event": lambda: rng.choice((5, 20, 60, 120)),
        "repeat-event": lambda: rng.choice((330, 360, 420)), "delay-glue-event": lambda: rng.choice((30, 120, 300))}
    parameter = parameters.get(kind)
    if parameter is not None:
        return f"{kind}:{name}:{parameter()}"
    if kind == "delete-before-processing":
        return f"{kind}:{name}"
    return f"{kind}:{name}:{rng.choice((1, 1, 2))}"


# --- the run --------------------------------------------------------------------------------------------
CHAOS_SPEEDUP = 200.0
"""Pipeline seconds per wall second until the demo has virtual time (then idle time costs nothing)."""
CHAOS_TIMEOUT_S = 300.0


@dataclass
class ChaosOperator:
    """The operator after each drain, through ``landing redrive`` / ``landing skip``'s own code
    (cli/ops_actions.py): turn 1 redrives every DLQ message; later turns, under ``onFailure: block``, skip
    the files the DLQ still names (dead again after their redrive), so their groups go on."""

    on_failure: str
    recorder: Recorder | None = None
    """The run log's recorder: each action is stamped on its sequence (``Recorder.tick``) when it begins."""
    actions: list[OperatorAction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """The operator's tool raised: the run cannot be judged as an operator would have left it."""
    refusals: list[str] = field(default_factory=list)
    """What the operator's tool refused to do, and why (e.g. skipping a file the ledger does not call DEAD)."""

    def __call__(self, aws: InProcessAWS, deployment: Deployment, turn: int) -> list[str]:
        from landing_pipeline.runtime.context import RuntimeContext

        clients = {service: aws.client(service) for service in ("glue", "dynamodb", "s3")}
        clients["sqs"] = ShortPolls(aws.client("sqs"))
        ctx = RuntimeContext.from_env(deployment.environment, clients=clients, clock=aws.clock.epoch)
        done: list[str] = []
        try:
            self._act(ctx, aws, deployment, turn, done)
        except Exception as exc:  # the operator's tool failed (a bug in it, or the emulator's): say so, stop
            self.problems.append(f"turn {turn}: {type(exc).__name__}: {exc}")
            return []
        return done

    def _act(self, ctx: Any, aws: InProcessAWS, deployment: Deployment, turn: int, done: list[str]) -> None:
        from landing_pipeline.cli.ops_actions import OpsError, redrive, skip

        # An action counts from when it began: the redrive sends each message during its scan, and a redriven
        # file may start before the scan returns (the invariants must not take it for a file that ran on its own).
        began, seq = aws.clock.now(), self._tick()
        if turn == 1:
            moved, problems = redrive(ctx)
            for item in moved:
                self.actions.append(OperatorAction(began, "redrive", item.file_id, item.key, seq))
                done.append(f"{began:.1f} redrive {item.key}")
            done += [f"{began:.1f} redrive problem: {problem}" for problem in problems]
        elif self.on_failure == "block":
            for file_id, key in _dlq_files(aws, deployment, ctx):
                began, seq = aws.clock.now(), self._tick()
                try:
                    skipped = skip(ctx, key, file_id=file_id, reason="chaos operator: dead again after its redrive")
                except OpsError as refused:  # `landing skip` says no (the ledger disagrees with the DLQ): noted
                    self.refusals.append(f"{began:.1f} skip {key} refused: {refused}")
                    continue
                self.actions.append(OperatorAction(began, "skip", file_id, key, seq))
                done.append(f"{began:.1f} skip {key} (woke {skipped.woken})")

    def _tick(self) -> int | None:
        return self.recorder.tick() if self.recorder is not None else None


class ShortPolls:
    """An SQS client whose receives never long-poll. The operator acts while the pipeline is quiet, from the
    thread that moves virtual time: a long poll there (``DlqScan`` waits 1 s per empty receive) would wait,
    inside moto, for pipeline time that cannot pass until it returns. Short polls see the same messages here:
    a quiet pipeline sends nothing meanwhile."""

    def __init__(self, client: Any):
        self._client = client

    def receive_message(self, **kwargs: Any) -> Any:
        return self._client.receive_message(**{**kwargs, "WaitTimeSeconds": 0})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _dlq_files(aws: InProcessAWS, deployment: Deployment, ctx: Any = None) -> list[tuple[str, str]]:
    """(file id, key) of each message announcing a dead file (the dead-files queue, else the ordered DLQ), left
    in place; an announcement names the file id, the ledger its key. Read from the emulated queue's contents:
    a FIFO receive returns no message of a group that has one in flight, so receives that leave their batches
    in place see at most 10 messages of each group, and reading past them would mean deleting the
    announcements the invariants read at the end."""
    url = deployment.queues.get("dead_files") or deployment.queues.get("ordered_dlq")
    if not url:
        return []
    found: list[tuple[str, str]] = []
    for body in queued_bodies(aws, url):
        document = _document(body)
        file_id, key = document.get("file_id"), document.get("key")
        if file_id and not key and ctx is not None:
            record = ctx.ledger.get(str(file_id))
            key = record.key if record is not None else None
        if file_id and key and (str(file_id), str(key)) not in found:
            found.append((str(file_id), str(key)))
    return found


def queued_bodies(aws: InProcessAWS, url: str) -> list[str]:
    """The bodies of every message a queue holds, visible or in flight, in the queue's order (moto's model,
    as ``InProcessAWS.queue_depth`` reads it)."""
    from moto.sqs.models import sqs_backends

    with aws.lock:
        queue = sqs_backends[aws.account_id][aws.region].queues.get(url.rsplit("/", 1)[-1])
        return [str(message.body) for message in queue._messages] if queue is not None else []


def _document(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def run(seed: int, *, files: int = 50, groups: int = 5, engine: str = "sleep", lenient: bool = False,
        stack: str = "dev", project_dir: Path | None = None, timeout_s: float = CHAOS_TIMEOUT_S,
        on_progress: Callable[[Progress], None] | None = None) -> ChaosReport:
    """Run ``plan(seed)`` through the real stack (``emulator.demo.run_demo``) and judge it by the invariants."""
    return run_with_result(seed, files=files, groups=groups, engine=engine, lenient=lenient, stack=stack,
                           project_dir=project_dir, timeout_s=timeout_s, on_progress=on_progress)[0]


def run_with_result(seed: int, *, files: int = 50, groups: int = 5, engine: str = "sleep", lenient: bool = False,
                    stack: str = "dev", project_dir: Path | None = None, timeout_s: float = CHAOS_TIMEOUT_S,
                    on_progress: Callable[[Progress], None] | None = None,
                    function_log: IO[str] | None = None) -> tuple[ChaosReport, DemoResult]:
    """``run``, also returning the demo's own result (its report draws the timeline picture)."""
    chosen = plan(seed, files=files, groups=groups)
    result, operator, wall_s, cpu_s = execute(chosen, engine=engine, lenient=lenient, stack=stack,
                                              project_dir=project_dir, timeout_s=timeout_s, on_progress=on_progress,
                                              function_log=function_log)
    spec = read_stack(stack, project_dir, chosen.overrides).spec
    records = records_of(result, spec, operator.actions)
    report = report_of(chosen, result, invariants.check(records), records, wall_s, cpu_s)
    report.problems += operator.problems
    report.operator += operator.refusals
    return report, result


def execute(chosen: ChaosPlan, *, engine: str = "sleep", lenient: bool = False, stack: str = "dev",
            project_dir: Path | None = None, timeout_s: float = CHAOS_TIMEOUT_S,
            on_progress: Callable[[Progress], None] | None = None, function_log: IO[str] | None = None,
            ) -> tuple[DemoResult, ChaosOperator, float, float]:
    """The demo run of a plan: (its result, the operator with its actions, wall seconds, CPU seconds)."""
    on_failure = str(chosen.overrides.get("onFailure", "continue"))
    recorder = Recorder()
    operator = ChaosOperator(on_failure, recorder)
    options = DemoOptions(stack=stack, project_dir=project_dir, overrides=dict(chosen.overrides),
                          engine=engine, speedup=CHAOS_SPEEDUP, faults=list(chosen.faults),  # type: ignore[arg-type]
                          arrivals=list(chosen.arrivals), operator=operator, lenient=lenient, timeout_s=timeout_s,
                          function_log=function_log, virtual_time=True, recorder=recorder)
    wall, cpu = time.monotonic(), time.process_time()
    with gc_budget.fewer_collections():
        result = run_demo(options, on_progress=on_progress)
    return result, operator, time.monotonic() - wall, time.process_time() - cpu


def records_of(result: DemoResult, spec: PipelineSpec, operator: list[OperatorAction]) -> invariants.Records:
    """The independent records of a demo run, as the invariants read them."""
    from landing_pipeline.emulator.pipeline import file_id_of
    from landing_pipeline.runtime.events import ObjectCreated
    from landing_pipeline.runtime.grouping import group_for_key
    from landing_pipeline.runtime.router import ignore_reason

    recorder = result.recorder
    if recorder is None:
        raise RuntimeError("the demo result carries no recorder: nothing independent to judge it by")
    landings = []
    for upload in recorder.uploads:
        obj = ObjectCreated(result.landing_bucket, upload.key, upload.size, upload.etag, upload.version_id)
        try:
            group = group_for_key(upload.key, spec)
        except ValueError as exc:  # the rule rejects the key: the router parks it (not a file to order)
            group = f"(ungroupable: {exc})"
        landings.append(invariants.Landing(file_id_of(result.landing_bucket, upload), upload.key, group, upload.at,
                                           taken_in=ignore_reason(spec, obj) is None))
    runs = per_file(recorder.snapshot_runs())   # a batch run is judged file by file
    heard = invariants.heard_times(recorder.deliveries, recorder.intake_messages)
    for run_ in sorted(runs, key=lambda r: r.start):
        heard.setdefault(run_.file_id, run_.start if run_.ordered_at is None else run_.ordered_at)  # by then
    dlq_files = {str(doc["file_id"]) for messages in result.dead_letters.values() for message in messages
                 if (doc := _document(message["body"])).get("file_id")}
    ledger_dead = {file_id for file_id, view in result.ledger.items() if view.status == "DEAD"}
    times = [u.at for u in recorder.uploads] + [t for r in runs for t in (r.start, r.end) if t is not None] + [
        a.at for a in operator]
    return invariants.Records(landings=landings, runs=list(runs), heard=heard, dlq_files=dlq_files,
                              ledger_dead=ledger_dead, operator=list(operator),
                              order_by=str(getattr(spec, "order_by", "landing_time")),
                              on_failure=str(spec.on_failure), now=max(times, default=0.0) + 1.0,
                              deliveries=list(recorder.deliveries), dropped_sends=list(result.dropped_sends))


def report_of(chosen: ChaosPlan, result: DemoResult, report: invariants.InvariantReport,
              records: invariants.Records, wall_s: float, cpu_s: float) -> ChaosReport:
    return ChaosReport(
        seed=chosen.seed, files=chosen.files, groups=chosen.groups, invariants=dict(report.invariants),
        late=report.late, faults_drawn=list(chosen.faults), faults_fired=dict(result.faults_fired),
        overrides={k: v for k, v in chosen.overrides.items() if k not in FAST}, quiet=result.quiet,
        wall_s=wall_s, cpu_s=cpu_s, fenced_runs=report.fenced_runs, operator=list(result.operator_actions),
        violations=report.violations,
        timelines={group: chaos_timeline.timeline(records, group) for group in report.groups},
        aws_requests=result.aws_requests)
