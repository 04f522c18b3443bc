"""Strict SQS: FIFO deduplication is a 5-minute window that outlives the message; retention deletes
messages (no DLQ). Each test fails on moto alone (``StrictSQS`` not installed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.strict_sqs import StrictSQS
from tests.emulator.strict_support import ManualClock


@pytest.fixture
def aws() -> Iterator[tuple[InProcessAWS, ManualClock, StrictSQS]]:
    clock = ManualClock()
    with InProcessAWS("eu-west-1", clock) as aws:
        strict = StrictSQS(aws)
        strict.install()
        yield aws, clock, strict


def _fifo(sqs: Any, name: str = "q.fifo", **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"])


def _drain(sqs: Any, url: str) -> list[str]:
    bodies = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []:
        bodies.append(message["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_a_send_with_the_same_dedup_id_after_delete_within_five_minutes_is_dropped(
        aws: tuple[InProcessAWS, ManualClock, StrictSQS]) -> None:
    service, clock, strict = aws
    sqs = service.client("sqs")
    url = _fifo(sqs)
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d")
    assert _drain(sqs, url) == ["one"]  # received and deleted: moto has nothing left to compare with
    clock.advance(299)
    again = sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="d")
    assert again["MessageId"] == first["MessageId"]  # accepted, answered as the first one
    assert _drain(sqs, url) == []
    assert [d[2] for d in strict.dropped] == ["d"]
    clock.advance(2)  # the window is counted from the first send, not the dropped one
    sqs.send_message(QueueUrl=url, MessageBody="three", MessageGroupId="g", MessageDeduplicationId="d")
    assert _drain(sqs, url) == ["three"]


def test_content_based_dedup_and_message_group_scope(aws: tuple[InProcessAWS, ManualClock, StrictSQS]) -> None:
    service, _clock, _ = aws
    sqs = service.client("sqs")
    content = _fifo(sqs, "content.fifo", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")
    _drain(sqs, content)
    sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")
    assert _drain(sqs, content) == []
    scoped = _fifo(sqs, "scoped.fifo", DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    delivered = []
    for group in ("a", "b", "a"):  # drained in between: moto's own check compares stored messages only
        sqs.send_message(QueueUrl=scoped, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="d")
        delivered += _drain(sqs, scoped)
    assert delivered == ["a", "b"]


def test_a_message_older_than_the_retention_period_is_deleted_without_going_to_the_dlq(
        aws: tuple[InProcessAWS, ManualClock, StrictSQS]) -> None:
    service, clock, strict = aws
    sqs = service.client("sqs")
    dlq = _fifo(sqs, "dlq.fifo")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _fifo(sqs, "work.fifo", MessageRetentionPeriod="60",
                RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"key": "landing/a.csv"}), MessageGroupId="g",
                     MessageDeduplicationId="a")
    clock.advance(61)
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert _drain(sqs, dlq) == []
    assert [(q, key) for _, q, key in strict.expired] == [("work.fifo", "landing/a.csv")]
