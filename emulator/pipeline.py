"""The deployed stack, running: mapping runners, the Glue engine and the uploads, started and stopped together."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.glue_engine import GlueEngine, RunExecutor, SleepExecutor
from landing_pipeline.emulator.lambda_runner import MappingRunner, resolve_handler
from landing_pipeline.emulator.observe import Recorder, Upload
from landing_pipeline.emulator.s3_event_time import S3EventTime
from landing_pipeline.emulator.scheduler import Scheduler, scheduler_for
from landing_pipeline.emulator.seed_dispatcher import seed_handler, seed_router
from landing_pipeline.emulator.strict import StrictLayer
from landing_pipeline.emulator.workload import DEFAULT_RUN_S, Arrival, durations_of, fail_attempts_of
from landing_pipeline.runtime.contract import COMPLETION_HANDLER as COMPLETION
from landing_pipeline.runtime.contract import DISPATCHER_HANDLER as DISPATCHER
from landing_pipeline.runtime.contract import OBJECT_CREATED, S3_SOURCE
from landing_pipeline.runtime.contract import ROUTER_HANDLER as ROUTER
from landing_pipeline.runtime.events import dedup_id

Engine = Literal["spark", "sleep"]
Design = Literal["held", "seed"]


@dataclass
class RunningPipeline:
    aws: InProcessAWS
    deployment: Deployment
    recorder: Recorder
    faults: FaultPlan
    engine: GlueEngine
    runners: list[MappingRunner]
    stop: threading.Event
    executor: Any
    uploads_done: threading.Event
    strict: StrictLayer | None = None
    """The strict layer (None with --lenient): what AWS does that moto does not."""
    scheduler: Scheduler | None = None
    """The reconciler's schedule in the emulator's clock (None under ``--design seed``: the card had none)."""
    event_time: S3EventTime | None = None
    moto_before: tuple[float, float] = (0.0, 0.0)
    """``aws.moto_s`` and ``aws.moto_cpu_s`` when the pipeline started (the deploy's share left out)."""

    @property
    def moto_s(self) -> float:
        """Wall seconds moto spent serving this pipeline's requests (inside its dispatch, lock held)."""
        return self.aws.moto_s - self.moto_before[0]

    @property
    def moto_cpu_s(self) -> float:
        return self.aws.moto_cpu_s - self.moto_before[1]

    def in_flight(self) -> int:
        held_back = self.engine.pending_events + (self.strict.pending() if self.strict is not None else 0)
        reconciling = 1 if self.scheduler is not None and self.scheduler.running else 0
        return sum(runner.in_flight for runner in self.runners) + held_back + reconciling


def start(aws: InProcessAWS, deployment: Deployment, arrivals: list[Arrival], *, engine: Engine, design: Design,
          faults: FaultPlan, recorder: Recorder | None = None, strict: bool = True) -> RunningPipeline:
    """Wire the real handlers to the emulated account and start everything; uploads follow their schedule.

    ``strict`` (the default; ``--lenient`` turns it off) puts the strict layer around moto and gives the
    handlers clients configured as the runtime's own (its retries), whose answers the layer can lose."""
    from landing_pipeline.emulator import strict as strict_layer
    from landing_pipeline.runtime.context import GLUE_STARTS, RuntimeContext, install

    recorder = recorder or Recorder()
    stop = threading.Event()
    layer = strict_layer.install(aws, faults) if strict else None
    event_time = S3EventTime(aws.clock)   # after the strict layer: its wrapper is the outer one (the put's time)
    event_time.install()
    client = aws.handler_client if strict else aws.client
    clients = {service: client(service) for service in ("sqs", "glue", "dynamodb", "s3", "cloudwatch")}
    if strict:   # StartJobRun without SDK retries, as the runtime makes it (runtime/context.py GLUE_STARTS)
        clients[GLUE_STARTS] = aws.handler_client("glue", {"mode": "standard", "total_max_attempts": 1})
    install(RuntimeContext.from_env(deployment.environment, clients=clients, clock=aws.clock.epoch))
    prefix = deployment.spec.key_prefix
    executor = _executor(aws, deployment, arrivals, engine, stop)
    glue = GlueEngine(aws, deployment.job_name, executor, recorder, faults,
                      fail_attempts=fail_attempts_of(arrivals, prefix))
    glue.install()
    observe_enqueues(aws, deployment.queues["ordered"], recorder)
    runners = []
    for mapping in deployment.mappings:
        if design == "seed" and mapping.function.handler == DISPATCHER:
            handler: Callable[[dict[str, Any], Any], Any] = seed_handler(
                clients["glue"], deployment.job_name, deployment.spec, deployment.output_bucket)
        elif design == "seed" and mapping.function.handler == ROUTER:
            handler = seed_router(resolve_handler(mapping.function), clients["sqs"], deployment)
        else:
            handler = resolve_handler(mapping.function)
        on_batch = _intake_observer(recorder) if mapping.function.handler == ROUTER else None
        runners.append(MappingRunner(aws, mapping, handler, recorder, stop, on_batch=on_batch,
                                     strict=layer.handlers if layer is not None else None))
    uploads_done = threading.Event()
    scheduler = None
    if design != "seed":
        scheduler = scheduler_for(aws, float(getattr(deployment.spec, "reconcile_minutes", 5)), recorder, stop,
                                  strict=layer.handlers if layer is not None else None)
    running = RunningPipeline(aws, deployment, recorder, faults, glue, runners, stop, executor, uploads_done,
                              strict=layer, scheduler=scheduler, event_time=event_time,
                              moto_before=(aws.moto_s, aws.moto_cpu_s))
    for runner in runners:
        runner.start()
    if scheduler is not None:
        scheduler.start()
    aws.clock.start_thread(_upload_all, running, arrivals, name="uploader")
    return running


def shutdown(running: RunningPipeline) -> None:
    from landing_pipeline.runtime.context import install

    running.stop.set()
    running.aws.clock.close()  # every clock wait ends now and sees the stop
    for runner in running.runners:
        runner.join()
    if running.scheduler is not None:
        running.scheduler.join()
    running.engine.shutdown()
    running.engine.uninstall()
    if running.event_time is not None:   # before the strict layer's, which restores what it wrapped
        running.event_time.uninstall()
    if running.strict is not None:
        running.strict.uninstall(running.aws)
    install(None)


def _executor(aws: InProcessAWS, deployment: Deployment, arrivals: list[Arrival], engine: Engine,
              stop: threading.Event) -> RunExecutor:
    if engine == "sleep":
        durations = durations_of(arrivals, deployment.spec.key_prefix)
        return SleepExecutor(aws, lambda key: durations.get(key, DEFAULT_RUN_S), stop)
    from landing_pipeline.emulator.spark_executor import SparkExecutor

    spark = SparkExecutor(aws, deployment.job_name, stop)
    threading.Thread(target=spark.session, name="spark-start", daemon=True).start()  # warm up while files land
    return spark


def _intake_observer(recorder: Recorder) -> Callable[[list[dict[str, Any]]], None]:
    """Count the distinct intake messages announcing each file version (how duplicates are observed)."""
    from landing_pipeline.runtime.events import IgnoredEvent, MalformedEvent, parse_message_body

    def observe(records: list[dict[str, Any]]) -> None:
        for record in records:
            try:
                objects = parse_message_body(record["body"])
            except (MalformedEvent, IgnoredEvent):
                continue
            for obj in objects:
                recorder.intake_message(obj.dedup_id, record["messageId"])

    return observe


def observe_enqueues(aws: InProcessAWS, queue_url: str, recorder: Recorder) -> None:
    """Number every SendMessage to the ordered queue in the order moto stores it: the true enqueue order.

    (The ledger's ``enqueue_seq`` is the router's clock read before its send, which two concurrent router
    invocations can interleave; moto's FIFO SequenceNumber is random. moto serves requests one at a time, so a
    counter inside its SendMessage is the queue's own order.)"""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[aws.account_id][aws.region]
    name = queue_url.rsplit("/", 1)[-1]
    original = backend.send_message
    counter = itertools.count(1)

    def send_message(queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        message = original(queue_name, message_body, *args, **kwargs)
        if queue_name == name:
            try:
                file_id = json.loads(message_body).get("file_id")
            except (ValueError, AttributeError):
                file_id = None
            if file_id:
                recorder.enqueued_as(str(file_id), next(counter))
        return message

    backend.send_message = send_message  # type: ignore[method-assign]


def _upload_all(running: RunningPipeline, arrivals: list[Arrival]) -> None:
    aws, deployment = running.aws, running.deployment
    s3, events = aws.client("s3"), aws.client("events")
    try:
        for arrival in sorted(arrivals, key=lambda a: a.at):
            if aws.clock.sleep_until(arrival.at, running.stop):
                return
            key = deployment.spec.key_prefix + arrival.name
            response = s3.put_object(Bucket=deployment.landing_bucket, Key=key, Body=arrival.body)
            version = response.get("VersionId")
            etag = response["ETag"].strip('"')
            running.recorder.uploaded(Upload(key, version, etag, len(arrival.body), aws.clock.now()))
            _landing_faults(running, s3, events, key, version, etag, len(arrival.body))
    finally:
        running.uploads_done.set()


def _landing_faults(running: RunningPipeline, s3: Any, events: Any, key: str, version: str | None, etag: str,
                    size: int) -> None:
    """Faults that happen between S3 and the intake queue, injected through the real services."""
    bucket, faults = running.deployment.landing_bucket, running.faults
    # A repeat is S3's own event again, with the object's creation time: PutEvents' default (moto's wall clock
    # at the send) would order the file before files that landed earlier whenever the repeat is recorded first.
    # Read it before a delete-before-processing removes the object (then there is no creation time to read, and
    # the repeat of a file that landed at second 254 said second 0: chaos seed 302, one run in twelve).
    landed = running.event_time.time_of_object(running.aws.account_id, bucket, key, version) \
        if running.event_time is not None else None
    if faults.fire("delete-before-processing", key):
        s3.delete_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    while faults.fire("duplicate-event", key):
        _put_s3_event(events, running.aws.region, bucket, {"key": key, "size": size, "etag": etag,
                                                           "version-id": version, "sequencer": "0"}, at=landed)
    while faults.fire("malformed-event", key):
        _put_s3_event(events, running.aws.region, bucket, {"key": key, "size": "corrupt"}, at=landed)


def _put_s3_event(events: Any, region: str, bucket: str, obj: dict[str, Any], *, at: float | None = None) -> None:
    """An Object Created event as S3 emits it, sent through EventBridge so the stack's own rule must match it;
    ``at`` is its ``time`` (Unix seconds)."""
    detail = {"version": "0", "bucket": {"name": bucket}, "object": {k: v for k, v in obj.items() if v is not None},
              "request-id": "EMULATED", "requester": "123456789012", "reason": "PutObject"}
    entry: dict[str, Any] = {"Source": S3_SOURCE, "DetailType": OBJECT_CREATED, "Detail": json.dumps(detail),
                             "Resources": [f"arn:aws:s3:::{bucket}"]}
    if at is not None:
        entry["Time"] = at
    response = events.put_events(Entries=[entry])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused an injected S3 event: {response['Entries']}")


def file_id_of(bucket: str, upload: Upload) -> str:
    return dedup_id(bucket, upload.key, upload.version_id, upload.etag)


__all__ = ["COMPLETION", "DISPATCHER", "ROUTER", "RunningPipeline", "file_id_of", "shutdown", "start"]
