"""Virtual ("autojump") pipeline time for headless runs: time stands still while anything works, and jumps to
the next deadline when every participant waits.

On the scaled clock a replay spends most of its wall time waiting for pipeline time to pass (60 s runs,
visibility timeouts, backoffs). Here a wait costs nothing: pipeline time only moves when no participant can
do anything more at the current instant, and then straight to the earliest moment something changes by
itself: a sleeper's end, a ``call_later`` timer, or a deadline a source reports (moto's SQS: a message's
visibility or delay ending, ``aws.InProcessAWS``).

Who is working is counted exactly, not guessed: ``busy`` is +1 when a unit of work is handed over
(``submit``, ``start_thread``, ``working`` for long-lived threads) and -1 when it ends; a thread inside a clock
wait gives its units up for the length of the wait. Whoever ends a wait hands the units back *before* its
own work ends (``notify`` and a signal's ``set`` run on a working thread; a jump runs on the coordinator), so
``busy`` never reads 0 between a cause and its effect. A thread that blocks on something the clock does not
know (a plain lock, ``threading.Event``) keeps counting as busy: time then waits for it, it never runs ahead
of it. One more guard for work the count cannot see (a thread nobody registered calling AWS): the clock is
idle only when ``busy`` is 0 and no AWS request or count change happened over ``SETTLE_WALL_S``.

The coordinator (``demo._wait_until_quiet``) calls ``wait_idle``, decides whether the pipeline is done, and
else ``advance_to(next_deadline())``. A jump happens only when all is idle, so no handler is ever mid-step
when time moves: a jump cannot make one outlive its timeout.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from landing_pipeline.emulator.clock import Cancellable, PipelineClock

SETTLE_WALL_S = 0.0005
"""Wall seconds ``busy`` must stay 0, with no AWS request, before the clock counts as idle."""

_log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("deadline", "depth", "event", "on_jump", "predicate", "woken")

    def __init__(self, predicate: Callable[[], bool] | None, deadline: float | None, on_jump: bool, depth: int):
        self.predicate, self.deadline, self.on_jump, self.depth = predicate, deadline, on_jump, depth
        self.event = threading.Event()
        self.woken = False


class _Timer:
    __slots__ = ("args", "cancelled", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.fn, self.args, self.cancelled = fn, args, False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualSignal(threading.Event):
    """``threading.Event`` whose ``set`` wakes its waiters through the clock (handing them their units back)
    and whose ``wait`` is a clock wait (its timeout stays in wall seconds, as a safety net)."""

    def __init__(self, clock: VirtualClock):
        super().__init__()
        self._clock = clock
        self._on = False

    def set(self) -> None:
        self._on = True
        self._clock.notify()

    def is_set(self) -> bool:
        return self._on

    def clear(self) -> None:
        self._on = False

    def wait(self, timeout: float | None = None) -> bool:
        self._clock._wait(self.is_set, None, on_jump=False, wall_timeout=timeout)
        return self._on


class VirtualClock(PipelineClock):
    virtual = True

    def __init__(self) -> None:
        super().__init__(1.0)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._t = 0.0
        self._busy = 0
        self._activity = 0
        self._closed = False
        self._waiters: set[_Waiter] = set()
        self._timers: list[tuple[float, int, _Timer]] = []
        self._sequence = itertools.count()
        self._sources: list[Callable[[], float | None]] = []
        self._reached: list[Callable[[float, float], None]] = []
        self._local = threading.local()
        self.jumps = 0
        """Times pipeline time moved (a measure of how much waiting the run skipped)."""
        self.errors: list[str] = []
        """Tracebacks of timer callbacks that raised (a ``threading.Timer`` would print them)."""

    # -- reading the time ---------------------------------------------------------------------------
    @property
    def speedup(self) -> float:
        """Pipeline seconds per wall second so far (what the jumps achieved)."""
        return self._t / max(self.wall_elapsed(), 1e-9)

    def restart(self) -> None:
        super().restart()
        # Pipeline time 0 on a whole Unix second: the S3 events' times are on whole seconds of the landing log
        # (emulator/s3_event_time.py), and with the wall clock's fraction here the handlers' clock would run that
        # fraction ahead of them, so settle waits, and all that follows, would depend on when the run began.
        self._wall_start = float(math.floor(self._wall_start))
        with self._lock:
            self._t = 0.0

    def now(self) -> float:
        return self._t

    def to_wall(self, pipeline_seconds: float) -> float:
        """No pipeline duration takes wall time here; everything that waits goes through the clock."""
        return 0.0

    # -- work ---------------------------------------------------------------------------------------
    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def participating(self) -> bool:
        return self._depth() > 0

    def _add(self, units: int) -> None:
        with self._lock:
            self._busy += units
            self._activity += 1

    def _release(self, units: int) -> None:
        with self._lock:
            self._busy -= units
            self._activity += 1
            if self._busy <= 0:
                self._idle.notify_all()

    def _as_unit(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """Run an already counted unit on this thread, and end it."""
        self._local.depth = self._depth() + 1
        try:
            return fn(*args)
        finally:
            self._local.depth -= 1
            self._release(1)

    def submit(self, pool: Executor, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        self._add(1)
        try:
            return pool.submit(self._as_unit, fn, args)
        except BaseException:
            self._release(1)
            raise

    def start_thread(self, target: Callable[..., Any], *args: Any, name: str | None = None) -> threading.Thread:
        self._add(1)
        thread = threading.Thread(target=self._as_unit, args=(target, args), name=name, daemon=True)
        try:
            thread.start()
        except BaseException:
            self._release(1)
            raise
        return thread

    @contextmanager
    def working(self) -> Iterator[None]:
        self._add(1)
        self._local.depth = self._depth() + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            self._release(1)

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Cancellable:
        """``fn(*args)`` at ``now + delay_s``, run by the coordinator during that jump, in deadline order
        (then in the order they were asked for)."""
        timer = _Timer(fn, args)
        with self._lock:
            heapq.heappush(self._timers, (self._t + max(0.0, delay_s), next(self._sequence), timer))
            self._activity += 1
        return timer

    def touch(self) -> None:
        self._activity += 1  # unlocked: a lost increment between two racing requests still shows a change

    def add_deadline_source(self, source: Callable[[], float | None],
                            reached: Callable[[float, float], None] | None = None) -> None:
        self._sources.append(source)
        if reached is not None:
            self._reached.append(reached)

    # -- waits --------------------------------------------------------------------------------------
    def _wake(self, waiter: _Waiter) -> None:
        """Under the lock: end ``waiter``'s wait and give its units back now, on the waker's count."""
        if waiter.woken:
            return
        waiter.woken = True
        self._waiters.discard(waiter)
        self._busy += waiter.depth
        self._activity += 1
        waiter.event.set()

    def _wait(self, predicate: Callable[[], bool] | None, deadline: float | None, *, on_jump: bool,
              wall_timeout: float | None = None) -> None:
        waiter = _Waiter(predicate, deadline, on_jump, self._depth())
        with self._lock:
            if self._closed or (predicate is not None and predicate()) or (
                    deadline is not None and deadline <= self._t):
                return
            self._waiters.add(waiter)
            self._busy -= waiter.depth
            self._activity += 1
            if self._busy <= 0:
                self._idle.notify_all()
        if waiter.event.wait(wall_timeout):
            return
        with self._lock:  # the wall safety net ran out: end the wait on this thread's own count
            self._wake(waiter)

    def sleep(self, pipeline_seconds: float, stop: threading.Event | None = None) -> bool:
        self._wait(stop.is_set if stop is not None else None, self._t + max(0.0, pipeline_seconds), on_jump=False)
        return stop is not None and stop.is_set()

    def sleep_until(self, pipeline_time: float, stop: threading.Event | None = None) -> bool:
        self._wait(stop.is_set if stop is not None else None, pipeline_time, on_jump=False)
        return stop is not None and stop.is_set()

    def signal(self) -> threading.Event:
        return VirtualSignal(self)

    def wait(self, signal: threading.Event, timeout_s: float | None = None) -> bool:
        self._wait(signal.is_set, None if timeout_s is None else self._t + max(0.0, timeout_s), on_jump=False)
        return signal.is_set()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float | None = None) -> bool:
        self._wait(predicate, None if timeout_s is None else self._t + max(0.0, timeout_s), on_jump=False)
        return predicate()

    def poll_wait(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Until ``predicate()`` holds: a poller sets no deadline of its own (time would crawl in poll
        intervals). What time makes receivable, a deadline source's ``reached`` reports at the jump."""
        self._wait(predicate, None, on_jump=False)
        return predicate()

    def notify(self) -> None:
        with self._lock:
            for waiter in list(self._waiters):
                if waiter.predicate is not None and waiter.predicate():
                    self._wake(waiter)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for waiter in list(self._waiters):
                self._wake(waiter)
            self._timers.clear()
            self._idle.notify_all()

    # -- the coordinator's side ---------------------------------------------------------------------
    @property
    def busy(self) -> int:
        return self._busy

    def wait_idle(self, wall_timeout_s: float) -> bool:
        """Block until nothing works (``busy`` 0 and no AWS request for ``SETTLE_WALL_S``); False when that
        did not happen within ``wall_timeout_s``."""
        end = time.monotonic() + wall_timeout_s
        with self._lock:
            while True:
                while self._busy > 0:
                    remaining = end - time.monotonic()
                    if remaining <= 0 or self._closed:
                        return False
                    self._idle.wait(remaining)
                seen = self._activity
                self._idle.wait(SETTLE_WALL_S)
                if self._busy <= 0 and self._activity == seen:
                    return True

    def next_deadline(self) -> float | None:
        """The earliest pipeline time at which something is due: a sleeper, a timer or a source's deadline."""
        with self._lock:
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            candidates = [w.deadline for w in self._waiters if w.deadline is not None]
            if self._timers:
                candidates.append(self._timers[0][0])
        for source in self._sources:  # outside the lock: a source may take the emulator's lock
            deadline = source()
            if deadline is not None:
                candidates.append(deadline)
        return min(candidates) if candidates else None

    def advance_to(self, pipeline_time: float) -> None:
        """Move time to ``pipeline_time`` (never back), tell the deadline sources, run the timers due, then
        wake the sleepers due. Call it only when ``wait_idle`` said so."""
        with self._lock:
            before = self._t
            self._t = max(self._t, pipeline_time)
            self.jumps += 1
            due: list[_Timer] = []
            while self._timers and self._timers[0][0] <= self._t:
                timer = heapq.heappop(self._timers)[2]
                if not timer.cancelled:
                    due.append(timer)
            self._busy += 1  # the coordinator works while it runs the timers
            self._local.depth = self._depth() + 1
        try:
            for reached in self._reached:
                reached(before, self._t)
            for timer in due:
                try:
                    timer.fn(*timer.args)
                except Exception:  # as a threading.Timer would: report it, keep time going
                    self.errors.append(traceback.format_exc())
                    _log.exception("virtual clock: a timer callback raised")
        finally:
            with self._lock:
                self._local.depth -= 1
                for waiter in list(self._waiters):
                    if waiter.on_jump or (waiter.deadline is not None and waiter.deadline <= self._t) or (
                            waiter.predicate is not None and waiter.predicate()):
                        self._wake(waiter)
                self._busy -= 1
                self._activity += 1
                if self._busy <= 0:
                    self._idle.notify_all()
