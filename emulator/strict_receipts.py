"""Receipt handles as SQS issues them: one per receive, superseded by the next, expired with the visibility.

moto remembers every handle a message ever had and accepts any of them, for as long as the message exists,
and counts the 12-hour visibility limit from the *send*. AWS, as its documentation says:

- **Every receive issues a new handle.** DeleteMessage with an older handle of a message received again since
  "will still succeed, but the message might not be deleted": here, on a standard queue, it answers success
  and deletes nothing ([DeleteMessage]).
- **A FIFO queue rejects an expired handle** (its visibility timeout has passed, whether or not the message
  was received again): DeleteMessage answers ``InvalidParameterValue`` "The receipt handle has expired", a
  DeleteMessageBatch entry fails with it ([Knowledge Center, sqs-receipt-handle-error]; on standard queues an
  old handle "might succeed"). A handle a FIFO queue superseded has always expired first, so on a FIFO queue a
  stale delete fails rather than silently doing nothing.
- **ChangeMessageVisibility with a superseded handle fails** (``InvalidParameterValue``, "Message does not
  exist or is not available for visibility timeout change"), and on a FIFO queue with an expired one too
  ("any attempt to change the visibility timeout or to delete that message" after it "might result in an
  error", [ChangeMessageVisibility]).
- **The 12-hour limit is counted from the receive that issued the handle**: "The maximum visibility timeout is
  12 hours from the time that Amazon SQS receives the ReceiveMessage request. Extending the visibility timeout
  does not reset the 12-hour maximum" ([visibility timeout]); beyond it ``InvalidParameterValue`` "Total
  VisibilityTimeout for the message is beyond the limit [43200 seconds]".

All on the pipeline clock, around moto's SQS backend (so Lambda's poller deletes are held to it too).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.emulator.strict_requests import body_key

MAX_VISIBILITY_FROM_RECEIVE_S = 43200
EXPIRED = "The receipt handle has expired."
NOT_AVAILABLE = "Message does not exist or is not available for visibility timeout change."


@dataclass
class _Receipt:
    queue: str
    message_id: str
    received_ms: float
    visible_until_ms: float
    body: str

    @property
    def key(self) -> str | None:
        """The file the message names (parsed only when something is logged: receives are the hot path)."""
        return body_key(self.body)


@dataclass
class ReceiptLog:
    """What the handles did, for tests and reports: (pipeline time, queue, file key) per event."""

    ignored_deletes: list[tuple[float, str, str | None]] = field(default_factory=list)
    """Deletes answered as a success that deleted nothing (a superseded handle, standard queue)."""
    rejected_deletes: list[tuple[float, str, str | None]] = field(default_factory=list)
    """Deletes refused: the handle had expired (FIFO queue)."""
    rejected_visibility: list[tuple[float, str, str | None, str]] = field(default_factory=list)
    """ChangeMessageVisibility calls refused, with why: superseded, expired or past 12 hours."""


class StrictReceipts:
    """Installs the receipt-handle rules on moto's SQS backend (outside ``StrictSQS``'s and the emulator's
    own wrappers); ``log`` says what they did."""

    def __init__(self, aws: Any):
        from moto.sqs.models import sqs_backends

        self.aws = aws
        self.backend = sqs_backends[aws.account_id][aws.region]
        self.log = ReceiptLog()
        self._receipts: dict[str, _Receipt] = {}
        self._current: dict[tuple[str, str], str] = {}
        """(queue, message id) -> the handle of its latest receive."""
        self._handles_of: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        backend = self.backend
        receive, delete, delete_batch = backend.receive_message, backend.delete_message, backend.delete_message_batch
        change, change_batch = backend.change_message_visibility, backend.change_message_visibility_batch

        def receive_message(queue_name: str, *args: Any, **kwargs: Any) -> Any:
            messages = receive(queue_name, *args, **kwargs)
            self._received(queue_name, messages)
            return messages

        def delete_message(queue_name: str, receipt_handle: str) -> None:
            if self._check_delete(queue_name, receipt_handle):
                delete(queue_name, receipt_handle)
                self._forget(queue_name, receipt_handle)

        def delete_message_batch(queue_name: str, receipts: list[dict[str, Any]]) -> Any:
            return self._delete_batch(queue_name, receipts, delete_batch)

        def change_message_visibility(queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
            self._change(queue_name, receipt_handle, int(visibility_timeout), change)

        def change_message_visibility_batch(queue_name: str, entries: list[dict[str, Any]]) -> Any:
            return self._change_batch(queue_name, entries, change_batch)

        backend.receive_message = receive_message  # type: ignore[method-assign]
        backend.delete_message = delete_message  # type: ignore[method-assign]
        backend.delete_message_batch = delete_message_batch  # type: ignore[method-assign]
        backend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
        backend.change_message_visibility_batch = change_message_visibility_batch  # type: ignore[method-assign]

    def redeliver(self, queue_name: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``messages`` (as a receive answered them) delivered again.

        A standard queue delivers a message at least once: the duplicate is the message received a second
        time, so it gets a new receipt handle (the first consumer's is superseded: its delete then deletes
        nothing), a new visibility timeout and a higher ApproximateReceiveCount. A FIFO queue never hands an
        in-flight message to a second receive; its duplicate is the event source mapping invoking the function
        twice with one batch, with the same handles, so those are returned as they were. A message deleted
        meanwhile is handed over as it was, too."""
        if self._fifo(queue_name):
            return messages
        with self.aws.lock:
            queue = self.backend.queues.get(queue_name)
            if queue is None:
                return messages
            stored = {str(m.id): m for m in queue._messages}
            visibility = int(getattr(queue, "visibility_timeout", 30))  # moto sets it from the queue's attributes
            again: list[dict[str, Any]] = []
            for message in messages:
                original = stored.get(str(message.get("MessageId")))
                if original is None:
                    again.append(message)
                    continue
                original.mark_received(visibility_timeout=visibility)
                self._received(queue_name, [original])
                attributes = {**message.get("Attributes", {}),
                              "ApproximateReceiveCount": str(original.approximate_receive_count)}
                again.append({**message, "ReceiptHandle": original.receipt_handle, "Attributes": attributes})
        return again

    # -- bookkeeping ----------------------------------------------------------------------------------
    def _now_ms(self) -> float:
        return float(self.aws.clock.epoch()) * 1000.0

    def _received(self, queue_name: str, messages: list[Any]) -> None:
        now = self._now_ms()
        with self._lock:
            for message in messages:  # moto's copies, taken right after the receive marked the original
                handle = str(message.receipt_handle)
                slot = (queue_name, str(message.id))
                self._receipts[handle] = _Receipt(queue_name, str(message.id), now, float(message.visible_at),
                                                  str(message.body))
                self._current[slot] = handle
                self._handles_of.setdefault(slot, []).append(handle)

    def _forget(self, queue_name: str, handle: str) -> None:
        with self._lock:
            receipt = self._receipts.get(handle)
            if receipt is None:
                return
            slot = (queue_name, receipt.message_id)
            for old in self._handles_of.pop(slot, []):
                self._receipts.pop(old, None)
            self._current.pop(slot, None)

    def _state(self, queue_name: str, handle: str) -> tuple[_Receipt | None, bool, bool]:
        """(the handle's receipt, superseded, expired); (None, False, False) for a handle never seen here."""
        with self._lock:
            receipt = self._receipts.get(handle)
            if receipt is None or receipt.queue != queue_name:
                return None, False, False
            superseded = self._current.get((queue_name, receipt.message_id)) != handle
        expired = superseded or self._now_ms() > receipt.visible_until_ms
        return receipt, superseded, expired

    def _fifo(self, queue_name: str) -> bool:
        queue = self.backend.queues.get(queue_name)
        return bool(queue is not None and queue.fifo_queue)

    # -- DeleteMessage ----------------------------------------------------------------------------------
    def _check_delete(self, queue_name: str, handle: str) -> bool:
        """Whether moto should delete; raises as SQS does for an expired handle on a FIFO queue."""
        from moto.sqs.exceptions import InvalidParameterValue

        receipt, superseded, expired = self._state(queue_name, handle)
        if receipt is None:
            return True
        now = self.aws.clock.now()
        if self._fifo(queue_name) and expired:
            self.log.rejected_deletes.append((now, queue_name, receipt.key))
            raise InvalidParameterValue(f"Value {handle} for parameter ReceiptHandle is invalid. Reason: {EXPIRED}")
        if superseded:
            self.log.ignored_deletes.append((now, queue_name, receipt.key))
            return False
        return True

    def _delete_batch(self, queue_name: str, receipts: list[dict[str, Any]], delete_batch: Any) -> Any:
        from moto.sqs.exceptions import InvalidParameterValue

        success: list[str] = []
        failed: list[dict[str, Any]] = []
        passed: list[dict[str, Any]] = []
        for entry in receipts:
            try:
                deletes = self._check_delete(queue_name, entry["ReceiptHandle"])
            except InvalidParameterValue:  # a batch entry fails with this code and message
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                               "Message": EXPIRED.rstrip(".")})
                continue
            if deletes:
                passed.append(entry)
            else:
                success.append(entry["Id"])  # a superseded handle: "succeeds", deletes nothing
        if passed:
            done, errors = delete_batch(queue_name, passed)
            success += done
            failed += errors
            for entry in passed:
                if entry["Id"] in done:
                    self._forget(queue_name, entry["ReceiptHandle"])
        return success, failed

    # -- ChangeMessageVisibility ------------------------------------------------------------------------
    def _change(self, queue_name: str, handle: str, timeout_s: int, change: Any) -> None:
        from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid

        receipt, superseded, expired = self._state(queue_name, handle)
        if receipt is None:
            change(queue_name=queue_name, receipt_handle=handle, visibility_timeout=timeout_s)
            return
        now, now_ms = self.aws.clock.now(), self._now_ms()
        why = "superseded" if superseded else "expired" if expired and self._fifo(queue_name) else None
        if why:
            self.log.rejected_visibility.append((now, queue_name, receipt.key, why))
            reason = NOT_AVAILABLE if superseded else EXPIRED
            raise InvalidParameterValue(f"Value {handle} for parameter ReceiptHandle is invalid. Reason: {reason}")
        if now_ms + timeout_s * 1000.0 - receipt.received_ms > MAX_VISIBILITY_FROM_RECEIVE_S * 1000.0:
            self.log.rejected_visibility.append((now, queue_name, receipt.key, "past 12 hours"))
            raise InvalidParameterValue(
                f"Value {timeout_s} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout "
                f"for the message is beyond the limit [{MAX_VISIBILITY_FROM_RECEIVE_S} seconds]")
        queue = self.backend.get_queue(queue_name)
        message = next((m for m in queue._messages if m.id == receipt.message_id), None)
        if message is None:
            raise ReceiptHandleIsInvalid()  # deleted meanwhile, as moto answers
        # moto's own change, without its limit (counted from the send): set it, release a FIFO group; wake the
        # pollers when it made the message receivable (a longer visibility makes nothing receivable)
        message.change_visibility(timeout_s)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)
        with self._lock:
            receipt.visible_until_ms = float(message.visible_at)
        if timeout_s == 0:
            self.aws.queue_activity.touch(queue_name)

    def _change_batch(self, queue_name: str, entries: list[dict[str, Any]], change_batch: Any) -> Any:
        from moto.sqs.exceptions import SQSException

        success: list[str] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                timeout = int(entry["VisibilityTimeout"])
            except (KeyError, TypeError, ValueError):
                timeout = -1
            if not 0 <= timeout <= MAX_VISIBILITY_FROM_RECEIVE_S:
                done, errors = change_batch(queue_name, [entry])  # moto's own validation answers
                success, failed = success + done, failed + errors
                continue
            try:
                self.backend.change_message_visibility(queue_name=queue_name, receipt_handle=entry["ReceiptHandle"],
                                                       visibility_timeout=timeout)
                success.append(entry["Id"])
            except SQSException as exc:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": exc.code,
                               "Message": getattr(exc, "message", str(exc))})
        return success, failed
