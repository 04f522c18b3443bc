"""How long each Glue attempt runs and whether it succeeds: first attempts drawn at once, retries as they come.

Drawing every file's first attempt in one vectorised call keeps the event loop
free of per-file sampling; retries are rare and draw one at a time. A run
longer than the job timeout is stopped by Glue at the timeout (TIMEOUT) and
counts as a failed attempt. With per-feed models (``simulator.feed_models``)
each file follows its feed's model; without, the draws are the single model's,
in the same order as before per-feed models existed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from landing_pipeline.runtime.contract import GLUE_SUCCEEDED
from landing_pipeline.simulator.distributions import draw_many
from landing_pipeline.simulator.feed_models import JobPlan
from landing_pipeline.simulator.scenario import JobModel
from landing_pipeline.simulator.workload import Workload

FAILED, TIMEOUT = "FAILED", "TIMEOUT"
"""A run's end states other than SUCCEEDED (Glue's names)."""


class Attempts:
    """Duration and outcome of every attempt of every file, from the scenario's job model(s)."""

    def __init__(self, workload: Workload, job: JobModel, scale: float | Callable[[JobModel], float],
                 timeout_s: float, rng: np.random.Generator, uniform: Callable[[], float],
                 plan: JobPlan | None = None) -> None:
        """``scale``: the DPU scaling of run times, or a function giving it for a model (its parallel share)."""
        self.w, self.job, self.timeout_s, self.random = workload, job, timeout_s, uniform
        scale_of = scale if callable(scale) else (lambda _job: float(scale))
        self.scale = scale_of(job)
        self.jobs = plan.jobs if plan is not None else (job,)
        self.scales = [scale_of(j) for j in self.jobs]
        self.job_of = plan.job_of if plan is not None else None
        self.exact_s, self.forced_failures = workload.exact_duration_s, workload.fail_attempts
        self.samples = [j.duration.stream(rng) for j in self.jobs]
        self.run_sample = self.samples[0]
        self.first_run_s, self.first_ok = self._first_attempts(rng)

    def model_of(self, fid: int) -> JobModel:
        return self.jobs[self.job_of[fid]] if self.job_of is not None else self.job

    def startup_s(self, fid: int) -> float:
        """The start-up a batch's later files do not pay again (one Spark session a run)."""
        return self.model_of(fid).startup_s

    def _first_attempts(self, rng: np.random.Generator) -> tuple[list[float], list[bool]]:
        w = self.w
        exact = np.asarray(w.exact_duration_s, dtype=float)
        sizes = np.maximum(np.asarray(w.size_mb, dtype=float), 0.0)
        if self.job_of is None:
            job = self.job
            drawn = job.startup_s + self.scale * (draw_many(job.duration, rng, w.files) + job.per_mb_s * sizes)
            failure_rate: float | np.ndarray = job.failure_rate
        else:
            which = np.asarray(self.job_of, dtype=np.int64)
            drawn = np.zeros(w.files)
            failure = np.zeros(w.files)
            for index, (job, scale) in enumerate(zip(self.jobs, self.scales, strict=True)):
                mask = which == index
                count = int(np.count_nonzero(mask))
                drawn[mask] = job.startup_s + scale * (draw_many(job.duration, rng, count) + job.per_mb_s * sizes[mask])
                failure[mask] = job.failure_rate
            failure_rate = failure
        run_s = np.where(exact >= 0, exact, drawn)
        forced = np.asarray(w.fail_attempts, dtype=np.int64)
        ok = np.where(forced >= 0, forced < 1, rng.random(w.files) >= failure_rate)
        timed_out = run_s > self.timeout_s  # Glue stops the run: TIMEOUT
        return np.where(timed_out, self.timeout_s, run_s).tolist(), (ok & ~timed_out).tolist()

    def attempt(self, fid: int, number: int) -> tuple[float, bool]:
        """Run number ``number`` (1-based: the file's attempts so far + 1) of file ``fid``."""
        if number <= 1:
            return self.first_run_s[fid], self.first_ok[fid]
        return self.retry(fid, number)

    def retry(self, fid: int, attempt: int) -> tuple[float, bool]:
        """Attempt number ``attempt`` (2 or more) of file ``fid``: its run time and whether it succeeds."""
        index = self.job_of[fid] if self.job_of is not None else 0
        job = self.jobs[index]
        run_s = self.exact_s[fid]
        if run_s < 0:
            run_s = job.startup_s + self.scales[index] * (self.samples[index]() + job.per_mb_s * max(
                0.0, self.w.size_mb[fid]))
        forced = self.forced_failures[fid]
        ok = attempt > forced if forced >= 0 else self.random() >= job.failure_rate
        if run_s > self.timeout_s:
            return self.timeout_s, False
        return run_s, ok

    def through_batch(self, fids: Sequence[int], run_numbers: Sequence[int], running_at: float
                      ) -> tuple[float, str, int]:
        """One run's job going through its files in order: when it ends, its final state and how many files it
        finished. One Spark session a run, so a batch pays the start-up once; Glue kills the run at the job
        timeout on whichever file it is on (TIMEOUT); the run stops at its first failing file."""
        end, state, done, timeout = running_at, GLUE_SUCCEEDED, 0, self.timeout_s
        for index, (fid, number) in enumerate(zip(fids, run_numbers, strict=True)):
            run_s, ok = self.attempt(fid, number)
            if index and self.exact_s[fid] < 0:
                run_s = max(0.0, run_s - self.startup_s(fid))
            if end + run_s - running_at > timeout:
                return running_at + timeout, TIMEOUT, done
            end += run_s
            if not ok:
                return end, TIMEOUT if run_s >= timeout else FAILED, done
            done += 1
        return end, state, done
