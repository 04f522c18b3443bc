"""How long each Glue attempt runs and whether it succeeds: first attempts drawn at once, retries as they come.

Drawing every file's first attempt in one vectorised call keeps the event loop
free of per-file sampling; retries are rare and draw one at a time. A run
longer than the job timeout is stopped by Glue at the timeout (TIMEOUT) and
counts as a failed attempt.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from landing_pipeline.simulator.distributions import draw_many
from landing_pipeline.simulator.scenario import JobModel
from landing_pipeline.simulator.workload import Workload


class Attempts:
    """Duration and outcome of every attempt of every file, from the scenario's job model."""

    def __init__(self, workload: Workload, job: JobModel, scale: float, timeout_s: float,
                 rng: np.random.Generator, uniform: Callable[[], float]) -> None:
        self.w, self.job, self.scale, self.timeout_s, self.random = workload, job, scale, timeout_s, uniform
        self.exact_s, self.forced_failures = workload.exact_duration_s, workload.fail_attempts
        self.run_sample = job.duration.stream(rng)
        self.first_run_s, self.first_ok = self._first_attempts(rng)

    def _first_attempts(self, rng: np.random.Generator) -> tuple[list[float], list[bool]]:
        w, job = self.w, self.job
        exact = np.asarray(w.exact_duration_s, dtype=float)
        sizes = np.maximum(np.asarray(w.size_mb, dtype=float), 0.0)
        drawn = job.startup_s + self.scale * (draw_many(job.duration, rng, w.files) + job.per_mb_s * sizes)
        run_s = np.where(exact >= 0, exact, drawn)
        forced = np.asarray(w.fail_attempts, dtype=np.int64)
        ok = np.where(forced >= 0, forced < 1, rng.random(w.files) >= job.failure_rate)
        timed_out = run_s > self.timeout_s  # Glue stops the run: TIMEOUT
        return np.where(timed_out, self.timeout_s, run_s).tolist(), (ok & ~timed_out).tolist()

    def attempt(self, fid: int, number: int) -> tuple[float, bool]:
        """Run number ``number`` (1-based: the file's attempts so far + 1) of file ``fid``."""
        if number <= 1:
            return self.first_run_s[fid], self.first_ok[fid]
        return self.retry(fid, number)

    def retry(self, fid: int, attempt: int) -> tuple[float, bool]:
        """Attempt number ``attempt`` (2 or more) of file ``fid``: its run time and whether it succeeds."""
        run_s = self.exact_s[fid]
        if run_s < 0:
            run_s = self.job.startup_s + self.scale * (self.run_sample() + self.job.per_mb_s * max(
                0.0, self.w.size_mb[fid]))
        forced = self.forced_failures[fid]
        ok = attempt > forced if forced >= 0 else self.random() >= self.job.failure_rate
        if run_s > self.timeout_s:
            return self.timeout_s, False
        return run_s, ok
