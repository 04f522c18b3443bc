"""The seed card's design, kept to compare against: one FIFO message per file, deleted when StartJobRun answers.

The card's dispatcher starts the run and returns, so SQS deletes the message and the group's next file may
start while the first still runs; a start refused for lack of a Glue slot fails the Lambda, and the message
comes back after the queue's visibility timeout; a failed run is not retried (``lost``). There is no
ledger, no lease and no completion path, so nothing of ``runtime.decide`` applies: this is the design the
project replaced, not a second copy of its rules.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from landing_pipeline.runtime.contract import GLUE_SUCCEEDED
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.attempts import Attempts
from landing_pipeline.simulator.capacity import dpus, duration_scale, glue_capacity
from landing_pipeline.simulator.feed_models import job_plan
from landing_pipeline.simulator.glue import Glue, Run
from landing_pipeline.simulator.glue_slots import GlueSlots
from landing_pipeline.simulator.ledger import LOST, SUCCEEDED, FileLedger, RunLog, Series
from landing_pipeline.simulator.model import Design
from landing_pipeline.simulator.ordered_queue import OrderedQueue, uniform_stream
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.workload import Workload


class SeedModel:
    """The card's flow: per group a line of file messages; the head is delivered when the previous started."""

    design: Design = "seed"

    def __init__(self, env: simpy.Environment, spec: PipelineSpec, scenario: Scenario, workload: Workload,
                 rng: np.random.Generator, reference_dpus: float | None = None):
        self.env, self.spec, self.w, self.scenario = env, spec, workload, scenario
        over, job = scenario.overheads, scenario.job
        groups, files = len(workload.group_names), workload.files
        self.deliverable = OrderedQueue(env)
        self.lines: list[deque[int]] = [deque() for _ in range(groups)]
        self.delivering = [False] * groups
        self.glue_slots = GlueSlots(env, groups, glue_capacity(spec, scenario))
        self.random = uniform_stream(rng)
        self.dpus = dpus(spec)
        reference = reference_dpus or self.dpus
        self.draws = Attempts(workload, job, lambda model: duration_scale(spec, reference, model.parallel_fraction),
                              float(spec.job_timeout_s), rng, self.random, job_plan(scenario, spec, workload))
        self.glue = Glue(self.glue_slots, self.draws, over.glue_start_s.stream(rng))
        self.dispatch_latency = None if over.dispatcher_s.is_zero else over.dispatcher_s.stream(rng)
        self.visibility_s = float(spec.queue_visibility_s(spec.dispatcher_timeout_s))
        self.min_billed_s = scenario.prices.glue_minimum_billed_s
        self.ledger = FileLedger.empty(files)
        self.late = [False] * files
        self.run_flat: list[float] = []
        self.series = Series()
        self.outstanding = files
        self.deliveries = self.refused = self.queued = self.inflight = self.backlog_max = 0
        self.dead = self.blocked = self.retries = 0
        self.last_final_s = 0.0
        self._runs: RunLog | None = None

    def enqueue(self, fid: int) -> None:
        g = self.w.group[fid]
        self.lines[g].append(fid)
        self.queued += 1
        self.backlog_max = max(self.backlog_max, self.queued - self.inflight)
        if not self.delivering[g]:
            self.delivering[g] = True
            self.deliverable.offer(g)

    def try_start(self, g: int) -> None:
        fid = self.lines[g][0]
        now = self.env.now
        run = self.glue.start(f"seed-{fid}", g, (fid,), (1,), now, now)
        if run is None:   # the Lambda fails: the message comes back after the visibility timeout
            self.refused += 1
            self.env.timeout(self.visibility_s, value=g).callbacks.append(self._visible_again)
            return
        self.run_flat.extend((fid, now, now, run.running_at, run.end, float(run.state == GLUE_SUCCEEDED)))
        self.ledger.first_start[fid] = run.running_at
        self.ledger.attempts[fid] = 1
        self.lines[g].popleft()   # the Lambda returns, SQS deletes the message, the group moves on
        self.queued -= 1
        self.inflight -= 1
        if self.lines[g]:
            self.deliverable.offer(g)
        else:
            self.delivering[g] = False
        self.env.timeout(run.end - now, value=run).callbacks.append(self._ended)

    def _visible_again(self, event: Any) -> None:
        self.inflight -= 1
        self.deliverable.offer(event.value)

    def _ended(self, event: Any) -> None:
        run: Run = event.value
        fid, now = run.fids[0], self.env.now
        ok = run.state == GLUE_SUCCEEDED
        self.ledger.status[fid] = SUCCEEDED if ok else LOST
        self.ledger.final_s[fid] = now
        if ok:
            self.ledger.done_s[fid] = now
        self.outstanding -= 1
        self.last_final_s = max(self.last_final_s, now)

    @property
    def runs(self) -> RunLog:
        self._runs = RunLog.of(self._runs, self.run_flat)
        return self._runs

    @property
    def glue_runs(self) -> int:
        return len(self.glue.runs)

    def leases(self) -> tuple[np.ndarray, np.ndarray]:
        """The card has no lease: a file starts when its StartJobRun is answered."""
        return self.runs.file, self.runs.lease_at

    @property
    def busy(self) -> bool:
        return self.outstanding > 0

    def sample(self) -> None:
        slots = self.glue_slots
        slots.free_ended()
        self.series.add(self.env.now, self.queued - self.inflight, self.inflight, slots.runs_alive,
                        slots.groups_running)


def seed_router(env: simpy.Environment, model: SeedModel) -> Generator[simpy.Event, Any, None]:
    enqueue_s = model.w.enqueue_s
    for fid in range(len(enqueue_s)):
        delay = enqueue_s[fid] - env.now
        if delay > 0:
            yield env.timeout(delay)
        model.enqueue(fid)


def seed_dispatcher(env: simpy.Environment, model: SeedModel) -> Generator[simpy.Event, Any, None]:
    while True:
        g = yield model.deliverable.get()
        model.deliveries += 1
        model.inflight += 1
        if model.dispatch_latency is not None:
            yield env.timeout(model.dispatch_latency())
        model.try_start(g)

