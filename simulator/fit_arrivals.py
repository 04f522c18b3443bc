"""Fitting an arrival process to one family's landing times: rate, diurnal shape, bursts, goodness of fit.

The scenario format has three processes, so the fit says a history in their terms: bursts (``burst:``) are
runs of minutes far busier than the minutes around them (a rolling median, so a busy afternoon is not a
burst); the rest is ``poisson:`` at its mean rate, or ``diurnal:`` when a cosine day (the simulator's
shape: peak hour, peak and trough rates) fits the hourly counts significantly better
(``DIURNAL_CHI2``). Goodness of fit:

* KS distance of the rescaled gaps: by the time-rescaling theorem, gaps between arrivals measured in the
  fitted process's expected counts are Exp(1) if the process is right; ``ks_critical`` is the 5 % level.
* hourly error: sum |observed - fitted| over the clock hours / files, the share of files misplaced by hour.
* index of dispersion of per-minute counts (variance / mean): about 1 for Poisson arrivals, far above for
  a bursty history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BIN_S = 60.0
MIN_BURST_FILES = 10
DIURNAL_MIN_WINDOW_S = 6 * 3600.0
DIURNAL_CHI2 = 13.8
"""How much better (chi-square of the hourly counts) the cosine day must fit than a flat rate: the 0.1 %
level for its two extra parameters, so a flat history's hour-to-hour noise is not read as a day's shape."""


@dataclass(frozen=True)
class BurstFit:
    at_s: float
    files: int
    spread_s: float


@dataclass(frozen=True)
class ArrivalFit:
    kind: str   # poisson | diurnal
    files: int
    rate_per_s: float   # the background's mean rate
    peak_rate_per_s: float
    trough_rate_per_s: float
    peak_hour: float
    bursts: tuple[BurstFit, ...]
    dispersion: float | None
    ks: float | None
    ks_critical: float | None
    hourly_error: float | None


def _bursts(times: np.ndarray, window_s: float) -> tuple[list[BurstFit], np.ndarray]:
    """Bursts found, and a mask of the times left to the background process."""
    bins = max(1, math.ceil(window_s / BIN_S))
    counts = np.bincount(np.minimum((times / BIN_S).astype(np.int64), bins - 1), minlength=bins).astype(float)
    half = 30
    padded = np.pad(counts, half, mode="edge")
    baseline = np.asarray([np.median(padded[i:i + 2 * half + 1]) for i in range(bins)])
    heavy = counts > baseline + 4 * np.sqrt(np.maximum(baseline, 0.25)) + 3
    keep = np.ones(len(times), dtype=bool)
    found: list[BurstFit] = []
    index = 0
    while index < bins:
        if not heavy[index]:
            index += 1
            continue
        end = index
        while end + 1 < bins and (heavy[end + 1] or (end + 2 < bins and heavy[end + 2])):
            end += 1
        excess = round(float((counts[index:end + 1] - baseline[index:end + 1]).sum()))
        inside = (times >= index * BIN_S) & (times < (end + 1) * BIN_S)
        if excess >= MIN_BURST_FILES:
            span = times[inside]
            found.append(BurstFit(float(span.min()), excess, float(span.max() - span.min())))
            keep &= ~inside
        index = end + 1
    return found, keep


def _cosine(hours: np.ndarray, rates: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """(mean, amplitude, peak hour) of the weighted least-squares cosine day through hourly rates."""
    angle = 2 * np.pi * hours / 24.0
    design = np.column_stack((np.ones_like(angle), np.cos(angle), np.sin(angle)))
    w = np.sqrt(weights)
    (a, b, c), *_ = np.linalg.lstsq(design * w[:, None], rates * w, rcond=None)
    return float(a), float(math.hypot(b, c)), float((math.atan2(c, b) * 24 / (2 * np.pi)) % 24)


def fit_arrivals(times_s: list[float], window_s: float, start_clock_s: float) -> ArrivalFit:
    """The process of these landing times (seconds from the scenario's start) over ``window_s``."""
    times = np.sort(np.asarray(times_s, dtype=float))
    window_s = max(window_s, float(times.max()) + 1.0 if len(times) else 1.0)
    bursts, keep = _bursts(times, window_s)
    background = times[keep]
    burst_span = sum(max(b.spread_s, BIN_S) for b in bursts)
    exposure = max(window_s - burst_span, 1.0)
    rate = len(background) / exposure
    # hourly counts on the clock: hour bins of the window, with the seconds of each the window covers
    first_hour = math.floor(start_clock_s / 3600)
    last_hour = math.ceil((start_clock_s + window_s) / 3600)
    edges = np.arange(first_hour, last_hour + 1) * 3600.0 - start_clock_s
    covered = np.diff(np.clip(edges, 0.0, window_s))
    observed = np.histogram(background, bins=edges)[0].astype(float)
    hours = (np.arange(first_hour, last_hour) + 0.5) % 24
    used = covered > 0
    flat = rate * covered
    kind, peak, trough, peak_hour, expected = "poisson", rate, rate, 12.0, flat
    if window_s >= DIURNAL_MIN_WINDOW_S and len(background) >= 20:
        mean, amplitude, peak_hour = _cosine(hours[used], observed[used] / covered[used], covered[used])
        peak, trough = mean + amplitude, max(0.0, mean - amplitude)
        shaped = (trough + (peak - trough) * (1 + np.cos(2 * np.pi * (hours - peak_hour) / 24)) / 2) * covered
        if _chi2(observed, flat) - _chi2(observed, shaped) > DIURNAL_CHI2 and amplitude > 0.2 * mean:
            kind, expected = "diurnal", shaped
        else:
            peak, trough, peak_hour = rate, rate, 12.0
    hourly_error = float(np.abs(observed - expected).sum() / len(background)) if len(background) else None
    ks, critical = _ks(background, kind, rate, peak, trough, peak_hour, start_clock_s)
    counts = np.bincount((times / BIN_S).astype(np.int64)) if len(times) else np.zeros(1)
    dispersion = float(counts.var() / counts.mean()) if len(times) > 1 and counts.mean() > 0 else None
    return ArrivalFit(kind, len(times), rate, peak, trough, peak_hour, tuple(bursts), dispersion, ks, critical,
                      hourly_error)


def _chi2(observed: np.ndarray, expected: np.ndarray) -> float:
    used = expected > 0
    return float((((observed - expected) ** 2)[used] / expected[used]).sum())


def _ks(times: np.ndarray, kind: str, rate: float, peak: float, trough: float, peak_hour: float,
        start_clock_s: float) -> tuple[float | None, float | None]:
    """KS distance of the time-rescaled gaps from Exp(1), and the 5 % critical value."""
    if len(times) < 3:
        return None, None
    if kind == "poisson":
        cumulative = rate * times
    else:
        mean, amplitude = (peak + trough) / 2, (peak - trough) / 2
        day = 86400.0 / (2 * np.pi)
        phase = 2 * np.pi * ((start_clock_s + times) / 3600.0 - peak_hour) / 24.0
        cumulative = mean * times + amplitude * day * np.sin(phase)
    gaps = np.sort(np.diff(cumulative))
    n = len(gaps)
    cdf = 1.0 - np.exp(-np.maximum(gaps, 0.0))
    distance = float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))
    return distance, 1.36 / math.sqrt(n)
