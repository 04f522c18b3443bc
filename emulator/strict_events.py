"""S3 events as AWS delivers them: late, out of order across keys, and now and then again much later.

S3 delivers event notifications at least once and EventBridge keeps no order between events; moto hands
each put's event to EventBridge inside the put itself, in order, once. ``delay-event:GLOB:SECONDS`` holds a
file's Object Created event back for SECONDS pipeline seconds (files landing after it are announced first);
``repeat-event:GLOB:SECONDS`` delivers it once more SECONDS later (default 360 s: past SQS FIFO's 5-minute
deduplication window, so the intake's dedup cannot catch it). The event delivered late is moto's own, the
same a timely one would have been.
"""

from __future__ import annotations

import threading
from typing import Any

from landing_pipeline.emulator.clock import Cancellable
from landing_pipeline.emulator.faults import FaultPlan


class LateS3Events:
    """Wraps moto's S3 notification sender; ``pending`` counts events still to be delivered."""

    def __init__(self, aws: Any, faults: FaultPlan):
        self.aws, self.faults = aws, faults
        self._original: Any = None
        self._timers: list[Cancellable] = []
        self._lock = threading.Lock()
        self.pending = 0
        self.log: list[tuple[float, str, str]] = []
        """(pipeline time, key, 'delayed' | 'repeated' | 'delivered late') for each late event."""

    def install(self) -> None:
        if not (self.faults.has("delay-event") or self.faults.has("repeat-event")):
            return
        from moto.s3 import notifications

        original = notifications.send_event
        self._original = original

        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            name = str(getattr(key, "name", ""))
            if "ObjectCreated" not in str(getattr(event_name, "value", event_name)):
                return original(account_id, event_name, bucket, key)
            delay = self.faults.fire_once("delay-event", name)
            if delay:
                self.log.append((self.aws.clock.now(), name, "delayed"))
                self._later(delay, original, (account_id, event_name, bucket, key), name)
            else:
                original(account_id, event_name, bucket, key)
            repeat = self.faults.fire_once("repeat-event", name)
            if repeat:
                self._later(repeat + (delay or 0), original, (account_id, event_name, bucket, key), name)
            return None

        notifications.send_event = send_event

    def uninstall(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._original is not None:
            from moto.s3 import notifications

            notifications.send_event = self._original
            self._original = None

    def _later(self, seconds: float, send: Any, args: tuple[Any, ...], name: str) -> None:
        def deliver() -> None:
            try:
                with self.aws.lock:
                    send(*args)
                self.log.append((self.aws.clock.now(), name, "delivered late"))
            finally:
                with self._lock:
                    self.pending -= 1

        with self._lock:
            self.pending += 1
            self._timers.append(self.aws.clock.call_later(seconds, deliver))
