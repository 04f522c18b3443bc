"""The SimPy model of the deployed flow: ordered queue with the group hold, dispatcher, Glue, completion.

Step names follow ``runtime/``: the router enqueues, the ordered (FIFO) queue
delivers one message per group at a time, the dispatcher starts the Glue run
(or, refused a slot, parks the message as a waiter: the Glue-slot handoff), the
run holds a MaxConcurrentRuns slot, and the completion handler deletes the held
message (success), sets a retry backoff (failure) or parks the file as DEAD,
then wakes the oldest waiter for the slot the run freed.

Structure, chosen for speed and checkability: ``c`` long-lived dispatcher
processes pull ready group ids from one ``simpy.Store`` (the ordered queue's
deliverable groups); each group's files wait in a plain deque; Glue runs and
completions are timeouts with callbacks, and finished runs free their slot
lazily (``simulator.glue_slots``), so a file costs about four events; waiters
for a slot live in ``simulator.handoff``.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any, Literal

import numpy as np
import simpy

from landing_pipeline.runtime.queues import (
    throttle_backoff_s,  # the pre-handoff dispatcher's backoff, jitter included
    waiting_visibility_s,  # the dispatcher's fallback for a file waiting for a slot
)
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.attempts import Attempts
from landing_pipeline.simulator.capacity import dpus, duration_scale, glue_capacity
from landing_pipeline.simulator.glue_slots import GlueSlots
from landing_pipeline.simulator.handoff import WaitingLine
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, LOST, SUCCEEDED, FileLedger, RunLog, Series
from landing_pipeline.simulator.ordered_queue import OrderedQueue, uniform_stream
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.workload import Workload

Design = Literal["held", "seed"]


class PipelineModel:
    """State of one simulated pipeline; the processes in ``simulator.processes`` drive it.

    The hot paths avoid per-event bookkeeping beyond what the metrics need: billable requests are
    derived afterwards from the counters (``simulator.billing``), and first attempts are drawn at once.
    """

    def __init__(self, env: simpy.Environment, spec: PipelineSpec, scenario: Scenario, workload: Workload,
                 design: Design, rng: np.random.Generator, reference_dpus: float | None = None):
        self.env, self.spec, self.w, self.design = env, spec, workload, design
        over, job = scenario.overheads, scenario.job
        self.ordered_queue = OrderedQueue(env)
        groups, files = len(workload.group_names), workload.files
        self.queues: list[deque[int]] = [deque() for _ in range(groups)]
        self.busy = [False] * groups  # the group has a message in flight or already in ordered_queue
        self.halted = [False] * groups
        self.glue = GlueSlots(env, groups, glue_capacity(spec, scenario))
        self.waiting: deque[tuple[int, int]] = deque()  # throttle "wait": starts queued for a Glue slot
        self.line = WaitingLine(files)  # who waits for a slot, since when; the handoff's by_waiting index
        self.ledger = FileLedger.empty(files)
        self.run_flat: list[float] = []  # per run: file, RUNNING at, end, succeeded (flat: one extend per run)
        self.run_dispatched: list[float] = []  # per run: StartJobRun answered, when its slot is taken
        self._runs: RunLog | None = None
        self.attempts, self.first_start = self.ledger.attempts, self.ledger.first_start
        self.group = workload.group
        self.series = Series()
        self.deleted = [False] * files
        self.oldest_ptr = 0
        self.outstanding = files
        self.queued = self.inflight = self.backlog_max = 0
        self.throttled_starts = self.blocked = 0
        self.deliveries = self.retries = self.dead = 0
        self.oldest_age_max_s = 0.0
        self.last_final_s = 0.0
        self.held = design == "held"
        self.wait_mode = over.throttle == "wait"
        self.handoff = self.held and over.throttle == "handoff"
        self.fallback_s = float(waiting_visibility_s(spec))
        self.dispatch_latency = None if over.dispatcher_s.is_zero else over.dispatcher_s.stream(rng)
        self.glue_start = over.glue_start_s.stream(rng)
        self.completion_delay = over.completion_s.stream(rng) if self.held else (lambda: 0.0)
        self.completion_is_zero = not self.held or over.completion_s.is_zero
        self.random = uniform_stream(rng)
        self.jitter = random.Random(int(rng.integers(2**62)))  # the dispatcher's own backoff jitter
        self.dpus = dpus(spec)
        self.draws = Attempts(workload, job, duration_scale(spec, reference_dpus or self.dpus, job.parallel_fraction),
                              float(spec.job_timeout_s), rng, self.random)
        self.first_run_s, self.first_ok = self.draws.first_run_s, self.draws.first_ok
        self.max_attempts = spec.max_attempts
        self.ceiling = spec.receive_ceiling
        self.block = spec.on_failure == "block"
        self.seed_visibility_s = float(spec.queue_visibility_s(spec.dispatcher_timeout_s))
        self.min_billed_s = scenario.prices.glue_minimum_billed_s

    # --- the ordered queue ---------------------------------------------------------------------
    def enqueue(self, fid: int) -> None:
        """The router's SendMessage: the file joins its group's line; the group becomes deliverable if idle."""
        g = self.group[fid]
        self.queued += 1
        if self.queued - self.inflight > self.backlog_max:
            self.backlog_max = self.queued - self.inflight
        if self.halted[g]:
            self.ledger.status[fid] = BLOCKED
            self.blocked += 1
            self.outstanding -= 1
            return
        self.queues[g].append(fid)
        if not self.busy[g]:
            self.busy[g] = True
            self.ordered_queue.offer(g)

    def deliver(self, g: int) -> int:
        """A receive: the group's head message goes in flight. -1 when SQS moved it to the DLQ instead."""
        fid = self.queues[g][0]
        self.inflight += 1
        receives = self.ledger.receives
        count = receives[fid] = receives[fid] + 1
        if count > self.ceiling:
            self.ledger.dead_by_ceiling += 1
            if self.line.since[fid] >= 0:
                self.line.stopped(fid, self.env.now)
            self._dead(g, fid)
            return -1
        self.deliveries += 1
        return fid

    def _release(self, g: int, fid: int) -> None:
        """DeleteMessage (or a move to the DLQ): the group's next file may be delivered."""
        queue = self.queues[g]
        queue.popleft()
        self.queued -= 1
        self.inflight -= 1
        self.deleted[fid] = True
        if fid == self.oldest_ptr:
            self._advance_oldest(fid)
        if queue and not self.halted[g]:
            self.ordered_queue.offer(g)
        else:
            self.busy[g] = False

    def _advance_oldest(self, fid: int) -> None:
        """The oldest message left the queue: its age is a candidate for the maximum; find the next oldest."""
        age = self.env.now - self.w.enqueue_s[fid]
        if age > self.oldest_age_max_s:
            self.oldest_age_max_s = age
        deleted, ptr = self.deleted, fid
        n = len(deleted)
        while ptr < n and deleted[ptr]:
            ptr += 1
        self.oldest_ptr = ptr

    def visible_again(self, event: Any) -> None:
        """A backoff (throttle or retry) ran out: the message is visible and its group deliverable again."""
        self._visible(event.value)

    def _visible(self, g: int) -> None:
        self.inflight -= 1
        if self.queued - self.inflight > self.backlog_max:
            self.backlog_max = self.queued - self.inflight
        self.ordered_queue.offer(g)

    def _later(self, delay: float, g: int) -> None:
        """ChangeMessageVisibility(delay): the message stays invisible, and its group held, until then."""
        self.env.timeout(delay, value=g).callbacks.append(self.visible_again)

    # --- Glue ------------------------------------------------------------------------------------
    def try_start(self, g: int, fid: int) -> None:
        """The dispatcher calls StartJobRun: a run, or ConcurrentRunsExceeded (wait, back off or fail)."""
        if self.glue.has_free():
            self._start(g, fid)
            return
        self.throttled_starts += 1
        self.line.throttled(fid, self.env.now)
        if self.handoff:  # park as a waiter, with the fallback visibility in case no wake-up comes
            ticket = self.line.park(fid)
            self.env.timeout(self.fallback_s, (fid, ticket)).callbacks.append(self._fallback)
        elif self.wait_mode:
            self.waiting.append((g, fid))
        elif self.held:
            self._later(throttle_backoff_s(self.spec, self.ledger.receives[fid], self.jitter), g)
        else:
            self._later(self.seed_visibility_s, g)  # the card's Lambda fails; the message reappears later

    def _start(self, g: int, fid: int) -> None:
        now = self.env.now
        if self.line.since[fid] >= 0:
            self.line.stopped(fid, now)
        attempts = self.attempts
        attempt = attempts[fid] = attempts[fid] + 1
        running_at = now + self.glue_start()
        if attempt == 1:
            run_s, ok = self.first_run_s[fid], self.first_ok[fid]
            self.first_start[fid] = running_at
        else:
            run_s, ok = self.draws.retry(fid, attempt)
        end = running_at + run_s
        self.run_flat.extend((fid, running_at, end, ok))
        self.run_dispatched.append(now)
        self.glue.take(g, end)
        if not self.held:
            self._release(g, fid)  # the card: the Lambda returns, SQS deletes, the group moves on
        completion = self.completion_delay()
        if completion > 0 and self.wait_mode:
            self.env.timeout(end - now).callbacks.append(self._slot_freed)
        self.env.timeout(end - now + completion, (g, fid, ok, end)).callbacks.append(self.completed)

    def _slot_freed(self, _event: simpy.Event) -> None:
        self._start_waiting()

    def _fallback(self, event: Any) -> None:
        """A parked waiter's fallback visibility ran out (no wake-up reached it): it is delivered again."""
        fid, ticket = event.value
        if self.line.fallback(fid, ticket):
            self._visible(self.group[fid])

    def _wake_one(self) -> None:
        """The completion handler's ChangeMessageVisibility(0) on the oldest waiter with a valid handle."""
        fid = self.line.wake_oldest()
        if fid >= 0:
            self._visible(self.group[fid])

    def _start_waiting(self) -> None:
        while self.waiting and self.glue.has_free():
            g, fid = self.waiting.popleft()
            self._start(g, fid)

    # --- completion ------------------------------------------------------------------------------
    def completed(self, event: Any) -> None:
        """The completion handler: success deletes the held message; failure retries or parks the file.

        With the handoff it first wakes the oldest waiter for the slot the run freed (runtime.outcomes wakes
        before it deletes, so the group's next file does not get a head start on the waiter)."""
        g, fid, ok, ended = event.value
        ledger = self.ledger
        if self.handoff:
            self._wake_one()
        if ok:
            ledger.status[fid] = SUCCEEDED
            ledger.done_s[fid] = ledger.final_s[fid] = now = self.env.now
            self.outstanding -= 1
            if now > self.last_final_s:
                self.last_final_s = now
            if self.held:
                self._release(g, fid)
        elif not self.held:
            ledger.status[fid] = LOST  # the card has no retry: the message is long gone
            ledger.final_s[fid] = self.env.now
            self._finished()
        elif ledger.attempts[fid] >= self.max_attempts:
            self._dead(g, fid)
        else:
            self.retries += 1
            # as runtime.outcomes.retry_delay_s: the backoff counts from when the attempt ended
            backoff = self.spec.retry_backoff_s(ledger.attempts[fid]) - (self.env.now - ended)
            self._later(max(0.0, float(backoff)), g)
        if self.wait_mode and self.completion_is_zero:
            self._start_waiting()

    def _dead(self, g: int, fid: int) -> None:
        """Parked in the FIFO DLQ; with on_failure=block the rest of the group waits for an operator."""
        self.dead += 1
        self.ledger.status[fid] = DEAD
        self.ledger.final_s[fid] = self.env.now
        self._finished()
        if self.block:
            self.halted[g] = True
            rest = list(self.queues[g])[1:]
            for other in rest:
                self.ledger.status[other] = BLOCKED
            self.blocked += len(rest)
            self.outstanding -= len(rest)
        self._release(g, fid)

    def _finished(self) -> None:
        self.outstanding -= 1
        if self.env.now > self.last_final_s:
            self.last_final_s = self.env.now

    @property
    def runs(self) -> RunLog:
        if self._runs is None or 4 * len(self._runs) != len(self.run_flat):
            self._runs = RunLog.from_flat(self.run_flat)
        return self._runs

    def sample(self) -> None:
        glue = self.glue
        glue.free_ended()
        self.series.add(self.env.now, self.queued - self.inflight, self.inflight, glue.runs_alive,
                        glue.groups_running)
