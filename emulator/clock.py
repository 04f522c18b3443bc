"""The pipeline's clock: real time, optionally running ``speedup`` times faster.

A deployed stack waits in seconds to hours (a 30 s retry backoff, a 40 min
hold). A demo cannot, so the emulator runs SQS's clock faster: every
visibility timeout, delay and redelivery moto computes happens ``speedup``
times sooner, while the handlers keep the stack's real settings. Everything the
emulator reports is in *pipeline seconds* (wall seconds x speedup) since the
demo started, so a trace's times and the simulator's times line up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class PipelineClock:
    """Maps wall time to pipeline time: ``pipeline = (wall - start) * speedup``."""

    def __init__(self, speedup: float = 1.0):
        if not speedup > 0:
            raise ValueError(f"--speedup must be greater than 0 (got {speedup}); use 1 for real time")
        self.speedup = float(speedup)
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def restart(self) -> None:
        """Start pipeline time at zero now (after the deploy, so the first arrival is not already late)."""
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def now(self) -> float:
        """Pipeline seconds since the clock started."""
        return (time.monotonic() - self._mono_start) * self.speedup

    def epoch(self) -> float:
        """Pipeline time as a Unix timestamp (what moto's SQS sees)."""
        return self._wall_start + self.now()

    def wall_elapsed(self) -> float:
        return time.monotonic() - self._mono_start

    def to_wall(self, pipeline_seconds: float) -> float:
        return pipeline_seconds / self.speedup

    def sleep(self, pipeline_seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep for a pipeline duration; returns True when ``stop`` was set meanwhile."""
        wall = max(0.0, pipeline_seconds / self.speedup)
        if stop is None:
            time.sleep(wall)
            return False
        return stop.wait(wall)

    def sleep_until(self, pipeline_time: float, stop: threading.Event | None = None) -> bool:
        return self.sleep(pipeline_time - self.now(), stop)


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
