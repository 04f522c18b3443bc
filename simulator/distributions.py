"""Random durations and sizes, and the small readers that turn YAML values into them.

A scenario states durations as ``{dist: lognormal, mean_s: 120, sigma: 0.6}``
and sizes as ``{dist: lognormal, mean_mb: 5, sigma: 1}``; a plain number is a
fixed value. Lognormals are parametrised by their *mean* (not the underlying
normal's mu) because that is what a user reads off their run history.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from landing_pipeline.simulator.errors import Problems

DistKind = Literal["fixed", "exponential", "lognormal"]
DIST_KINDS: tuple[DistKind, ...] = ("fixed", "exponential", "lognormal")


@dataclass(frozen=True)
class Distribution:
    """A non-negative random quantity with a known mean."""

    kind: DistKind
    mean: float
    sigma: float = 0.0

    @classmethod
    def fixed(cls, value: float) -> Distribution:
        return cls("fixed", float(value))

    @property
    def is_zero(self) -> bool:
        return self.mean == 0.0

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A zero-argument function drawing one value; built once, called per file or run (hot path)."""
        mean = self.mean
        if self.kind == "fixed" or mean == 0.0:
            return lambda: mean
        if self.kind == "exponential":
            rate = 1.0 / mean
            expo = rng.expovariate
            return lambda: expo(rate)
        sigma = self.sigma
        mu = math.log(mean) - sigma * sigma / 2.0
        lognorm = rng.lognormvariate
        return lambda: lognorm(mu, sigma)

    def stream(self, rng: np.random.Generator, chunk: int = 16384) -> Callable[[], float]:
        """Like ``sampler`` but drawn in numpy chunks: a call costs a generator step, not a Python draw."""
        if self.kind == "fixed" or self.mean == 0.0:
            mean = self.mean
            return lambda: mean

        def values() -> Iterator[float]:
            while True:
                yield from draw_many(self, rng, chunk).tolist()
        return values().__next__

    def describe(self, unit: str = "s") -> str:
        if self.kind == "fixed":
            return f"{self.mean:g} {unit}"
        if self.kind == "exponential":
            return f"exponential, mean {self.mean:g} {unit}"
        return f"lognormal, mean {self.mean:g} {unit}, sigma {self.sigma:g}"


def draw_many(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` independent draws at once, for the stages computed ahead of the event loop."""
    if dist.kind == "fixed" or dist.mean == 0.0:
        return np.full(n, dist.mean)
    if dist.kind == "exponential":
        return rng.exponential(dist.mean, n)
    mu = math.log(dist.mean) - dist.sigma**2 / 2.0
    return rng.lognormal(mu, dist.sigma, n)


def read_number(problems: Problems, where: str, value: Any, *, minimum: float = 0.0,
                strictly_positive: bool = False, fix: str = "") -> float | None:
    """A finite number >= minimum (or > 0); records a problem and returns None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.add(where, value, "expected a number", fix or "write a plain number such as 30 or 0.5")
        return None
    if strictly_positive and value <= 0:
        problems.add(where, value, "must be greater than 0", fix or "use a positive number")
        return None
    if value < minimum:
        problems.add(where, value, f"must be at least {minimum:g}", fix or f"use a number >= {minimum:g}")
        return None
    return float(value)


def read_int(problems: Problems, where: str, value: Any, *, minimum: int = 0, fix: str = "") -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.add(where, value, f"expected a whole number >= {minimum}", fix or f"write e.g. {max(minimum, 1)}")
        return None
    return value


def read_distribution(problems: Problems, where: str, value: Any, unit: Literal["s", "mb"]) -> Distribution | None:
    """``5`` (fixed) or ``{dist: fixed|exponential|lognormal, ...}`` with the unit's mean key."""
    fixed_key, mean_key = ("seconds", "mean_s") if unit == "s" else ("mb", "mean_mb")
    example = (f"{{dist: lognormal, {mean_key}: 120, sigma: 0.5}}" if unit == "s"
               else f"{{dist: lognormal, {mean_key}: 5, sigma: 1}}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = read_number(problems, where, value)
        return None if number is None else Distribution.fixed(number)
    if not isinstance(value, Mapping):
        problems.add(where, value, "expected a number or a distribution", f"write e.g. {example}")
        return None
    kind = value.get("dist")
    if kind not in DIST_KINDS:
        problems.add(f"{where}.dist", kind, "not a known distribution", f"use one of: {', '.join(DIST_KINDS)}")
        return None
    allowed = {"dist", fixed_key if kind == "fixed" else mean_key, "per_mb_s"}
    if kind == "lognormal":
        allowed.add("sigma")
    for extra in sorted(set(value) - allowed):
        problems.add(f"{where}.{extra}", value[extra], f"not a field of a {kind} distribution",
                     f"use only: {', '.join(sorted(allowed - {'per_mb_s'}))}")
    if kind == "fixed":
        number = read_number(problems, f"{where}.{fixed_key}", value.get(fixed_key),
                             fix=f"write {{dist: fixed, {fixed_key}: 60}}")
        return None if number is None else Distribution.fixed(number)
    mean = read_number(problems, f"{where}.{mean_key}", value.get(mean_key), strictly_positive=True,
                       fix=f"write {{dist: {kind}, {mean_key}: 60{', sigma: 0.5' if kind == 'lognormal' else ''}}}")
    if kind == "exponential":
        return None if mean is None else Distribution("exponential", mean)
    sigma = read_number(problems, f"{where}.sigma", value.get("sigma"),
                        fix="give the spread of log-values, e.g. sigma: 0.5 (0.1 narrow, 1.0 wide)")
    if mean is None or sigma is None:
        return None
    return Distribution("lognormal", mean, sigma)
