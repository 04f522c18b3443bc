"""The ordered FIFO queue of wake-ups: one message group per pipeline group, at most one message of a group in
flight, deduplication for five minutes after a send, and a receive ceiling.

A wake-up names only its group (the ledger holds the work), so a message is a dedup id and a receive
count. A dispatcher invocation takes a group whose head message is visible, then deletes the message, holds
it invisible for a settle or backoff wait, or (it crashed) leaves it to come back after the visibility
timeout. A message received more often than ``maxReceiveCount`` moves to the queue's DLQ: its group keeps
``wake_pending`` and is woken again by the reconciler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

DEDUP_WINDOW_S = 300.0


class WakeQueue:
    """Messages per group as ``[dedup id, receives]``; ``busy[g]``: the group's head is in flight, invisible
    or already offered to the dispatchers."""

    def __init__(self, env: simpy.Environment, groups: int, ceiling: int, deliver: Callable[[int], None]) -> None:
        self.env, self.ceiling, self.deliver = env, ceiling, deliver
        self.messages: list[deque[list[Any]]] = [deque() for _ in range(groups)]
        self.busy = [False] * groups
        self.seen: dict[str, float] = {}
        self.expiry: deque[tuple[float, str]] = deque()
        self.sent = self.deduplicated = self.received = self.to_dlq = self.visible_max = 0
        self.visible = 0

    def send(self, g: int, dedup_id: str) -> bool:
        """SendMessage; False when SQS drops it as a duplicate of one sent in the last five minutes."""
        now = self.env.now
        expiry, seen = self.expiry, self.seen
        while expiry and expiry[0][0] <= now:
            _, old = expiry.popleft()
            if seen.get(old, now + 1) <= now:
                del seen[old]
        if dedup_id in seen:
            self.deduplicated += 1
            return False
        seen[dedup_id] = now + DEDUP_WINDOW_S
        expiry.append((now + DEDUP_WINDOW_S, dedup_id))
        self.sent += 1
        self.messages[g].append([dedup_id, 0])
        if not self.busy[g]:
            self._offer(g)
        return True

    def _offer(self, g: int) -> None:
        self.busy[g] = True
        self.visible += 1
        if self.visible > self.visible_max:
            self.visible_max = self.visible
        self.deliver(g)

    def receive(self, g: int) -> bool:
        """The group's head message goes in flight; False when it went to the DLQ instead (the next, if any,
        is offered)."""
        self.visible -= 1
        head = self.messages[g][0]
        head[1] += 1
        self.received += 1
        if head[1] > self.ceiling:
            self.to_dlq += 1
            self.delete(g)
            return False
        return True

    def delete(self, g: int) -> None:
        messages = self.messages[g]
        messages.popleft()
        if messages:
            self._offer(g)
        else:
            self.busy[g] = False

    def hold(self, g: int, seconds: float) -> None:
        """ChangeMessageVisibility: the head comes back after ``seconds``, the group held until then."""
        if seconds <= 0:
            self._offer(g)
            return
        self.env.timeout(seconds, value=g).callbacks.append(self._visible_again)

    def _visible_again(self, event: Any) -> None:
        self._offer(event.value)

    def pending(self) -> int:
        return sum(len(m) for m in self.messages)
