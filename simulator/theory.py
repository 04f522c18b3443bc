"""Queueing formulas the model is checked against, and the confidence intervals used to compare.

With unique groups, no overheads, Poisson arrivals and exponential runs, the
pipeline *is* an M/M/c queue (c = Glue slots); with a single group it is M/M/1
whatever the slots. The tests hold the simulation to these within 3 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from landing_pipeline.simulator.arrival_specs import Poisson

if TYPE_CHECKING:
    from landing_pipeline.simulator.scenario import Scenario

# Two-sided 95 % Student t quantiles (0.975) by degrees of freedom; beyond 30 the normal 1.96 is close enough.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (offered load a = lambda/mu < c)."""
    if offered_load >= servers:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k! summed for k < c, computed iteratively to avoid overflow
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    last = term * offered_load / servers * servers / (servers - offered_load)
    return last / (total + last)


def mmc_wait_mean(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue (arrival to service start) of M/M/c."""
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


def mm1_wait_mean(arrival_rate: float, service_rate: float) -> float:
    if arrival_rate >= service_rate:
        return math.inf
    return arrival_rate / (service_rate * (service_rate - arrival_rate))


def t_quantile_975(degrees_of_freedom: int) -> float:
    if degrees_of_freedom < 1:
        return math.inf
    return _T975[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T975) else 1.96


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (0 for a single value)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, t_quantile_975(n - 1) * math.sqrt(variance / n)


def textbook_case(scenario: Scenario, capacity: int, settle_s: float = 0.0) -> dict[str, Any] | None:
    """The queueing-theory answer when the scenario is a textbook queue, to print beside the simulation.

    M/M/c: overheads none, Poisson arrivals into unique groups, exponential runs without startup or size
    term, no failures. M/M/1: the same into a single group (files of one group run one at a time). A settle
    window (``settleSeconds``, whole seconds) delays every file by exactly that long before it may start,
    and a Poisson process shifted by a constant is still Poisson: the wait is the settle plus the queue's.
    """
    job = scenario.job
    if (scenario.overheads.preset != "none" or job.duration.kind != "exponential" or job.startup_s
            or job.per_mb_s or job.failure_rate or not scenario.arrivals
            or not all(isinstance(p, Poisson) and p.start_s == 0 and p.end_s is None for p in scenario.arrivals)):
        return None
    processes = [p for p in scenario.arrivals if isinstance(p, Poisson)]
    rate = sum(p.rate_per_s for p in processes)
    service_rate = 1.0 / job.duration.mean
    if all(p.groups.count is None for p in processes):
        return {"model": f"M/M/{capacity}", "servers": capacity, "arrival_rate_per_s": rate,
                "utilization": rate / (service_rate * capacity), "settle_s": settle_s,
                "wait_mean_s": settle_s + mmc_wait_mean(rate, service_rate, capacity)}
    if len(processes) == 1 and processes[0].groups.count == 1:
        return {"model": "M/M/1", "servers": 1, "arrival_rate_per_s": rate, "utilization": rate / service_rate,
                "settle_s": settle_s, "wait_mean_s": settle_s + mm1_wait_mean(rate, service_rate)}
    return None
