"""SQS event source mappings, run the way Lambda runs them, with the real handlers in this process.

moto stores functions and mappings but cannot run Python code without Docker;
this runner takes its place. For every mapping moto holds it polls the queue,
builds the SQS event Lambda would send, calls the function's handler (resolved
from its handler string, after checking the module is in the deployed zip) and
then does what Lambda does with the answer: deletes the records that succeeded,
leaves the ones reported in ``batchItemFailures`` (they become visible again
when their visibility timeout ends, or when the handler changed it), and leaves
the whole batch when the function raised or died. Batch size and
``ScalingConfig.MaximumConcurrency`` bound each mapping exactly as in AWS.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
import traceback
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.faults import FunctionCrash
from landing_pipeline.emulator.function_output import function_scope
from landing_pipeline.emulator.observe import Recorder
from landing_pipeline.emulator.strict_lambda import HandlerFaults, Invocation, handler_name, invocation
from landing_pipeline.runtime.errors import OperationalError

DEFAULT_CONCURRENCY = 8
"""Concurrent invocations of a mapping without MaximumConcurrency (AWS starts 5 pollers and scales up)."""
IDLE_POLL_S = (0.01, 0.1)
"""Bounds of the wall seconds a poller waits after an empty receive when nothing wakes it (a send, delete or
visibility change in its queue does, at once): about two pipeline seconds, so messages that become visible
as time passes are found promptly at any speedup."""

Handler = Callable[[dict[str, Any], Any], Any]


class HandlerNotDeployed(OperationalError):
    """The function's handler string names a module its deployed code does not contain."""


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    code: bytes


@dataclass(frozen=True)
class MappingConfig:
    uuid: str
    function: DeployedFunction
    queue_arn: str
    queue_url: str
    fifo: bool
    batch_size: int
    max_concurrency: int
    reports_item_failures: bool
    enabled: bool


class LambdaContext:
    """The context object Lambda passes (what Powertools reads from it)."""

    def __init__(self, function: DeployedFunction, region: str, account: str, remaining_ms: Callable[[], int]):
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"emulator/{self.aws_request_id}"
        self._remaining_ms = remaining_ms
        self.region, self.account = region, account

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms()


def load_mappings(aws: InProcessAWS) -> list[MappingConfig]:
    """Every SQS event source mapping moto holds, with its function's deployed configuration and code."""
    from moto.awslambda.models import lambda_backends

    lambda_, sqs = aws.client("lambda"), aws.client("sqs")
    result = []
    for mapping in lambda_.list_event_source_mappings()["EventSourceMappings"]:
        if ":sqs:" not in mapping["EventSourceArn"]:
            continue
        config = lambda_.get_function_configuration(FunctionName=mapping["FunctionArn"])
        with aws.lock:
            code = lambda_backends[aws.account_id][aws.region].get_function(config["FunctionName"]).code_bytes
        function = DeployedFunction(
            name=config["FunctionName"], arn=config["FunctionArn"], handler=config["Handler"],
            environment=dict((config.get("Environment") or {}).get("Variables") or {}),
            timeout_s=int(config.get("Timeout", 3)), memory_mb=int(config.get("MemorySize", 128)), code=code)
        queue_name = mapping["EventSourceArn"].rsplit(":", 1)[-1]
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        scaling = mapping.get("ScalingConfig") or {}
        result.append(MappingConfig(
            uuid=mapping["UUID"], function=function, queue_arn=mapping["EventSourceArn"], queue_url=queue_url,
            fifo=queue_name.endswith(".fifo"), batch_size=int(mapping.get("BatchSize") or 10),
            max_concurrency=int(scaling.get("MaximumConcurrency") or DEFAULT_CONCURRENCY),
            reports_item_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
            enabled=mapping.get("State", "Enabled") in ("Enabled", "Enabling", "Creating")))
    return result


