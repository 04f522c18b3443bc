"""What ``landing backfill`` does to S3, SQS and the ledger, one step at a time (no typer, no terminal).

A backfill sends each object already in the landing bucket through the real intake path: a message on the intake
queue (the one the stack's EventBridge rule targets) shaped exactly as EventBridge delivers S3's "Object Created"
event, so the router handles it unchanged: the same parser, grouping, dedup id and order key as a new upload.
EventBridge itself cannot carry it: PutEvents refuses a ``source`` beginning ``aws.`` (events of AWS services
come only from the services), so the event is put where EventBridge would have put it.

The event's ``time`` is the version's LastModified (when it landed), and ``version-id``, ``etag`` and ``size``
come from the listing, so the dedup id is the one S3's own event had: a version already processed, live or by an
earlier backfill, is recorded once by the ledger's conditional write and skipped (``Ledger.record_file``).
A listing has no ``sequencer``: the order key falls back to (landing second, key).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from landing_pipeline.runtime.contract import LEDGER_KEY, OBJECT_CREATED, POINTER_PK_PREFIX, S3_SOURCE
from landing_pipeline.runtime.errors import InputError, OperationalError
from landing_pipeline.runtime.events import ObjectCreated, dedup_id
from landing_pipeline.runtime.feeds import feed_of_key, unmatched_reason
from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key
from landing_pipeline.runtime.ledger_items import pointer_key
from landing_pipeline.runtime.router import ignore_reason
from landing_pipeline.runtime.spec import PipelineSpec

BATCH = 10
"""SendMessageBatch's limit: messages per call."""
SEND_TRIES = 5
"""Attempts of a batch's failed entries (SQS answers some entries with a throttling failure under load)."""
LEDGER_BATCH = 100
"""BatchGetItem's limit: keys per call."""
REQUESTER = "landing-backfill"
"""The event's ``detail.requester``: a reader of the intake DLQ or the logs can tell a backfilled event."""


class BackfillError(OperationalError):
    """AWS refused part of a backfill (a batch that kept failing); the message says what was sent."""


@dataclass(frozen=True)
class Listed:
    """One current object version of the landing bucket, as a listing gives it."""

    key: str
    version_id: str | None
    etag: str
    size: int
    modified: float
    """LastModified, Unix seconds: when this version landed."""

    def file_id(self, bucket: str) -> str:
        return dedup_id(bucket, self.key, self.version_id, self.etag)


def list_current(s3: Any, bucket: str, prefix: str, *, after: str | None = None,
                 on_item: Callable[[int], None] | None = None) -> Iterator[Listed]:
    """The latest version of each key under ``prefix`` in key order (ListObjectVersions), from after ``after``.

    ListObjectVersions rather than ListObjectsV2, which gives no version id: without it the dedup id would differ
    from the one S3's own event gave the same version on a versioned bucket, and the ledger would take it again.
    A key whose latest version is a delete marker is gone and not listed; on an unversioned bucket the id
    ``"null"`` means none, as S3's events say. Older versions of a key are not backfilled."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if after:
        kwargs["KeyMarker"] = after
    count = 0
    for page in s3.get_paginator("list_object_versions").paginate(**kwargs):
        for version in page.get("Versions") or []:
            if not version.get("IsLatest"):
                continue
            stamp = version["LastModified"]
            modified = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)
            raw_id = version.get("VersionId")
            count += 1
            if on_item is not None:
                on_item(count)
            yield Listed(key=version["Key"], version_id=None if raw_id in (None, "", "null") else str(raw_id),
                         etag=str(version.get("ETag") or "").strip('"'), size=int(version.get("Size") or 0),
                         modified=float(modified))


@dataclass
class Selection:
    """What a listing holds for the pipeline: the files to submit and, by reason, the objects left out."""

    files: list[Listed] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    outside_window: int = 0


def select(spec: PipelineSpec, bucket: str, listed: Iterable[Listed], *, since: float | None = None,
           until: float | None = None) -> Selection:
    """The objects the intake rule would deliver and the router would take, landed within [since, until].

    The filters are the router's own (``ignore_reason``: keyPrefix, keySuffixes, which the intake rule's
    pattern also applies, then folder markers and zero-byte objects), so a backfill leaves out what a live
    upload would never have brought in. Keys the grouping rule or ``unmatchedFiles: reject`` refuses are kept:
    the router parks them in the intake DLQ with the reason, as it does for a live upload."""
    chosen = Selection()
    for item in listed:
        if (since is not None and item.modified < since) or (until is not None and item.modified > until):
            chosen.outside_window += 1
            continue
        reason = ignore_reason(spec, ObjectCreated(bucket, item.key, item.size, item.etag, item.version_id))
        if reason is not None:
            chosen.skipped[_skip_label(reason)] += 1
            continue
        chosen.files.append(item)
    return chosen


def _skip_label(reason: str) -> str:
    if reason.startswith(("key is outside", "key does not end")):
        return f"the intake rule would not deliver it: {reason}"
    return f"the router ignores it: {reason}"


@dataclass
class Shape:
    """Groups and feeds of the selected files, as the router will see them."""

    groups: Counter[str] = field(default_factory=Counter)
    feeds: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    """Reason -> files the router will park in the intake DLQ (ungroupable, or no feed under reject)."""


NO_FEED = "(no feed: stack-wide settings)"


def shape_of(spec: PipelineSpec, files: Iterable[Listed]) -> Shape:
    shape = Shape()
    for item in files:
        try:
            group = group_for_key(item.key, spec)
        except UngroupableKey as exc:
            shape.refused[f"ungroupable: {exc.reason}"] += 1
            continue
        unmatched = unmatched_reason(spec.feeds, spec.unmatched_files, group, item.key)
        if unmatched is not None:
            shape.refused[unmatched] += 1
            continue
        shape.groups[group] += 1
        feed = feed_of_key(spec.feeds, group, item.key)
        shape.feeds[feed.name if feed is not None else NO_FEED] += 1
    return shape


def iso_time(epoch: float) -> str:
    """EventBridge's ``time``: ISO 8601 in whole seconds, UTC (what S3's events carry)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(bucket: str, item: Listed, *, region: str, account: str) -> str:
    """The intake message for ``item``: the EventBridge event S3 sends for a new object, as the rule's SQS target
    receives it (the event itself is the body), without a ``sequencer`` (a listing has none)."""
    obj: dict[str, Any] = {"key": item.key, "size": item.size, "etag": item.etag}
    if item.version_id:
        obj["version-id"] = item.version_id
    file_id = item.file_id(bucket)
    event = {"version": "0", "id": f"{file_id[:8]}-{file_id[8:12]}-{file_id[12:16]}-{file_id[16:20]}-{file_id[20:32]}",
             "detail-type": OBJECT_CREATED, "source": S3_SOURCE, "account": account, "time": iso_time(item.modified),
             "region": region, "resources": [f"arn:aws:s3:::{bucket}"],
             "detail": {"version": "0", "bucket": {"name": bucket}, "object": obj, "requester": REQUESTER,
                        "reason": "PutObject"}}
    return json.dumps(event, separators=(",", ":"))


