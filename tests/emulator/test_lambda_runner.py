"""The event source mapping runner does with a handler's answer what Lambda does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.faults import FunctionCrash
from landing_pipeline.emulator.lambda_runner import DeployedFunction, MappingConfig, MappingRunner
from landing_pipeline.emulator.observe import Recorder


@pytest.fixture
def aws() -> Iterator[InProcessAWS]:
    with InProcessAWS("eu-west-1", PipelineClock(10.0)) as started:
        yield started


def _mapping(aws: InProcessAWS, *, batch: int, concurrency: int, fifo: bool = False) -> MappingConfig:
    sqs = aws.client("sqs")
    name = "q.fifo" if fifo else "q"
    attributes = {"VisibilityTimeout": "20"}
    if fifo:
        attributes.update(FifoQueue="true", ContentBasedDeduplication="true")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    function = DeployedFunction("fn", "arn:aws:lambda:eu-west-1:123456789012:function:fn", "m.handler", {}, 30, 128,
                                b"")
    return MappingConfig("uuid", function, f"arn:aws:sqs:eu-west-1:123456789012:{name}", url, fifo, batch,
                         concurrency, True, True)


def _send(aws: InProcessAWS, mapping: MappingConfig, bodies: list[str], group: str | None = None) -> None:
    for body in bodies:
        extra = {"MessageGroupId": group or body} if mapping.fifo else {}
        aws.client("sqs").send_message(QueueUrl=mapping.queue_url, MessageBody=body, **extra)


def _run(aws: InProcessAWS, mapping: MappingConfig, handler: Any, until: Any, timeout: float = 10.0) -> Recorder:
    recorder, stop = Recorder(), threading.Event()
    runner = MappingRunner(aws, mapping, handler, recorder, stop)
    runner.start()
    deadline = time.monotonic() + timeout
    while not until(recorder) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    runner.join()
    return recorder


def _left(aws: InProcessAWS, mapping: MappingConfig) -> list[str]:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["All"])
    counts = attributes["Attributes"]
    return [counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]]


def test_reported_item_failures_stay_and_the_rest_are_deleted(aws: InProcessAWS) -> None:
    mapping = _mapping(aws, batch=10, concurrency=1)
    _send(aws, mapping, ["ok-1", "keep", "ok-2"])
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(r["body"] for r in event["Records"])
        assert context.function_name == "fn" and context.get_remaining_time_in_millis() > 0
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if r["body"] == "keep"]}

    _run(aws, mapping, handler, lambda rec: rec.invocations["fn"] >= 1)
    assert sorted(seen) == ["keep", "ok-1", "ok-2"]
    assert _left(aws, mapping) == ["0", "1"]  # the failure is in flight until its visibility timeout


@pytest.mark.parametrize("outcome", ["raise", "crash", "unknown id"])
def test_a_failed_invocation_leaves_the_whole_batch(aws: InProcessAWS, outcome: str) -> None:
    mapping = _mapping(aws, batch=10, concurrency=1)
    _send(aws, mapping, ["a", "b"])

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if outcome == "raise":
            raise ValueError("boom")
        if outcome == "crash":
            raise FunctionCrash("killed")
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    recorder = _run(aws, mapping, handler, lambda rec: rec.invocations["fn"] >= 1)
    assert _left(aws, mapping) == ["0", "2"]
    assert recorder.crashes == (1 if outcome == "crash" else 0)
    assert len(recorder.function_errors) == (0 if outcome == "unknown id" else 1)


def test_maximum_concurrency_bounds_parallel_invocations(aws: InProcessAWS) -> None:
    mapping = _mapping(aws, batch=1, concurrency=2)
    _send(aws, mapping, [f"m{i}" for i in range(6)])
    active, peak, lock = [0], [0], threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert len(event["Records"]) == 1
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        return {"batchItemFailures": []}

    _run(aws, mapping, handler, lambda rec: rec.invocations["fn"] >= 6)
    assert peak[0] == 2
    assert _left(aws, mapping) == ["0", "0"]


def test_a_fifo_group_gets_nothing_while_its_message_is_held(aws: InProcessAWS) -> None:
    mapping = _mapping(aws, batch=1, concurrency=4, fifo=True)
    _send(aws, mapping, ["first", "second"], group="g")
    _send(aws, mapping, ["other"], group="h")
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        record = event["Records"][0]
        seen.append(record["body"])
        assert record["attributes"]["MessageGroupId"] in ("g", "h")
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}] if record["body"] == "first" else []}

    _run(aws, mapping, handler, lambda rec: False, timeout=1.0)
    assert sorted(seen) == ["first", "other"]  # "second" waits behind the held "first"