def resolve_handler(function: DeployedFunction) -> Handler:
    """Import the function's handler, after checking its module is in the deployed zip: a handler string that
    only works because the module happens to be on this machine's path would fail in AWS."""
    module_name, _, attribute = function.handler.rpartition(".")
    if not module_name:
        raise HandlerNotDeployed(f"function {function.name}: handler {function.handler!r} is not 'module.function'")
    module_path = module_name.replace(".", "/")
    with zipfile.ZipFile(io.BytesIO(function.code)) as archive:
        names = set(archive.namelist())
    if f"{module_path}.py" not in names and f"{module_path}/__init__.py" not in names:
        raise HandlerNotDeployed(
            f"function {function.name}: handler {function.handler!r} needs {module_path}.py, which its deployed "
            f"code does not contain (it holds {len(names)} files, e.g. {sorted(names)[:5]})")
    handler = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(handler):
        raise HandlerNotDeployed(f"function {function.name}: {module_name} has no function {attribute!r}")
    return handler  # type: ignore[no-any-return]


def _identity(message: dict[str, Any]) -> str:
    """The file id a message is about (ordered-queue bodies carry it), else the message id."""
    try:
        document = json.loads(message["Body"])
    except ValueError:
        document = None
    file_id = document.get("file_id") if isinstance(document, dict) else None
    return f"file {file_id}" if isinstance(file_id, str) else f"message {message['MessageId']}"


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda sends for SQS (camelCase, attributes as strings)."""
    attributes = {name: str(value) for name, value in (message.get("Attributes") or {}).items()}
    message_attributes = {
        name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
               "stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType", "String")}
        for name, value in (message.get("MessageAttributes") or {}).items()}
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": attributes, "messageAttributes": message_attributes, "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


class MappingRunner:
    """The pollers and concurrent invocations of one event source mapping."""

    def __init__(self, aws: InProcessAWS, mapping: MappingConfig, handler: Handler, recorder: Recorder,
                 stop: threading.Event, on_batch: Callable[[list[dict[str, Any]]], None] | None = None,
                 strict: HandlerFaults | None = None):
        self.aws, self.mapping, self.handler, self.recorder, self.stop = aws, mapping, handler, recorder, stop
        self.on_batch = on_batch
        self.strict = strict
        """The strict layer's Lambda faults and timeout (None: --lenient, handlers run to their end)."""
        self.sqs = aws.client("sqs")
        self._free_slots = mapping.max_concurrency
        """Invocations the mapping may still start (a counter the clock's waits can read: see _take_slot)."""
        self._slot_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=mapping.max_concurrency,
                                        thread_name_prefix=f"lambda-{mapping.function.name[:20]}")
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self._count_lock = threading.Lock()

    def start(self) -> None:
        """Start the poller (a participant of the clock from now, not from when its thread gets going)."""
        if self.mapping.enabled:
            self._thread = self.aws.clock.start_thread(self._poll, name=f"poller-{self.mapping.function.name[:20]}")

    def join(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    def _take_slot(self) -> bool:
        """Wait for a free invocation slot (a clock wait: a virtual clock sees the poller idle meanwhile)."""
        stop = self.stop
        self.aws.clock.wait_for(lambda: self._free_slots > 0 or stop.is_set())
        with self._slot_lock:
            if self._free_slots <= 0 or stop.is_set():
                return False
            self._free_slots -= 1
            return True

    def _release_slot(self) -> None:
        with self._slot_lock:
            self._free_slots += 1
        self.aws.clock.notify()

    def _poll(self) -> None:
        clock, stop = self.aws.clock, self.stop
        activity, queue_name = self.aws.queue_activity, self.mapping.queue_url.rsplit("/", 1)[-1]
        # pipeline seconds between receives when nothing wakes the poller (a virtual clock wakes it at each jump)
        idle = 0.0 if clock.virtual else clock.speedup * max(IDLE_POLL_S[0], min(IDLE_POLL_S[1], 2.0 / clock.speedup))
        retry = 1.0 if clock.virtual else clock.speedup * IDLE_POLL_S[1]  # after a failed receive: a real deadline
        per_receive = min(10, self.mapping.batch_size)
        while not stop.is_set():
            if not self._take_slot():
                continue
            seen = activity.generation(queue_name)
            if not self.aws.receivable(self.mapping.queue_url):
                self._release_slot()
                activity.wait(queue_name, seen, idle, stop)
                continue
            try:
                response = self.sqs.receive_message(
                    QueueUrl=self.mapping.queue_url, MaxNumberOfMessages=per_receive, WaitTimeSeconds=0,
                    AttributeNames=["All"], MessageAttributeNames=["All"])
            except Exception:
                self._release_slot()
                clock.sleep(retry, stop)
                continue
            messages = response.get("Messages") or []
            if not messages:
                self._release_slot()
                activity.wait(queue_name, seen, idle, stop)
                continue
            with self._count_lock:
                self.in_flight += 1
            step = self.strict.duplicate_step(messages, self.mapping.function.name) if self.strict is not None else None
            if step is None:
                clock.submit(self._pool, self._invoke, messages)
                continue
            # at least once: the same messages reach a second invocation, which runs while the first is
            # paused just before its STEP-th AWS call (its own thread: it needs no slot of the mapping's)
            first = self._invocation(pause_before=step)
            with self._count_lock:
                self.in_flight += 1
            clock.start_thread(self._invoke_duplicate, messages, first,
                               name=f"duplicate-{self.mapping.function.name[:20]}")
            clock.submit(self._pool, self._invoke, messages, first)

    def _invocation(self, pause_before: int | None = None) -> Invocation:
        function, clock = self.mapping.function, self.aws.clock
        return Invocation(handler_name(function.handler), clock.now() + function.timeout_s,
                          function.timeout_s, pause_before=pause_before, reached=clock.signal(),
                          duplicate_done=clock.signal())

    def _invoke_duplicate(self, messages: list[dict[str, Any]], first: Invocation) -> None:
        first.reached.wait()
        try:
            again = self.strict.redelivered(self.mapping.queue_url, messages) if self.strict is not None else messages
            self._invoke(again, self._invocation(), release_slot=False)
        finally:
            first.duplicate_done.set()

    def _invoke(self, messages: list[dict[str, Any]], inv: Invocation | None = None,
                release_slot: bool = True) -> None:
        function = self.mapping.function
        inv = inv or self._invocation()
        records = [sqs_record(m, self.mapping.queue_arn, self.aws.region) for m in messages]
        clock = self.aws.clock
        deadline = inv.deadline
        context = LambdaContext(function, self.aws.region, self.aws.account_id,
                                lambda: max(0, int((deadline - clock.now()) * 1000)))
        error: str | None = None
        crashed = False
        response: Any = None
        try:
            if self.on_batch is not None:
                self.on_batch(records)
            with function_scope(), invocation(inv):
                response = self.handler({"Records": records}, context)
        except FunctionCrash as exc:
            crashed, error = True, f"crashed: {exc}"
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if error is None and self.strict is not None and inv.past_timeout():
            crashed, error = True, f"crashed: Task timed out after {function.timeout_s} seconds"
        kept: set[str] = {m["MessageId"] for m in messages}
        try:
            if error is None:
                kept = self._delete_succeeded(messages, response)
        finally:
            outcomes = [(_identity(m), str((m.get("Attributes") or {}).get("ApproximateReceiveCount", "")),
                         "error" if error else "kept" if m["MessageId"] in kept else "deleted") for m in messages]
            self.recorder.invoked(function.name, clock.now(), error=error, crashed=crashed, outcomes=outcomes)
            with self._count_lock:
                self.in_flight -= 1
            if release_slot:
                self._release_slot()

    def _delete_succeeded(self, messages: list[dict[str, Any]], response: Any) -> set[str]:
        """Lambda's rule: with ReportBatchItemFailures, delete all but the reported ids (an unknown or empty id
        fails the whole batch); without it, a normal return deletes the batch."""
        failed: set[str] = set()
        if self.mapping.reports_item_failures and isinstance(response, dict):
            ids = {m["MessageId"] for m in messages}
            for item in response.get("batchItemFailures") or []:
                identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
                if not identifier or identifier not in ids:
                    return ids  # the whole batch counts as failed
                failed.add(identifier)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
        return failed
