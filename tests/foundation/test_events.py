"""Parsing S3 object-created events as the router receives them, and the dedup id."""

from __future__ import annotations

import json

import pytest

from landing_pipeline.runtime.events import (
    IgnoredEvent,
    MalformedEvent,
    dedup_id,
    eventbridge_object_created,
    parse_message_body,
)


def body(event: object) -> str:
    return json.dumps(event)


def test_eventbridge_event_as_aws_sends_it() -> None:
    event = eventbridge_object_created("landing", "in/orders_20250915_101500.csv", size=120, etag='"abc"',
                                       version_id="v1", time="2025-09-15T10:15:00Z", sequencer="0062")
    (record,) = parse_message_body(body(event))
    assert (record.bucket, record.key, record.size, record.etag) == ("landing", "in/orders_20250915_101500.csv",
                                                                      120, "abc")
    assert (record.version_id, record.sequencer, record.event_time) == ("v1", "0062", "2025-09-15T10:15:00Z")
    assert record.dedup_id == dedup_id("landing", "in/orders_20250915_101500.csv", "v1", "abc")


def test_moto_spelling_of_etag_and_missing_optional_fields() -> None:
    event = eventbridge_object_created("b", "k.csv", size=1, etag="e")
    obj = event["detail"]["object"]
    obj["eTag"] = obj.pop("etag")
    del obj["sequencer"]
    (record,) = parse_message_body(body(event))
    assert record.etag == "e" and record.version_id is None and record.sequencer is None


def test_eventbridge_keys_are_not_decoded() -> None:
    event = eventbridge_object_created("b", "in/a+b%20c.csv", size=1, etag="e")
    assert parse_message_body(body(event))[0].key == "in/a+b%20c.csv"


def test_s3_notification_keys_are_decoded_exactly_once() -> None:
    notification = {"Records": [{"eventName": "ObjectCreated:Put", "eventTime": "2025-09-15T10:15:00Z",
                                 "s3": {"bucket": {"name": "b"},
                                        "object": {"key": "in/red+flower%2525.jpg", "size": 3, "eTag": "e",
                                                   "versionId": "v"}}}]}
    (record,) = parse_message_body(body(notification))
    assert record.key == "in/red flower%25.jpg"


def test_sns_wrapped_notification() -> None:
    inner = {"Records": [{"eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "size": 3, "eTag": "e"}}}]}
    wrapped = {"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": json.dumps(inner)}
    assert parse_message_body(body(wrapped))[0].key == "k"


@pytest.mark.parametrize(("payload", "reason"), [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"hello": 1}', "neither an EventBridge event"),
    (body({"source": "aws.ec2", "detail-type": "Object Created", "detail": {}}), "expected 'aws.s3'"),
    (body({"source": "aws.s3", "detail-type": "Object Created"}), "detail is missing"),
    (body({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}}),
     "detail.object is missing"),
    (body({"source": "aws.s3", "detail-type": "Object Created",
           "detail": {"bucket": {"name": "b"}, "object": {"key": ""}}}), "detail.object.key is missing or empty"),
    (body({"source": "aws.s3", "detail-type": "Object Created",
           "detail": {"bucket": {"name": "b"}, "object": {"key": "k", "size": "big"}}}), "size is not a number"),
    (body({"source": "aws.s3", "detail-type": "Object Created",
           "detail": {"bucket": {"name": "b"}, "object": {"key": "k", "size": -1}}}), "negative"),
    (body({"Records": []}), "empty"),
])
def test_malformed_events_carry_a_specific_reason(payload: str, reason: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_message_body(payload)
    assert reason in caught.value.reason


@pytest.mark.parametrize("payload", [
    body({"Event": "s3:TestEvent", "Bucket": "b"}),
    body({"source": "aws.s3", "detail-type": "Object Tags Added", "detail": {}}),
    body({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {}}]}),
])
def test_events_without_a_new_file_are_ignored_not_failed(payload: str) -> None:
    with pytest.raises(IgnoredEvent):
        parse_message_body(payload)


def test_dedup_id_is_stable_and_distinguishes_uploads() -> None:
    first = dedup_id("b", "k", "v1", '"etag"')
    assert first == dedup_id("b", "k", "v1", "etag")  # an S3 retry of the same upload
    assert first != dedup_id("b", "k", "v2", "etag")  # a re-upload of the key is a new file
    assert first != dedup_id("b", "k2", "v1", "etag")
    assert first != dedup_id("b2", "k", "v1", "etag")
    assert len(first) == 64 and all(c in "0123456789abcdef" for c in first)


def test_dedup_id_fields_cannot_run_together() -> None:
    assert dedup_id("b", "ab", None, "c") != dedup_id("b", "a", "b", "c")


def test_folder_markers_and_empty_objects_are_recognised() -> None:
    (marker,) = parse_message_body(body(eventbridge_object_created("b", "in/", size=0, etag="e")))
    assert marker.is_folder_marker and marker.is_empty
