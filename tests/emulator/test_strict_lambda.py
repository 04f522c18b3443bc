"""Strict Lambda: a handler killed before a given AWS call, killed at its timeout, and one SQS message
handed to two invocations at once. On moto alone none of these happens: handlers run to their end, once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.faults import FaultPlan, FunctionCrash
from landing_pipeline.emulator.lambda_runner import DeployedFunction, MappingConfig, MappingRunner
from landing_pipeline.emulator.observe import Recorder
from landing_pipeline.emulator.strict_lambda import HandlerFaults, Invocation, current, invocation
from tests.emulator.strict_support import ManualClock, wait_for

HANDLER = "landing_pipeline.runtime.dispatcher.handler"


@pytest.fixture
def aws() -> Iterator[tuple[InProcessAWS, ManualClock, str]]:
    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as aws:
        yield aws, clock, aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]


def _calls(aws: InProcessAWS, url: str, n: int) -> None:
    sqs = aws.handler_client("sqs")
    for _ in range(n):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])


def test_crash_in_kills_the_handler_just_before_its_nth_aws_call(aws: tuple[InProcessAWS, ManualClock, str]) -> None:
    service, _, url = aws
    faults = HandlerFaults(service, FaultPlan.parse(["crash-in:dispatcher:3"]))
    service.request_hooks.append(faults)
    with invocation(Invocation("router", 100.0, 100.0)):
        _calls(service, url, 5)  # another function: untouched
    inv = Invocation("dispatcher", 100.0, 100.0)
    with invocation(inv), pytest.raises(FunctionCrash, match="before its AWS call 3"):
        _calls(service, url, 5)
    assert inv.calls == 3 and [entry[1:] for entry in faults.log] == [("dispatcher", 3, "crashed")]
    with invocation(Invocation("dispatcher", 100.0, 100.0)):
        _calls(service, url, 5)  # once: the next invocation runs


def test_a_handler_past_its_timeout_is_killed_at_its_next_aws_call(aws: tuple[InProcessAWS, ManualClock, str]) -> None:
    service, clock, url = aws
    faults = HandlerFaults(service, FaultPlan.parse(["slow-handler:dispatcher:120"]))
    service.request_hooks.append(faults)
    with invocation(Invocation("dispatcher", clock.now() + 60, 60)), pytest.raises(FunctionCrash, match="timed out"):
        _calls(service, url, 2)  # the first call stalls 120 s; the second finds the sandbox gone
    assert clock.now() == 120
    assert [entry[1:] for entry in faults.log] == [("dispatcher", 1, "stalled 120s"), ("dispatcher", 2, "timed out")]


def test_a_duplicate_delivery_runs_a_second_invocation_before_the_first_s_nth_call(
        aws: tuple[InProcessAWS, ManualClock, str]) -> None:
    service, _, url = aws
    service.request_hooks.append(HandlerFaults(service, FaultPlan.parse(["duplicate-delivery:a.csv:2"])))
    arn = service.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    function = DeployedFunction("dispatcher-fn", "arn:aws:lambda:eu-west-1:123456789012:function:d", HANDLER, {},
                                60, 128, b"")
    mapping = MappingConfig("m", function, arn, url, False, 1, 2, False, True)
    steps: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> None:
        me = id(current())
        for step in (1, 2, 3):
            _calls(service, url, 1)
            with lock:  # after the call: the first invocation pauses inside its call 2
                steps.append((me, step, event["Records"][0]["messageId"]))

    recorder, stop = Recorder(), threading.Event()
    runner = MappingRunner(service, mapping, handler, recorder, stop, strict=service.request_hooks[0])
    service.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"key": "landing/a.csv"}))
    runner.start()
    try:
        assert wait_for(lambda: len(steps) == 6 and runner.in_flight == 0)
    finally:
        stop.set()
        runner.join()
    first, second = steps[0][0], steps[1][0]
    assert first != second and len({message for _, _, message in steps}) == 1  # one message, two invocations
    assert [(who == first, step) for who, step, _ in steps] == [
        (True, 1), (False, 1), (False, 2), (False, 3), (True, 2), (True, 3)]
    assert [outcome for *_, outcome in recorder.deliveries] == ["deleted", "deleted"]


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_a_duplicate_delivery_is_a_second_receive_with_its_own_receipt_handle(fifo: bool) -> None:
    """On a standard queue the duplicate is the message received again: a new handle supersedes the first
    consumer's, whose delete then deletes nothing; the duplicate's delete removes it. A FIFO queue never hands
    an in-flight message out twice: its duplicate is one batch invoked twice, with the same handle."""
    from landing_pipeline.emulator.strict_receipts import StrictReceipts

    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as service:
        attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
        url = service.client("sqs").create_queue(QueueName="work.fifo" if fifo else "work",
                                                 Attributes=attributes)["QueueUrl"]
        receipts = StrictReceipts(service)
        receipts.install()
        faults = HandlerFaults(service, FaultPlan.parse(["duplicate-delivery:a.csv:2"]))
        faults.redeliver = receipts.redeliver
        service.request_hooks.append(faults)
        arn = service.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        function = DeployedFunction("dispatcher-fn", "arn:aws:lambda:eu-west-1:123456789012:function:d", HANDLER,
                                    {}, 60, 128, b"")
        mapping = MappingConfig("m", function, arn, url, fifo, 1, 2, False, True)
        seen: list[tuple[str, str]] = []
        lock = threading.Lock()

        def handler(event: dict[str, Any], context: Any) -> None:
            record = event["Records"][0]
            _calls(service, url, 3)
            with lock:
                seen.append((record["receiptHandle"], record["attributes"]["ApproximateReceiveCount"]))

        recorder, stop = Recorder(), threading.Event()
        runner = MappingRunner(service, mapping, handler, recorder, stop, strict=faults)
        send: dict[str, Any] = {"MessageGroupId": "g"} if fifo else {}
        service.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"key": "landing/a.csv"}), **send)
        runner.start()
        try:
            assert wait_for(lambda: len(seen) == 2 and runner.in_flight == 0)
        finally:
            stop.set()
            runner.join()
        duplicate, first = seen  # the duplicate ran while the first was paused before its second call
        if fifo:
            assert duplicate == first == (first[0], "1")
        else:
            assert duplicate[0] != first[0] and (first[1], duplicate[1]) == ("1", "2")
        assert service.queue_depth(url) == 0  # deleted once; the other delete did nothing
        if fifo:
            return

        # before the duplicate deletes, the first consumer's handle is superseded
        sqs = service.client("sqs")
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"key": "landing/b.csv"}))
        received = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        again = receipts.redeliver(url.rsplit("/", 1)[-1], received)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])  # succeeds, deletes nothing
        assert len(receipts.log.ignored_deletes) == 1 and service.queue_depth(url) == 1
        sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
        assert service.queue_depth(url) == 0
