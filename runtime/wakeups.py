"""The two kinds of message v2 sends: a group's wake-up (ordered FIFO queue) and a dead file's announcement.

A wake-up says only "look at group G": the ledger holds the work, so a wake-up carries no file and a
duplicate or stale one finds nothing to do and is deleted. At most one is pending per group
(``wake_pending``), so a backfill of many files into one group is one message, not a queue head that starves
every other group. An announcement is one message per *death* of a file (dedup id ``<file id>-dead-<n>``),
so a file redriven and dead again within SQS's 5-minute dedup window is announced again (F5).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from landing_pipeline.runtime.group_state import wake_dedup_id
from landing_pipeline.runtime.grouping import to_message_group_id
from landing_pipeline.runtime.queues import FILE_ID_ATTRIBUTE, REASON_ATTRIBUTE

if TYPE_CHECKING:
    from landing_pipeline.runtime.context import RuntimeContext
    from landing_pipeline.runtime.decide import Announcement


class MalformedWakeUp(ValueError):
    """An ordered-queue body that is not a wake-up (nothing but this package should write one)."""


def wake_body(group: str) -> str:
    return json.dumps({"group": group}, ensure_ascii=False, separators=(",", ":"))


def parse_wake(body: str) -> str:
    try:
        document = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise MalformedWakeUp(f"body is not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("group"), str) or not document["group"]:
        raise MalformedWakeUp("body is not a wake-up (no 'group')")
    return str(document["group"])


def send_wake(ctx: RuntimeContext, group: str, dedup_id: str) -> None:
    ctx.sqs.send_message(QueueUrl=ctx.ordered_queue_url, MessageBody=wake_body(group),
                         MessageGroupId=to_message_group_id(group), MessageDeduplicationId=dedup_id)


def send_wake_for(ctx: RuntimeContext, group: str, version: int, seq: int) -> None:
    """The wake-up of the group item write that left it at ``version`` and ``seq``."""
    send_wake(ctx, group, wake_dedup_id(group, version, seq))


def announce(ctx: RuntimeContext, group: str, dead: Announcement) -> bool:
    """Put a death on the dead-files queue (the ordered DLQ where no dead-files queue is deployed)."""
    url = ctx.dead_files_queue_url or ctx.ordered_dlq_url
    if not url:
        return False
    body = json.dumps({"file_id": dead.file_id, "group": group, "death": dead.death, "reason": dead.reason[:2000]},
                      ensure_ascii=False, separators=(",", ":"))
    ctx.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=to_message_group_id(group),
                         MessageDeduplicationId=dead.dedup_id, MessageAttributes={
                             REASON_ATTRIBUTE: {"DataType": "String", "StringValue": dead.reason[:1000] or "DEAD"},
                             FILE_ID_ATTRIBUTE: {"DataType": "String", "StringValue": dead.file_id}})
    return True