def send_batch(sqs: Any, queue_url: str, bodies: list[str], pause_s: float = 0.2) -> None:
    """Send up to ``BATCH`` bodies in one SendMessageBatch, retrying the entries SQS failed; a batch that still
    fails raises ``BackfillError`` (the caller's checkpoint is not advanced past it)."""
    if len(bodies) > BATCH:
        raise ValueError(f"at most {BATCH} messages per batch")
    pending = {str(index): body for index, body in enumerate(bodies)}
    for attempt in range(SEND_TRIES):
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": index, "MessageBody": body} for index, body in pending.items()])
        failed = response.get("Failed") or []
        pending = {entry["Id"]: pending[entry["Id"]] for entry in failed if entry["Id"] in pending}
        if not pending:
            return
        if any(entry.get("SenderFault") for entry in failed):
            break
        time.sleep(pause_s * (attempt + 1))
    reasons = sorted({f"{e.get('Code')}: {e.get('Message')}" for e in failed})
    raise BackfillError(f"SQS refused {len(pending)} message(s) of a batch after {SEND_TRIES} tries "
                        f"({'; '.join(reasons)}); nothing after the last checkpoint was recorded as sent: run the "
                        "same command again to continue")


def known_files(dynamodb: Any, table: str, file_ids: list[str]) -> set[str]:
    """The ids among ``file_ids`` the ledger already holds (their pointer items; BatchGetItem, 100 at a time):
    the versions the router will find recorded and skip."""
    found: set[str] = set()
    for start in range(0, len(file_ids), LEDGER_BATCH):
        request: dict[str, Any] = {table: {"Keys": [pointer_key(f) for f in file_ids[start:start + LEDGER_BATCH]],
                                           "ConsistentRead": True, "ProjectionExpression": LEDGER_KEY}}
        for _ in range(20):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                found.add(item[LEDGER_KEY]["S"].removeprefix(POINTER_PK_PREFIX))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.1)
    return found


def intake_queue_of(events: Any, sqs: Any, bucket: str) -> str:
    """The URL of the SQS queue the stack's rule for ``bucket``'s Object Created events targets: where
    EventBridge delivers them (found when no --intake-queue-url or stack output names it)."""
    targets: list[str] = []
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules") or []:
            pattern = rule.get("EventPattern") or ""
            if S3_SOURCE not in pattern or OBJECT_CREATED not in pattern or f'"{bucket}"' not in pattern:
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets") or []:
                if target["Arn"].startswith("arn:aws:sqs:"):
                    targets.append(target["Arn"])
    if len(set(targets)) != 1:
        found = "no EventBridge rule sends this bucket's Object Created events to a queue" if not targets else \
            f"several queues get them ({', '.join(sorted(set(targets)))})"
        raise InputError(f"cannot tell the intake queue of bucket {bucket!r}: {found}. Fix: pass --intake-queue-url "
                         "(stack output intake_queue_url) or --outputs")
    _, _, _, _, account, name = targets[0].split(":", 5)
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def account_of(queue_url: str) -> str:
    """The account id in an SQS queue URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""
    parts = queue_url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else "000000000000"
