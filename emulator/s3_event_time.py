"""The S3 event's ``time`` as AWS gives it: when the object was created, in the pipeline's clock.

moto's S3 -> EventBridge path stamps its event with ``unix_time()`` (wall seconds at the send, made ISO 8601
in whole seconds when a target gets it), where AWS puts the time of the object's creation. v2 orders a
group's files by that time (``orderBy: landing_time``), so the emulator must give it as AWS does: a wall-clock
float read at the send would put every file of a 120x demo in the same second, and an event held back by ``delay-event``
would carry its delivery time instead of the object's. The time is taken at the object's
put: stamped on moto's key object when its notification is first sent (inside the put), read when the event
is built, however late (``delay-event``); install after the strict layer, uninstall before it.
"""

from __future__ import annotations

import contextlib
import math
import threading
from datetime import UTC, datetime
from typing import Any

_current = threading.local()
LANDED = "_landing_pipeline_epoch"
"""Set on moto's key object at its put: the pipeline clock's time then (a virtual clock has no wall mapping)."""


class S3EventTime:
    def __init__(self, clock: Any):
        self.clock = clock
        self._originals: dict[str, Any] = {}

    def install(self) -> None:
        from moto.s3 import notifications

        if self._originals:
            return
        send, outer = notifications._send_event_bridge_message, notifications.send_event
        stamp = getattr(notifications, "unix_time")  # noqa: B009  (moto does not export it)
        self._originals = {"_send_event_bridge_message": send, "unix_time": stamp, "send_event": outer}

        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            # called at the put (outermost: installed after the strict layer's late events): the object's time
            if getattr(key, LANDED, None) is None:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(key, LANDED, self.landing_epoch())
            return outer(account_id, event_name, bucket, key)

        def send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
            _current.key = key
            try:
                send(account_id, bucket, event_name, key)
            finally:
                _current.key = None

        def unix_time(dt: Any = None) -> Any:
            key = getattr(_current, "key", None)
            if dt is not None or key is None:
                return stamp(dt) if dt is not None else stamp()
            return self.epoch_of(key)

        notifications._send_event_bridge_message = send_event_bridge_message
        setattr(notifications, "unix_time", unix_time)  # noqa: B010
        notifications.send_event = send_event

    def landing_epoch(self) -> float:
        """Now, on a Unix base of whole seconds: the event's whole second is then the landing log's whole
        pipeline second (chaos mode's invariants order a group by it), wherever the clock's start fell within
        its wall second. At most a second before the handlers' clock: a settle wait is that much longer."""
        now = float(self.clock.now())
        return math.floor(float(self.clock.epoch()) - now) + now

    def epoch_of(self, key: Any) -> float:
        """The object's creation on the pipeline clock (moto's events backend makes it ISO for targets)."""
        landed = getattr(key, LANDED, None)
        if isinstance(landed, float):
            return landed
        modified = getattr(key, "last_modified", None)
        wall = modified.replace(tzinfo=UTC).timestamp() if isinstance(modified, datetime) else None
        return float(self.clock.epoch()) if wall is None else self.pipeline_epoch(wall)

    def time_of_object(self, account_id: str, bucket: str, key: str, version_id: str | None) -> float | None:
        """The time S3's own event for this object carries (None if it is gone): what a repeated delivery of
        that event carries too, since AWS repeats the event, not the put (``duplicate-event``)."""
        from moto.s3.models import s3_backends

        with contextlib.suppress(Exception):
            stored = s3_backends[account_id]["aws"].get_object(bucket, key, version_id=version_id)
            if stored is not None:
                return self.epoch_of(stored)
        return None

    def pipeline_epoch(self, wall: float) -> float:
        """A wall-clock instant as the pipeline clock's Unix time (``PipelineClock.epoch`` at that instant)."""
        start = self.clock.epoch() - self.clock.now()
        return float(start + max(0.0, wall - start) * self.clock.speedup)

    def uninstall(self) -> None:
        from moto.s3 import notifications

        for name, value in self._originals.items():
            setattr(notifications, name, value)
        self._originals = {}
