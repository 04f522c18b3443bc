"""S3 "Object Created" events as the router receives them, and the dedup id of a file version.

Events reach the router as SQS message bodies holding an EventBridge event. The
classic S3 notification format (``Records[].s3``) is accepted too, for buckets
that already notify through SNS or SQS. A body that is not a usable event raises
``MalformedEvent`` with the reason, so the router can park it in the intake DLQ
instead of retrying it forever.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from landing_pipeline.runtime.contract import OBJECT_CREATED, S3_SOURCE


class MalformedEvent(ValueError):
    """The body is not an S3 object-created event this pipeline can process; ``reason`` says why."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class IgnoredEvent(Exception):
    """A well-formed event that carries no file to ingest (an S3 test event, another detail-type)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ObjectCreated:
    """One landed object version."""

    bucket: str
    key: str
    size: int | None
    etag: str
    version_id: str | None
    sequencer: str | None = None
    event_time: str | None = None

    @property
    def dedup_id(self) -> str:
        return dedup_id(self.bucket, self.key, self.version_id, self.etag)

    @property
    def is_folder_marker(self) -> bool:
        return self.key.endswith("/")

    @property
    def is_empty(self) -> bool:
        return self.size == 0


def dedup_id(bucket: str, key: str, version_id: str | None, etag: str) -> str:
    """A deterministic id for one upload: an S3 retry of it dedups, a re-upload of the key does not
    (it has a new version id, or on an unversioned bucket usually a new etag). SHA-256 hex, 64 chars,
    within SQS's 128-character MessageDeduplicationId limit."""
    material = "\x1f".join((bucket, key, version_id or "", etag.strip('"')))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def parse_message_body(body: str) -> list[ObjectCreated]:
    """The objects an SQS message body announces (one for EventBridge, one or more for S3 notifications)."""
    try:
        document = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"message body is not JSON ({exc})") from None
    if isinstance(document, dict) and isinstance(document.get("Message"), str) and "TopicArn" in document:
        return parse_message_body(document["Message"])  # wrapped by SNS
    return parse_event(document)


def parse_event(event: Any) -> list[ObjectCreated]:
    if not isinstance(event, dict):
        raise MalformedEvent(f"event is a {type(event).__name__}, not a JSON object")
    if "detail-type" in event or "detail" in event:
        return [_from_eventbridge(event)]
    if "Records" in event:
        return _from_s3_notification(event["Records"])
    if event.get("Event") == "s3:TestEvent":
        raise IgnoredEvent("S3 test event")
    raise MalformedEvent("neither an EventBridge event nor an S3 notification (no 'detail' or 'Records')")


def _from_eventbridge(event: dict[str, Any]) -> ObjectCreated:
    if event.get("source") != S3_SOURCE:
        raise MalformedEvent(f"event source is {event.get('source')!r}, expected {S3_SOURCE!r}")
    if event.get("detail-type") != OBJECT_CREATED:
        raise IgnoredEvent(f"detail-type {event.get('detail-type')!r} is not {OBJECT_CREATED!r}")
    detail = _mapping(event.get("detail"), "detail")
    bucket = _mapping(detail.get("bucket"), "detail.bucket")
    obj = _mapping(detail.get("object"), "detail.object")
    return ObjectCreated(
        bucket=_text(bucket.get("name"), "detail.bucket.name"),
        key=_text(obj.get("key"), "detail.object.key"),  # EventBridge delivers the key as stored: no decoding
        size=_size(obj.get("size"), "detail.object.size"),
        etag=str(obj.get("etag") or obj.get("eTag") or "").strip('"'),
        version_id=_optional_text(obj.get("version-id")),
        sequencer=_optional_text(obj.get("sequencer")),
        event_time=_optional_text(event.get("time")),
    )


def _from_s3_notification(records: Any) -> list[ObjectCreated]:
    if not isinstance(records, list) or not records:
        raise MalformedEvent("'Records' is empty or not a list")
    result = []
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        record = _mapping(record, where)
        name = str(record.get("eventName", ""))
        if not name.startswith("ObjectCreated:"):
            raise IgnoredEvent(f"{where}.eventName {name!r} is not an ObjectCreated event")
        s3 = _mapping(record.get("s3"), f"{where}.s3")
        bucket = _mapping(s3.get("bucket"), f"{where}.s3.bucket")
        obj = _mapping(s3.get("object"), f"{where}.s3.object")
        result.append(ObjectCreated(
            bucket=_text(bucket.get("name"), f"{where}.s3.bucket.name"),
            # S3 notifications URL-encode the key ('red flower.jpg' -> 'red+flower.jpg'): decode exactly once
            key=unquote_plus(_text(obj.get("key"), f"{where}.s3.object.key")),
            size=_size(obj.get("size"), f"{where}.s3.object.size"),
            etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'),
            version_id=_optional_text(obj.get("versionId")),
            sequencer=_optional_text(obj.get("sequencer")),
            event_time=_optional_text(record.get("eventTime")),
        ))
    return result


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvent(f"{where} is missing or not an object")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{where} is missing or empty")
    return value


def _optional_text(value: Any) -> str | None:
    return str(value) if value not in (None, "", "null") else None


def _size(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedEvent(f"{where} is not a number")
    try:
        size = int(value)
    except ValueError:
        raise MalformedEvent(f"{where} is not a number") from None
    if size < 0:
        raise MalformedEvent(f"{where} is negative")
    return size


def eventbridge_object_created(bucket: str, key: str, *, size: int, etag: str, version_id: str | None = None,
                               time: str = "2025-09-15T10:15:00Z", sequencer: str = "0") -> dict[str, Any]:
    """An EventBridge "Object Created" event as AWS emits it (for tests, the emulator and the simulator)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer}
    if version_id:
        obj["version-id"] = version_id
    return {
        "version": "0", "id": dedup_id(bucket, key, version_id, etag)[:36], "detail-type": OBJECT_CREATED,
        "source": S3_SOURCE, "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": obj, "reason": "PutObject"},
    }
