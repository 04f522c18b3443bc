"""Fitting a run-time model to a history: start-up, per-MB cost, lognormal spread, failure rate.

The simulator draws a run as ``startup_s + D + per_mb_s x size`` with D lognormal (``scenario.JobModel``).
``per_mb_s`` is the least-squares slope of duration on size. What is left, ``startup_s + D``, is a shifted
lognormal, fitted by maximum likelihood (``shifted_lognormal``): the shift is the start-up, the rest D's
mean and sigma. The split between start-up and D's mean is the least certain part (both are constants a
run pays); their sum, the mean run at size 0, is well determined. The failure rate is failed attempts
over attempts, from ``fail_attempts`` (a file with ``max_attempts`` failures died: it had no successful attempt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_RUNS = 20
"""Fewer runs with a duration than this: no run-time fit (the scenario keeps the defaults, said so); a
lognormal's sigma and a start-up from a handful of runs would read noise as a model."""


@dataclass(frozen=True)
class RuntimeFit:
    runs: int
    startup_s: float
    mean_s: float
    sigma: float
    per_mb_s: float
    failure_rate: float
    attempts: int
    r2: float | None
    """Share of the duration's variance the size explains (None: sizes unknown or all equal)."""
    ks: float | None
    """KS distance of log(D) from the fitted normal: how lognormal the spread is."""


def failure_rate(fail_attempts: list[int], max_attempts: int) -> tuple[float, int]:
    """(failed attempts / attempts, attempts) over files whose ``fail_attempts`` is known."""
    failed = sum(min(f, max_attempts) for f in fail_attempts)
    attempts = failed + sum(1 for f in fail_attempts if f < max_attempts)
    return (failed / attempts if attempts else 0.0), attempts


def shifted_lognormal(rest: np.ndarray, steps: int = 400) -> tuple[float, float, float]:
    """(shift, mean of the lognormal part, sigma) maximising the likelihood of ``rest`` = shift + lognormal.

    The profile likelihood over the shift c in [0, min(rest)): for each c, mu and sigma are the mean and
    standard deviation of log(rest - c), and the log-likelihood is -sum log(rest - c) - n log sigma. A grid
    is enough: the shift is weakly determined (a start-up and a longer run look alike), so its precision is
    the data's, not the optimiser's."""
    low = float(rest.min())
    if float(np.ptp(rest)) <= 1e-9 * max(1.0, abs(float(rest.mean()))):   # every run took the same time
        return 0.0, float(rest.mean()), 0.0
    best: tuple[float, float, float, float] | None = None
    for c in np.linspace(0.0, max(0.0, low) * 0.995, steps) if low > 0 else [0.0]:
        logs = np.log(np.maximum(rest - c, 1e-9))
        sigma = float(logs.std())
        if sigma <= 0:
            continue
        likelihood = -float(logs.sum()) - len(logs) * math.log(sigma)
        if best is None or likelihood > best[0]:
            best = (likelihood, float(c), float(logs.mean()), sigma)
    if best is None:
        return 0.0, float(rest.mean()), 0.0
    _, shift, mu, sigma = best
    return shift, math.exp(mu + sigma**2 / 2), sigma


def fit_runtime(durations: list[float], sizes_mb: list[float | None], fail_attempts: list[int],
                max_attempts: int) -> RuntimeFit | None:
    """The run-time model of these runs (one per file, its first attempt's duration); None below MIN_RUNS."""
    rate, attempts = failure_rate(fail_attempts, max_attempts)
    y = np.asarray(durations, dtype=float)
    if len(y) < MIN_RUNS:
        return None
    known = np.asarray([s is not None for s in sizes_mb])
    x = np.asarray([s if s is not None else 0.0 for s in sizes_mb], dtype=float)
    slope, r2 = 0.0, None
    if known.all() and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        if slope < 0:   # a larger file never runs shorter: no size effect, the mean explains what it can
            slope, intercept = 0.0, float(y.mean())
        slope = float(slope)
        fitted = intercept + slope * x
        total = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - float(((y - fitted) ** 2).sum()) / total if total > 0 else None
    rest = y - slope * x   # startup + D
    startup, mean_d, sigma = shifted_lognormal(rest)
    d = rest - startup
    ks = None
    if sigma > 0 and (d > 0).all():
        logs = np.sort(np.log(d))
        mu = math.log(mean_d) - sigma**2 / 2
        cdf = np.asarray([0.5 * (1 + math.erf((v - mu) / (sigma * math.sqrt(2)))) for v in logs])
        n = len(logs)
        ks = float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))
    return RuntimeFit(len(y), max(0.0, startup), mean_d, sigma, slope, rate, attempts, r2, ks)
