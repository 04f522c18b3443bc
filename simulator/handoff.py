"""The Glue-slot handoff: files waiting for a Glue slot, woken one per freed slot, oldest waiter first.

The deployed dispatcher, refused a slot (ConcurrentRunsExceeded), records the
file as waiting in the ledger (the sparse ``by_waiting`` index, ordered by when
the file *first* started waiting) and parks its message with a long fallback
visibility; whenever a run reaches a final state, the completion handler wakes
the oldest waiter whose receipt handle is valid with ChangeMessageVisibility(0).
A woken message is an ordinary delivery: it may lose the free slot to another
delivery and wait again, keeping its place. Every delivery is a receive, so the
counters kept here are what explains a file's receive count.

Kept apart from the model so the waiting line's rules can be read (and tested)
on their own: a waiter can be woken only while parked (its handle is valid), a
stale heap entry or fallback timer is recognised by its ticket, and the time a
file first waited survives any number of wake-ups until the file starts.
"""

from __future__ import annotations

import heapq

import numpy as np


class WaitingLine:
    """Per file: when it first waited, whether it is parked (wakeable), and the ticket of its latest park."""

    def __init__(self, files: int) -> None:
        self.since = [-1.0] * files
        """When the file first found no free slot for its current attempt; -1 when it is not waiting."""
        self.parked = [False] * files
        """Invisible with the receipt handle the ledger holds: the completion handler can wake it."""
        self.ticket = [0] * files
        """Bumped at every park, so heap entries and fallback timers of earlier parks are ignored."""
        self.woken = [False] * files
        """The file's current delivery came from a wake-up (a throttle now means it lost the race)."""
        self.returns = [0] * files
        """Deliveries of the file caused by a wake-up or a fallback: each one is a receive."""
        self.heap: list[tuple[float, int, int]] = []
        self.spans: list[float] = []
        """Flat (first waited, stopped waiting) pairs: the backlog of files waiting for a slot."""
        self.waits = self.wakeups = self.lost_races = self.fallbacks = 0

    def throttled(self, fid: int, now: float) -> None:
        """No free slot: the file waits from now, unless it was already waiting (it keeps its place)."""
        if self.since[fid] < 0:
            self.since[fid] = now
            self.waits += 1
        if self.woken[fid]:
            self.woken[fid] = False
            self.lost_races += 1

    def park(self, fid: int) -> int:
        """The dispatcher recorded the waiter and its receipt handle; returns the ticket for its fallback."""
        ticket = self.ticket[fid] = self.ticket[fid] + 1
        self.parked[fid] = True
        heapq.heappush(self.heap, (self.since[fid], fid, ticket))
        return ticket

    def wake_oldest(self) -> int:
        """A slot freed: the oldest parked waiter, now made visible (-1 when no handle is valid)."""
        heap, parked, tickets = self.heap, self.parked, self.ticket
        while heap:
            _, fid, ticket = heapq.heappop(heap)
            if parked[fid] and tickets[fid] == ticket:
                parked[fid] = False
                self.woken[fid] = True
                self.returns[fid] += 1
                self.wakeups += 1
                return fid
        return -1

    def fallback(self, fid: int, ticket: int) -> bool:
        """The fallback visibility ran out: True if the waiter was still parked from that park (never woken)."""
        if not self.parked[fid] or self.ticket[fid] != ticket:
            return False
        self.parked[fid] = False
        self.returns[fid] += 1
        self.fallbacks += 1
        return True

    def stopped(self, fid: int, now: float) -> None:
        """The file started (or went DEAD): it no longer waits; a later attempt waits afresh."""
        self.spans.extend((self.since[fid], now))
        self.since[fid] = -1.0
        self.woken[fid] = False


def busy_share_while_waiting(spans: list[float], slot_from: np.ndarray, slot_to: np.ndarray,
                             slots: int) -> float | None:
    """Share of slot-time busy while at least one file waited for a slot (None if none ever waited).

    A slot is busy from StartJobRun to the run's end. 1.0 means no slot was ever idle while a file waited;
    each freed slot costs the wake-up latency (completion handler, redelivery, dispatcher) unless another
    delivery takes it sooner.
    """
    waits = np.asarray(spans, dtype=float).reshape(-1, 2)
    waits = waits[waits[:, 1] > waits[:, 0]]
    if not len(waits) or slots <= 0:
        return None
    times = np.concatenate((waits[:, 0], waits[:, 1], slot_from, slot_to))
    waiting_step = np.concatenate((np.ones(len(waits)), -np.ones(len(waits)), np.zeros(2 * len(slot_from))))
    busy_step = np.concatenate((np.zeros(2 * len(waits)), np.ones(len(slot_from)), -np.ones(len(slot_to))))
    order = np.argsort(times, kind="stable")
    times, waiting, busy = times[order], np.cumsum(waiting_step[order]), np.cumsum(busy_step[order])
    lengths = np.diff(times)
    during = waiting[:-1] > 0
    total = float(lengths[during].sum())
    if total <= 0:
        return None
    return float((np.minimum(busy[:-1], slots) * lengths)[during].sum()) / (slots * total)
