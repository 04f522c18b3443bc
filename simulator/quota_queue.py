"""The ordered FIFO queue under SQS's quotas: messages in flight per queue, and calls per second per action.

In flight (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html): a
FIFO queue holds at most 120,000 messages received and not yet deleted; at the limit "Amazon SQS does not
return an error, but processing may be impacted": a ReceiveMessage simply gets no message. In this pipeline a
wake-up is in flight from the dispatcher's receive until its delete, and through every hold (a settle or
backoff wait is a ChangeMessageVisibility: the message stays in flight until it is visible again), so every
held group counts, as does every group whose dispatcher crashed (its message is invisible until the
visibility timeout). A group waiting for a Glue slot has no message (its wake-up was deleted). At the limit
the event source mapping's poller receives nothing: the group's wake-up stays visible, and is received
when a message in flight is deleted or becomes visible again (first refused, first received).

Calls per second (``fifo_calls_per_s``, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/
SQSDeveloperGuide/quotas-messages.html): SendMessage past the rate is throttled and the SDK retries; the
model spaces sends ``1 / rate`` apart, so a throttled wake-up reaches the queue that much later.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

from landing_pipeline.simulator.limits import Limits
from landing_pipeline.simulator.quota_log import QuotaLog
from landing_pipeline.simulator.wake_queue import WakeQueue

IN_FLIGHT, CALLS = "fifo_in_flight", "fifo_calls_per_s"


class QuotaWakeQueue(WakeQueue):
    """``WakeQueue`` with the in-flight quota and a SendMessage rate; ``in_flight_max`` for the report."""

    def __init__(self, env: simpy.Environment, groups: int, ceiling: int, deliver: Callable[[int], None], *,
                 limits: Limits, log: QuotaLog) -> None:
        super().__init__(env, groups, ceiling, deliver)
        self.limit, self.rate, self.log = limits.fifo_in_flight, limits.fifo_calls_per_s, log
        self.flying = [False] * groups
        self.in_flight = self.in_flight_max = 0
        self.parked: deque[int] = deque()
        self._next_send = 0.0
        self._sends = 0

    # --- in flight ---------------------------------------------------------------------------------------
    def receive(self, g: int) -> bool:
        """False with the message still visible when the queue is at its in-flight limit (the dispatchers then
        try their next ready group, which is refused alike, and wait for a release)."""
        now = self.env.now
        if self.in_flight >= self.limit:
            self.log.hit(IN_FLIGHT, now, g)
            self.parked.append(g)
            return False
        if not super().receive(g):
            return False   # moved to the DLQ
        self.flying[g] = True
        self.in_flight += 1
        if self.in_flight > self.in_flight_max:
            self.in_flight_max = self.in_flight
        self.log.through(IN_FLIGHT, g, now)
        return True

    def _landed(self, g: int) -> None:
        """``g``'s message is no longer in flight (deleted, or visible again): the longest refused group is
        received next."""
        if not self.flying[g]:
            return
        self.flying[g] = False
        self.in_flight -= 1
        if self.parked:
            self.deliver(self.parked.popleft())

    def delete(self, g: int) -> None:
        self._landed(g)
        super().delete(g)

    def hold(self, g: int, seconds: float) -> None:
        if seconds <= 0:
            self._landed(g)
        super().hold(g, seconds)

    def _visible_again(self, event: Any) -> None:
        self._landed(event.value)
        super()._visible_again(event)

    # --- calls per second -----------------------------------------------------------------------------------
    def send(self, g: int, dedup_id: str) -> bool:
        rate = self.rate
        if rate is None:
            return super().send(g, dedup_id)
        now = self.env.now
        at = max(now, self._next_send)
        self._next_send = at + 1.0 / rate
        if at <= now:
            return super().send(g, dedup_id)
        self._sends += 1
        key = ("send", self._sends)
        self.log.hit(CALLS, now, key)
        self.env.timeout(at - now, value=(g, dedup_id, key)).callbacks.append(self._send_later)
        return True

    def _send_later(self, event: Any) -> None:
        g, dedup_id, key = event.value
        self.log.through(CALLS, key, self.env.now)
        super().send(g, dedup_id)
