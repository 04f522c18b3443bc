"""The SimPy processes that drive the model, named after the actors of the deployed flow.

``router`` sends each file to the ordered queue at the time the intake stage computed; ``dispatcher`` is
one of the dispatcher Lambda's concurrent invocation slots (``max(2, maxParallelGroups)`` of them run).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from landing_pipeline.simulator.model import PipelineModel


def router(env: simpy.Environment, model: PipelineModel) -> Generator[simpy.Event, Any, None]:
    """Sends each file to the ordered queue at the time the intake stage computed for it."""
    enqueue_s = model.w.enqueue_s
    timeout, enqueue = env.timeout, model.enqueue
    for fid in range(len(enqueue_s)):
        delay = enqueue_s[fid] - env.now
        if delay > 0:
            yield timeout(delay)
        enqueue(fid)


def dispatcher(env: simpy.Environment, model: PipelineModel) -> Generator[simpy.Event, Any, None]:
    """One concurrent dispatcher invocation slot: receive a group's head message, try to start its run."""
    get, deliver, try_start = model.ordered_queue.get, model.deliver, model.try_start
    latency, timeout = model.dispatch_latency, env.timeout
    while True:
        g = yield get()
        fid = deliver(g)
        if fid < 0:
            continue
        if latency is not None:
            yield timeout(latency())
        try_start(g, fid)
