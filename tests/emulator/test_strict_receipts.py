"""Strict receipt handles: a handle per receive, superseded by the next, expired with its visibility; the
12-hour visibility limit counted from the receive. Each test fails on moto alone, which accepts every handle a
message ever had and counts the limit from the send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.strict_receipts import StrictReceipts
from tests.emulator.strict_support import ManualClock

HOUR = 3600


@pytest.fixture
def aws() -> Iterator[tuple[Any, ManualClock, StrictReceipts]]:
    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as service:
        receipts = StrictReceipts(service)
        receipts.install()
        yield service.client("sqs"), clock, receipts


def _queue(sqs: Any, fifo: bool) -> str:
    if fifo:
        return str(sqs.create_queue(QueueName="q.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"])
    return str(sqs.create_queue(QueueName="q")["QueueUrl"])


def _send(sqs: Any, url: str, body: str = '{"key": "landing/a.csv"}') -> None:
    extra = {"MessageGroupId": "g"} if url.endswith(".fifo") else {}
    sqs.send_message(QueueUrl=url, MessageBody=body, **extra)


def _receive(sqs: Any, url: str, visibility: int = 10) -> str | None:
    messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=visibility).get("Messages") or []
    return str(messages[0]["ReceiptHandle"]) if messages else None


def _error(call: Any, **parameters: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**parameters)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_a_delete_with_a_superseded_handle_succeeds_and_deletes_nothing_on_a_standard_queue(
        aws: tuple[Any, ManualClock, StrictReceipts]) -> None:
    sqs, clock, receipts = aws
    url = _queue(sqs, fifo=False)
    _send(sqs, url)
    first = _receive(sqs, url)
    clock.advance(11)  # the first receive's visibility ran out: the message is received again
    second = _receive(sqs, url)
    assert first and second and first != second
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)  # answered as a success ...
    assert sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": first}])["Successful"]
    clock.advance(11)
    third = _receive(sqs, url)  # ... but the message is still there
    assert third is not None
    assert [key for _, _, key in receipts.log.ignored_deletes] == ["landing/a.csv", "landing/a.csv"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third)  # the latest handle deletes
    clock.advance(11)
    assert _receive(sqs, url) is None


def test_a_fifo_queue_refuses_an_expired_handle_received_again_or_not(
        aws: tuple[Any, ManualClock, StrictReceipts]) -> None:
    sqs, clock, receipts = aws
    url = _queue(sqs, fifo=True)
    _send(sqs, url)
    first = _receive(sqs, url)
    assert first
    clock.advance(11)  # expired, not yet received again
    code, message = _error(sqs.delete_message, QueueUrl=url, ReceiptHandle=first)
    assert (code, message) == ("InvalidParameterValue",
                               f"Value {first} for parameter ReceiptHandle is invalid. Reason: The receipt handle "
                               "has expired.")
    second = _receive(sqs, url)
    assert second and second != first
    batch = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": first}])
    assert [(f["Code"], f["Message"]) for f in batch["Failed"]] == [("ReceiptHandleIsInvalid",
                                                                      "The receipt handle has expired")]
    assert len(receipts.log.rejected_deletes) == 2
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second)  # within its visibility: deleted
    clock.advance(11)
    assert _receive(sqs, url) is None


def test_change_visibility_refuses_a_superseded_handle_and_on_fifo_an_expired_one(
        aws: tuple[Any, ManualClock, StrictReceipts]) -> None:
    sqs, clock, receipts = aws
    standard, fifo = _queue(sqs, fifo=False), _queue(sqs, fifo=True)
    for url in (standard, fifo):
        _send(sqs, url)
        first = _receive(sqs, url)
        clock.advance(11)
        if url == fifo:
            assert _error(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=first,
                          VisibilityTimeout=30)[1].endswith("has expired.")
        else:  # an expired handle of a standard queue still works while no one received the message again
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first, VisibilityTimeout=0)
            clock.advance(1)  # (moto: visible once the clock is past the new deadline)
        second = _receive(sqs, url)
        assert second and second != first
        code, message = _error(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=first,
                               VisibilityTimeout=30)
        assert code == "InvalidParameterValue" and message.endswith(
            "Reason: Message does not exist or is not available for visibility timeout change."), message
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second, VisibilityTimeout=0)  # releases it
        clock.advance(1)
        assert _receive(sqs, url) is not None
    assert [why for *_, why in receipts.log.rejected_visibility] == ["superseded", "expired", "superseded"]


def test_the_twelve_hour_limit_is_counted_from_the_receive_not_the_send(
        aws: tuple[Any, ManualClock, StrictReceipts]) -> None:
    sqs, clock, receipts = aws
    url = _queue(sqs, fifo=True)
    _send(sqs, url)
    clock.advance(13 * HOUR)  # the message waited longer than 12 hours before anyone received it
    handle = _receive(sqs, url, visibility=60)
    assert handle
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=12 * HOUR)
    clock.advance(HOUR)  # extending does not reset the 12 hours
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=11 * HOUR)
    code, message = _error(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle,
                           VisibilityTimeout=11 * HOUR + 1)
    assert (code, message) == ("InvalidParameterValue", f"Value {11 * HOUR + 1} for parameter VisibilityTimeout is "
                               "invalid. Reason: Total VisibilityTimeout for the message is beyond the limit "
                               "[43200 seconds]")
    assert [why for *_, why in receipts.log.rejected_visibility] == ["past 12 hours"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    clock.advance(1)
    again = _receive(sqs, url, visibility=60)  # a new receive starts a new 12 hours
    assert again
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again, VisibilityTimeout=12 * HOUR)


@pytest.fixture
def ordered() -> Iterator[tuple[Any, ManualClock, Any]]:
    """The dev stack on a hand-moved clock, with the strict layer and a runtime context as the handlers have."""
    from landing_pipeline.emulator import strict
    from landing_pipeline.emulator.deploy import deploy, read_stack
    from landing_pipeline.emulator.faults import FaultPlan
    from landing_pipeline.runtime.context import RuntimeContext

    clock, config = ManualClock(), read_stack("dev")
    with InProcessAWS(config.region, clock) as service:
        deployment = deploy(service, config)
        layer = strict.install(service, FaultPlan())
        clients = {name: service.handler_client(name) for name in ("sqs", "glue", "dynamodb", "s3")}
        ctx = RuntimeContext.from_env(deployment.environment, clients=clients, clock=clock.epoch)
        try:
            yield ctx, clock, layer
        finally:
            layer.uninstall(service)


def test_the_runtime_reads_refused_handles_as_stale_and_shortens_a_hold_past_twelve_hours(
        ordered: tuple[Any, ManualClock, Any]) -> None:
    """What today's runtime does with the answers above on its FIFO ordered queue: a refused delete or
    visibility change of an expired handle is "stale" (False / None), not an error; a hold that would end past
    12 hours from the receive is halved until SQS accepts it."""
    from landing_pipeline.runtime.queues import delete_message, set_visibility

    ctx, clock, layer = ordered
    ctx.sqs.send_message(QueueUrl=ctx.ordered_queue_url, MessageBody='{"key": "landing/a.csv"}', MessageGroupId="g",
                         MessageDeduplicationId="a")
    first = _receive(ctx.sqs, ctx.ordered_queue_url, visibility=60)
    clock.advance(61)
    second = _receive(ctx.sqs, ctx.ordered_queue_url, visibility=60)
    assert first and second
    assert delete_message(ctx, first) is False and set_visibility(ctx, first, 600) is None
    assert set_visibility(ctx, second, 12 * HOUR) == 12 * HOUR  # at the receive: the full 12 hours
    clock.advance(11.5 * HOUR)
    assert set_visibility(ctx, second, 2 * HOUR) == HOUR // 2  # 2 h, then 1 h refused; 30 min fits exactly
    assert [why for *_, why in layer.receipts.log.rejected_visibility] == ["superseded", "past 12 hours",
                                                                           "past 12 hours"]
    assert delete_message(ctx, second) is True
