"""Strict S3 events: a file's Object Created event delayed (a later file is announced first) and repeated
after SQS's 5-minute deduplication window, through the deployed bucket, rule and intake queue. moto
delivers each put's event inside the put, in order, once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.strict_events import LateS3Events
from tests.emulator.strict_support import deployed, wait_for


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    yield from deployed(speedup=200.0)


def test_a_delayed_event_is_overtaken_and_a_repeated_one_arrives_again_after_five_minutes(
        stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    late = LateS3Events(aws, FaultPlan.parse(["delay-event:orders_1.csv:30", "repeat-event:orders_2.csv"]))
    late.install()
    try:
        s3, sqs = aws.client("s3"), aws.client("sqs")
        prefix = deployment.spec.key_prefix
        for name in ("orders_1.csv", "orders_2.csv"):
            s3.put_object(Bucket=deployment.landing_bucket, Key=prefix + name, Body=b"id\n1\n")
        arrivals: list[tuple[float, str]] = []

        def receive() -> bool:
            for message in sqs.receive_message(QueueUrl=deployment.queues["intake"],
                                               MaxNumberOfMessages=10).get("Messages") or []:
                detail = json.loads(message["Body"]).get("detail") or {}
                if "object" in detail:
                    arrivals.append((aws.clock.now(), detail["object"]["key"].rsplit("/", 1)[-1]))
                sqs.delete_message(QueueUrl=deployment.queues["intake"], ReceiptHandle=message["ReceiptHandle"])
            return len(arrivals) >= 3

        assert wait_for(receive, wall_s=15), (arrivals, late.log)
        assert [name for _, name in arrivals] == ["orders_2.csv", "orders_1.csv", "orders_2.csv"]
        assert arrivals[1][0] >= 30 and arrivals[2][0] >= 360  # the repeat comes past the 5-minute window
        assert late.pending == 0
    finally:
        late.uninstall()


@pytest.mark.parametrize("deleted_first", [False, True], ids=["kept", "deleted-before-processing"])
def test_a_repeated_s3_event_carries_the_objects_creation_time_not_the_repeats(
        stack: tuple[InProcessAWS, Deployment], deleted_first: bool) -> None:
    """``duplicate-event`` repeats S3's event, so its ``time`` (the order ``landing_time`` sorts by) is the
    object's. With PutEvents' default, the wall clock, the repeat of a file that landed at pipeline second 100
    said it landed near second 0; when the router recorded the repeat first, the file ran before files of its
    group that landed earlier (chaos seed 9 in CI). The same when the object is deleted before it is processed:
    the repeat still carries the time of the put it repeats (chaos seed 302 in a 500-seed sweep)."""
    from types import SimpleNamespace

    from landing_pipeline.emulator.pipeline import _landing_faults
    from landing_pipeline.emulator.s3_event_time import S3EventTime

    aws, deployment = stack
    event_time = S3EventTime(aws.clock)
    event_time.install()
    try:
        aws.clock.sleep(100)  # pipeline time runs 200x the wall's: a wall-clock stamp would be ~99 s early
        s3, sqs, events = aws.client("s3"), aws.client("sqs"), aws.client("events")
        key = deployment.spec.key_prefix + "orders_20250915_101500.csv"
        put = s3.put_object(Bucket=deployment.landing_bucket, Key=key, Body=b"id\n1\n")
        faults = ["duplicate-event:orders_*"] + (["delete-before-processing:orders_*"] if deleted_first else [])
        running = SimpleNamespace(deployment=deployment, aws=aws, event_time=event_time, faults=FaultPlan.parse(faults))
        _landing_faults(running, s3, events, key, put.get("VersionId"), put["ETag"].strip('"'), 5)  # type: ignore[arg-type]
        times: list[str] = []

        def receive() -> bool:
            for message in sqs.receive_message(QueueUrl=deployment.queues["intake"],
                                               MaxNumberOfMessages=10).get("Messages") or []:
                times.append(json.loads(message["Body"])["time"])
                sqs.delete_message(QueueUrl=deployment.queues["intake"], ReceiptHandle=message["ReceiptHandle"])
            return len(times) >= 2

        assert wait_for(receive, wall_s=15), times
        assert len(set(times)) == 1, f"the original and its repeat disagree on when the file landed: {times}"
    finally:
        event_time.uninstall()
