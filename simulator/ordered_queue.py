"""The ordered (FIFO) queue's deliverable groups, and the random streams the event loop draws from.

Kept apart from the model so the one piece of SimPy customisation is easy to read and check.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import simpy


def uniform_stream(rng: np.random.Generator, chunk: int = 16384) -> Callable[[], float]:
    def values() -> Iterator[float]:
        while True:
            yield from rng.random(chunk).tolist()
    return values().__next__


class OrderedQueue(simpy.Store):
    """The ordered (FIFO) queue's deliverable groups, one entry per group whose head message is visible.

    A Store whose ``offer`` never blocks (the queue is unbounded), so it needs no Put event; the
    dispatchers' ``get`` is SimPy's own. Items live in a deque: a deep backlog must not make each
    delivery cost a list shift.
    """

    def __init__(self, env: simpy.Environment):
        super().__init__(env)
        self.items: deque[int] = deque()  # type: ignore[assignment]

    def offer(self, group: int) -> None:
        self.items.append(group)
        if self.get_queue:
            self._trigger_get(None)

    def _do_get(self, event: Any) -> None:
        if self.items:
            event.succeed(self.items.popleft())

    def _trigger_put(self, get_event: Any) -> None:
        """Nothing ever waits to put (``offer`` never blocks), so a finished get has no put to wake."""
