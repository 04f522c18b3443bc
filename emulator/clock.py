"""The pipeline's clock: real time, optionally running ``speedup`` times faster.

A deployed stack waits in seconds to hours (a 30 s retry backoff, a 40 min
hold). A demo cannot, so the emulator runs SQS's clock faster: every
visibility timeout, delay and redelivery moto computes happens ``speedup``
times sooner, while the handlers keep the stack's real settings. Everything the
emulator reports is in *pipeline seconds* (wall seconds x speedup) since the
demo started, so a trace's times and the simulator's times line up.

Every wait the emulator's own threads do in pipeline time goes through the
clock (``sleep``, ``wait``, ``wait_for``, ``poll_wait``, ``call_later``), and
every unit of work they hand to another thread goes through ``submit`` /
``start_thread``. Here those are thin wrappers over ``threading``; the same
calls on ``virtual_clock.VirtualClock`` let pipeline time stand still while
anything works and jump when everything waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class PipelineClock:
    """Maps wall time to pipeline time: ``pipeline = (wall - start) * speedup``."""

    virtual = False
    """Whether pipeline time jumps while everything waits (``VirtualClock``) instead of flowing."""

    def __init__(self, speedup: float = 1.0):
        if not speedup > 0:
            raise ValueError(f"--speedup must be greater than 0 (got {speedup}); use 1 for real time")
        self._speedup = float(speedup)
        self._wall_start = time.time()
        self._mono_start = time.monotonic()
        self._changed = threading.Condition()

    @property
    def speedup(self) -> float:
        """Pipeline seconds per wall second."""
        return self._speedup

    def restart(self) -> None:
        """Start pipeline time at zero now (after the deploy, so the first arrival is not already late)."""
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def now(self) -> float:
        """Pipeline seconds since the clock started."""
        return (time.monotonic() - self._mono_start) * self._speedup

    def epoch(self) -> float:
        """Pipeline time as a Unix timestamp (what moto's SQS sees)."""
        return self._wall_start + self.now()

    def wall_elapsed(self) -> float:
        return time.monotonic() - self._mono_start

    def to_wall(self, pipeline_seconds: float) -> float:
        return pipeline_seconds / self._speedup

    # -- waits --------------------------------------------------------------------------------------
    def sleep(self, pipeline_seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep for a pipeline duration; returns True when ``stop`` was set meanwhile."""
        wall = max(0.0, pipeline_seconds / self._speedup)
        if stop is None:
            time.sleep(wall)
            return False
        return stop.wait(wall)

    def sleep_until(self, pipeline_time: float, stop: threading.Event | None = None) -> bool:
        return self.sleep(pipeline_time - self.now(), stop)

    def signal(self) -> threading.Event:
        """An event another thread sets. Waiting on it (its own ``wait``, in wall seconds, or ``clock.wait``,
        in pipeline seconds) is a wait the clock knows of; a plain ``threading.Event`` is not, on a virtual
        clock (its ``set`` wakes no one the clock is holding)."""
        return threading.Event()

    def wait(self, signal: threading.Event, timeout_s: float | None = None) -> bool:
        """Wait for ``signal`` at most ``timeout_s`` pipeline seconds; whether it was set."""
        return signal.wait(None if timeout_s is None else max(0.0, self.to_wall(timeout_s)))

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Wait until ``predicate()`` holds, re-checked at each ``notify``; at most ``timeout_s`` pipeline
        seconds. The predicate runs with the clock's lock held: it must read state, never take a lock."""
        wall = None if timeout_s is None else max(0.0, self.to_wall(timeout_s))
        with self._changed:
            return self._changed.wait_for(predicate, timeout=wall)

    def poll_wait(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """A poller's wait between two receives: until ``predicate()`` holds (``notify``) or ``timeout_s``
        pipeline seconds pass, when time may have made something receivable."""
        return self.wait_for(predicate, timeout_s)

    def notify(self) -> None:
        """Something waiters' predicates read has changed: have them check again."""
        with self._changed:
            self._changed.notify_all()

    # -- work ---------------------------------------------------------------------------------------
    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Cancellable:
        """Call ``fn(*args)`` after ``delay_s`` pipeline seconds (on a timer thread)."""
        timer = threading.Timer(max(0.0, self.to_wall(delay_s)), fn, args)
        timer.daemon = True
        timer.start()
        return timer

    def submit(self, pool: Executor, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Hand ``fn(*args)`` to ``pool``: a unit of work from now until it returns."""
        return pool.submit(fn, *args)

    def start_thread(self, target: Callable[..., Any], *args: Any, name: str | None = None) -> threading.Thread:
        """Start a daemon thread running ``target(*args)``, a unit of work from now until it returns."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    @contextmanager
    def working(self) -> Iterator[None]:
        """Count this thread as a participant for the block (a long-lived thread: a poller, the uploader)."""
        yield

    def participating(self) -> bool:
        """Whether this thread counts as a participant (``clock.sleep`` here is safe: someone will end it)."""
        return True

    def touch(self) -> None:
        """An AWS request was served (the virtual clock's race guard counts them)."""

    def add_deadline_source(self, source: Callable[[], float | None],
                            reached: Callable[[float, float], None] | None = None) -> None:
        """``source()``: the next pipeline time at which something outside the clock changes by itself (a
        message's visibility ending); ``reached(before, after)``: time jumped over such changes (tell whoever
        waits for them). Real time reaches them on its own; a virtual clock jumps to them."""

    def close(self) -> None:
        """The emulator is stopping: wake every wait so its thread can see its stop event."""
        self.notify()


@contextmanager
def sqs_runs_on(clock: PipelineClock) -> Iterator[None]:
    """Make moto's SQS read ``clock`` for visibility, delays and receive timestamps.

    moto's SQS model reads ``unix_time``/``unix_time_millis`` imported into its
    module; replacing those two names (and nothing else) speeds up exactly the
    waits the pipeline's settings express, and is undone on exit.
    """
    import moto.sqs.models as sqs_models

    original_s, original_ms = sqs_models.__dict__["unix_time"], sqs_models.__dict__["unix_time_millis"]

    def unix_time(dt: Any = None) -> float:
        return float(original_s(dt)) if dt is not None else clock.epoch()

    def unix_time_millis(dt: Any = None) -> float:
        return float(original_ms(dt)) if dt is not None else clock.epoch() * 1000.0

    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010  (moto does not export these names)
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010
    try:
        yield
    finally:
        setattr(sqs_models, "unix_time", original_s)  # noqa: B010
        setattr(sqs_models, "unix_time_millis", original_ms)  # noqa: B010
