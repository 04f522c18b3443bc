"""What the strict layer needs to know about one AWS request: its operation, its parameters, whether a
handler sent it, and which landed file it is about (so a ``--fault`` GLOB can pick it).

Glue, DynamoDB and SQS speak AWS's JSON protocol (the operation is in ``X-Amz-Target``, the parameters are
the JSON body); S3 speaks REST and is only ever counted, never parsed.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from landing_pipeline.emulator.aws import HANDLER_AGENT
from landing_pipeline.runtime.contract import LEDGER_KEY, SOURCE_KEY_ARG


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name) or ""
    return value.decode() if isinstance(value, bytes) else str(value)


def operation(request: Any) -> str:
    """``StartJobRun``, ``SendMessage``, ``PutItem`` ...; ``S3 GET`` etc. for REST requests."""
    target = _header(request, "X-Amz-Target")
    return target.rsplit(".", 1)[-1] if target else f"S3 {request.method}"


def parameters(request: Any) -> dict[str, Any]:
    body = request.body
    if not body or not _header(request, "X-Amz-Target"):
        return {}
    try:
        document = json.loads(body.decode() if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


def from_handler(request: Any) -> bool:
    return HANDLER_AGENT in _header(request, "User-Agent")


def body_key(body: str) -> str | None:
    """The object key a message body names: an ordered-queue message's ``key``, or an S3 event's object key."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("key"), str):
        return str(document["key"])
    detail = document.get("detail")
    obj = detail.get("object") if isinstance(detail, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    return key if isinstance(key, str) else None


class FileKeys:
    """Finds the landed file a request is about. Ledger items name their key only when first put, so the
    ``pk`` -> key pairs of every PutItem are remembered; a receipt handle is looked up in moto's queue."""

    def __init__(self, aws: Any):
        self.aws = aws
        self._by_pk: dict[str, str] = {}
        self._lock = threading.Lock()

    def learn(self, op: str, params: dict[str, Any]) -> None:
        items = [params.get("Item")] if op == "PutItem" else [
            (entry.get("Put") or {}).get("Item") for entry in params.get("TransactItems") or []]
        for item in items:
            if isinstance(item, dict) and "key" in item and LEDGER_KEY in item:
                with self._lock:
                    self._by_pk[str(item[LEDGER_KEY].get("S"))] = str(item["key"].get("S"))

    def key_of(self, op: str, params: dict[str, Any]) -> str | None:
        if op == "StartJobRun":
            return (params.get("Arguments") or {}).get(SOURCE_KEY_ARG)
        if op == "SendMessage":
            return body_key(str(params.get("MessageBody", "")))
        if op in ("DeleteMessage", "ChangeMessageVisibility"):
            return self._message_key(str(params.get("QueueUrl", "")), str(params.get("ReceiptHandle", "")))
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            return self._item_key(params.get("Item") or params.get("Key") or {})
        if op == "TransactWriteItems":
            for entry in params.get("TransactItems") or []:
                for action in entry.values():
                    key = self._item_key(action.get("Item") or action.get("Key") or {})
                    if key:
                        return key
        return None

    def _item_key(self, item: dict[str, Any]) -> str | None:
        if "key" in item:
            return str(item["key"].get("S"))
        pk = (item.get(LEDGER_KEY) or {}).get("S")
        with self._lock:
            return self._by_pk.get(str(pk)) if pk else None

    def _message_key(self, queue_url: str, handle: str) -> str | None:
        from moto.sqs.models import sqs_backends

        with self.aws.lock:
            queue = sqs_backends[self.aws.account_id][self.aws.region].queues.get(queue_url.rsplit("/", 1)[-1])
            for message in list(queue._messages) if queue is not None else []:
                if message.had_receipt_handle(handle):
                    return body_key(message.body)
        return None
