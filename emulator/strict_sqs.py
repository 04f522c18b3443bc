"""SQS as AWS runs it where moto is lenient: FIFO deduplication and message retention, on the pipeline clock.

- **Deduplication is a 5-minute window per deduplication id** (per queue, or per message group with
  ``DeduplicationScope: messageGroup``) that starts at the first accepted send and outlives the message: a
  second send with the same id within 5 minutes is answered as a success and dropped, even when the first
  message was already received and deleted. moto only compares against messages it still stores.
- **A message older than the queue's retention period is deleted**, without going to any DLQ. moto instead
  leaves an expired message in flight (and stops the receive there).

Both wrap moto's SQS backend, so every sender is covered (handlers, EventBridge targets, redrives).
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections import deque
from typing import Any

from landing_pipeline.emulator.strict_requests import body_key

DEDUPLICATION_WINDOW_S = 300.0


class StrictSQS:
    """Installs both behaviours on moto's SQS backend; ``dropped`` and ``expired`` say what they did."""

    def __init__(self, aws: Any):
        from moto.sqs.models import sqs_backends

        self.aws = aws
        self.backend = sqs_backends[aws.account_id][aws.region]
        self._first_send: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._order: deque[tuple[float, tuple[str, str, str]]] = deque()
        self._lock = threading.Lock()
        self.dropped: list[tuple[float, str, str]] = []
        """(pipeline time, queue, deduplication id) of every send the window dropped."""
        self.expired: list[tuple[float, str, str | None]] = []
        """(pipeline time, queue, the file key its body names) of every message retention deleted."""

    def install(self) -> None:
        send, receive = self.backend.send_message, self.backend.receive_message
        signature = inspect.signature(type(self.backend).send_message)  # moto's, under any earlier wrapper

        def send_message(*args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(self.backend, *args, **kwargs).arguments
            return self._send(send, args, kwargs, arguments)

        def receive_message(queue_name: str, *args: Any, **kwargs: Any) -> Any:
            self.expire(queue_name)
            return receive(queue_name, *args, **kwargs)

        self.backend.send_message = send_message  # type: ignore[method-assign]
        self.backend.receive_message = receive_message  # type: ignore[method-assign]

    # -- deduplication --------------------------------------------------------------------------------
    def _send(self, send: Any, args: tuple[Any, ...], kwargs: dict[str, Any], arguments: dict[str, Any]) -> Any:
        queue = self.backend.get_queue(arguments["queue_name"])
        if not queue.fifo_queue:
            return send(*args, **kwargs)
        body = str(arguments["message_body"])
        dedup = arguments.get("deduplication_id")
        if dedup is None and queue.attributes.get("ContentBasedDeduplication") == "true":
            dedup = hashlib.sha256(body.encode("utf-8")).hexdigest()
        if dedup is None:
            return send(*args, **kwargs)  # moto raises what SQS raises
        scope = str(arguments.get("group_id") or "") if queue.attributes.get(
            "DeduplicationScope") == "messageGroup" else ""
        window_key = (queue.name, scope, str(dedup))
        now = self.aws.clock.now()
        with self._lock:
            self._forget_before(now - DEDUPLICATION_WINDOW_S)
            first = self._first_send.get(window_key)
        if first is not None:
            self.dropped.append((now, queue.name, str(dedup)))
            return first[1]  # accepted, not enqueued: the answer names the first message
        message = send(*args, **kwargs)
        with self._lock:
            self._first_send[window_key] = (now, message)
            self._order.append((now, window_key))
        return message

    def _forget_before(self, cutoff: float) -> None:
        while self._order and self._order[0][0] <= cutoff:
            at, key = self._order.popleft()
            if self._first_send.get(key, (None,))[0] == at:
                del self._first_send[key]

    # -- retention ------------------------------------------------------------------------------------
    def expire(self, queue_name: str) -> None:
        """Delete the queue's messages older than its retention period (they go to no DLQ)."""
        queue = self.backend.queues.get(queue_name)
        if queue is None:
            return
        retention_ms = float(queue.attributes["MessageRetentionPeriod"]) * 1000.0
        now_ms = self.aws.clock.epoch() * 1000.0
        with queue._messages_lock:
            old = [m for m in queue._messages if (m.sent_timestamp or 0) + retention_ms <= now_ms]
            if not old:
                return
            queue._messages = [m for m in queue._messages if m not in old]
            queue.pending_messages.difference_update(old)
        for message in old:
            self.expired.append((self.aws.clock.now(), queue_name, body_key(message.body)))
