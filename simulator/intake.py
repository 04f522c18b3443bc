"""The intake and the router: from a file landing to its message in the ordered (FIFO) queue.

Nothing downstream feeds back into this stage (the router never waits for
Glue), so it is computed ahead of the event loop, for all files at once:
EventBridge delivery, the router's poll, and the router's invocations, which
take batches of up to ``ROUTER_BATCH`` messages and are capped by the account's
Lambda concurrency. The resulting times are when the router records each file in the
ledger; the ledger, not this order, decides the order within a group (``orderBy``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from landing_pipeline.simulator.distributions import draw_many
from landing_pipeline.simulator.overheads import Overheads

ROUTER_BATCH = 10  # the router's event source mapping batch size (docs/interfaces.md)


@dataclass
class Intake:
    enqueue_s: np.ndarray
    """When each file's message is in the ordered queue, in landing order."""
    router_invocations: int


def run_intake(land_s: np.ndarray, overheads: Overheads, lambda_concurrency: int,
               rng: np.random.Generator, event_delay_s: np.ndarray | None = None) -> Intake:
    """``event_delay_s``: per file, how much later than usual its S3 event reaches EventBridge."""
    n = len(land_s)
    sent = land_s if event_delay_s is None else land_s + event_delay_s
    if overheads.intake_is_zero or n == 0:
        return Intake(sent.astype(float, copy=True), n)
    ready = sent + draw_many(overheads.eventbridge_s, rng, n) + draw_many(overheads.router_poll_s, rng, n)
    invoke = draw_many(overheads.router_invoke_s, rng, n)
    if _peak_concurrency(ready, invoke) < lambda_concurrency:
        return Intake(ready + invoke, n)  # never saturated: each message handled as it comes
    return _saturated(ready, invoke, lambda_concurrency)


def _peak_concurrency(ready: np.ndarray, invoke: np.ndarray) -> int:
    """An upper bound of concurrent router invocations if each message had its own."""
    starts = np.sort(ready)
    longest = float(invoke.max()) if len(invoke) else 0.0
    in_window = np.searchsorted(starts, starts + longest, side="right") - np.arange(len(starts))
    return int(in_window.max()) if len(in_window) else 0


def _saturated(ready: np.ndarray, invoke: np.ndarray, concurrency: int) -> Intake:
    """Every invocation busy: messages wait in the intake queue and are taken in batches as routers free up."""
    order = np.argsort(ready, kind="stable")
    times = ready[order].tolist()
    durations = invoke[order].tolist()
    enqueue = [0.0] * len(times)
    busy: list[float] = []  # end times of running invocations
    invocations = 0
    j, n = 0, len(times)
    while j < n:
        start = times[j]
        while busy and busy[0] <= start:
            heapq.heappop(busy)
        if len(busy) >= concurrency:
            start = heapq.heappop(busy)
        k = j + 1
        while k < n and k - j < ROUTER_BATCH and times[k] <= start:
            k += 1
        end = start + durations[j]
        for i in range(j, k):
            enqueue[i] = end
        heapq.heappush(busy, end)
        invocations += 1
        j = k
    result = np.empty(len(times))
    result[order] = enqueue
    return Intake(result, invocations)
