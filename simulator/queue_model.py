"""The fast model (``--fast``): the held design's timing as a queue, for capacity questions at scale.

The protocol model (``simulator.model``) plays out every step the deployed handlers take, each decision
through ``runtime.decide``: about 3 decisions, 2 deliveries and 6 SimPy events a file, some 250 µs of CPU a
file, minutes for a saturated day of a million files. A capacity question (do 1,000 slots hold this day, what
does it cost, how long do files wait) depends on the timing those steps add up to, not on each step. This
model keeps the timing and drops the steps: per group the files in the stack's order (``orderBy``), the
settle window, batches, the ledger's slot counter and its line of waiting groups, each hop's latency drawn
from the scenario's overheads (the same streams and run draws as the protocol model), retries with the
deployed backoff, deaths, ``onFailure``. A heap of plain tuples replaces SimPy; nothing is allocated per file
beyond its records.

It is an approximation of the protocol model and is checked against it (``tests/simulator/test_fast_model.py``:
the same scenarios, latency percentiles, waits, peak parallelism and drain time within a stated tolerance),
not a second source of the rules' truth: the rules it follows are ``Policy``'s numbers and backoff.
What it does not model is refused before it runs (``simulator.queue_scope``): faults, ``lateFiles: park``, quotas
other than Glue's concurrent runs, and a Glue quota below ``maxParallelGroups`` (where the protocol model's
refused starts and their backoff decide the waits).
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from landing_pipeline.runtime.group_state import Policy
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.attempts import TIMEOUT, Attempts
from landing_pipeline.simulator.capacity import dpus, duration_scale
from landing_pipeline.simulator.feed_models import job_plan
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, SUCCEEDED
from landing_pipeline.simulator.model import sort_keys
from landing_pipeline.simulator.ordered_queue import uniform_stream
from landing_pipeline.simulator.ordering import ranks
from landing_pipeline.simulator.queue_records import QueueRecords, as_array
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.workload import Workload

WAKE, END, COMPLETE, PASS = 0, 1, 2, 3
"""Event kinds on the heap, as (time, sequence, kind, subject): a group's wake-up reaching a dispatcher, a
Glue run's end, the completion handler's release, a reconciler pass."""
MAX_SAMPLES = 1200
RunRecord = tuple[int, tuple[int, ...], int, str]
"""A run on the heap: its group, its files in the job's order, how many it finished, its final state."""


class QueueModel(QueueRecords):
    """The held design's timing: one slot pool, a line of waiting groups, each group's files in order."""

    design = "queue"

    def __init__(self, spec: PipelineSpec, scenario: Scenario, workload: Workload, rng: np.random.Generator,
                 reference_dpus: float | None = None):
        self.spec, self.scenario, self.w = spec, scenario, workload
        over, job = scenario.overheads, scenario.job
        groups, files = len(workload.group_names), workload.files
        self.policy = Policy.from_spec(spec)
        # per file, as compact arrays: the rank in the stack's order (the sort keys themselves, 100 B a file, are
        # not kept), the whole landing second, the size in bytes, when the settle or a retry's backoff ends
        self.rank = ranks(sort_keys(workload, spec.order_by))
        self.ranks = as_array("q", self.rank)
        landed = np.floor(np.asarray(workload.land_s, dtype=float))
        self.landed_at = as_array("d", landed)
        self.sizes = as_array("q", (np.maximum(np.asarray(workload.size_mb, dtype=float), 0.0) * 1_000_000))
        self.ready_at = as_array("d", landed + self.policy.settle_s)
        self.capacity = spec.max_parallel_groups
        self.random = uniform_stream(rng)
        self.dpus = dpus(spec)
        reference = reference_dpus or self.dpus
        self.draws = Attempts(workload, job, lambda model: duration_scale(spec, reference, model.parallel_fraction),
                              float(spec.job_timeout_s), rng, self.random, job_plan(scenario, spec, workload))
        self.glue_start = over.glue_start_s.stream(rng)
        self.dispatch = over.dispatcher_s.stream(rng)
        self.completion_delay = over.completion_s.stream(rng)
        super().__init__(files, scenario.prices.glue_minimum_billed_s, self.dpus)
        # per group
        self.pending: list[list[tuple[int, int]]] = [[] for _ in range(groups)]   # (rank, file), in order
        self.leased = [False] * groups
        self.woken = [False] * groups        # a wake-up is on its way to a dispatcher
        self.blocked_group = [False] * groups
        self.waiting_since = [-1.0] * groups
        self.last_started = [-1] * groups
        self.alone = bytearray(files)
        self.line: list[tuple[float, str, int]] = []   # the ledger's slot line: waiting since, group name
        self.in_line = bytearray(groups)   # the group's entry in ``line`` is current
        self.heap: list[tuple[float, int, int, object]] = []
        self.seq = 0
        self.slots_used = 0

    # --- the event loop --------------------------------------------------------------------------------------
    def run(self, drain_limit_s: float, progress: Callable[[int, int], None] | None = None) -> float:
        """Every file recorded in router order, every event in time order, the dashboard sampled in slices."""
        w, heap, pop = self.w, self.heap, heapq.heappop
        enqueue, files = w.enqueue_s, w.files
        limit = (enqueue[-1] if files else 0.0) + drain_limit_s
        step = max(self.scenario.duration_s / 400.0, 1.0)
        interval = self.policy.check_interval_s
        self._push(interval, PASS, None)
        handlers: Sequence[Callable[[Any, float], None]] = (self._wake, self._end, self._complete, self._pass)
        nxt, sample_at, inf = 0, step, math.inf
        self.sample()
        while nxt < files or (heap and self.busy):
            t_record = enqueue[nxt] if nxt < files else inf
            bound = t_record if t_record < sample_at else sample_at
            while heap and heap[0][0] < bound:   # the events before the next record or sample, in time order
                t, _, kind, subject = pop(heap)
                if t > limit:
                    return self._ended()
                self.now = t
                handlers[kind](subject, t)
            if sample_at <= t_record and (not heap or heap[0][0] >= sample_at):
                self.now = sample_at
                self.sample()
                sample_at += step
                if len(self.series.t) > MAX_SAMPLES:
                    self.series.decimate()
                    step *= 2
                if progress is not None:
                    progress(files - self.outstanding, files)
                continue
            if t_record > limit:
                break
            if t_record < bound or (heap and heap[0][0] < t_record):
                continue
            self.now = t_record
            self._record(nxt, t_record)
            nxt += 1
        return self._ended()

    def _ended(self) -> float:
        self.sample()
        return max(self.last_final_s, self.now if self.outstanding > 0 else self.last_final_s)

    def _push(self, t: float, kind: int, subject: object) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, subject))

    def _wake_later(self, g: int, visible_at: float) -> None:
        """A wake-up visible at ``visible_at`` reaches a dispatcher with the group loaded ``dispatcher_s`` later."""
        self.woken[g] = True
        self.seq += 1
        heapq.heappush(self.heap, (visible_at + self.dispatch(), self.seq, WAKE, g))

    # --- the router: a file recorded ------------------------------------------------------------------------
    def _record(self, fid: int, now: float) -> None:
        g, r = self.w.group[fid], self.ranks[fid]
        self.recorded_count += 1
        if r < self.last_started[g]:
            self.late[fid] = True
        if self.blocked_group[g]:
            self._final(fid, BLOCKED, now)
        else:
            files = self.pending[g]
            insort(files, (r, fid))
            if not (self.leased[g] or self.woken[g] or self.waiting_since[g] >= 0):   # idle, none pending
                seen = now + self.dispatch()
                hold = self.ready_at[files[0][1]]
                if seen < hold:   # the first delivery would only hold the message: count it, skip its event
                    self.deliveries += 1
                    seen += math.ceil(hold - seen)
                self._wake_later(g, seen)
        backlog = self.recorded_count - self.final_count - self.blocked - self.leased_files
        if backlog > self.backlog_max:
            self.backlog_max = backlog

    # --- the dispatcher: a wake-up delivered ----------------------------------------------------------------
    def _wake(self, g: int, now: float) -> None:
        self.woken[g] = False
        self.deliveries += 1
        files = self.pending[g]
        if self.leased[g] or self.blocked_group[g] or not files:
            return   # nothing to do: the delivery deletes itself
        head = files[0][1]
        hold = self.ready_at[head]
        if now < hold:   # settling or backing off: the message is held for whole seconds
            self._wake_later(g, now + math.ceil(hold - now))
            return
        batch = self._batch(files, now)
        policy = self.policy
        window = self.landed_at[head] + policy.batch_window_s
        if (policy.batch_window_s > 0 and len(batch) < policy.batch_max_files and now < window
                and not (self.ledger.attempts[head] or self.alone[head] or self.late[head])
                and self.waiting_since[g] < 0):   # an idle group's fresh head waits for its batch to fill
            self._wake_later(g, now + math.ceil(window - now))
            return
        if self.slots_used >= self.capacity:   # NO_SLOT: in line from the first time it waited
            if self.waiting_since[g] < 0:
                self.waiting_since[g] = now
                self.waits += 1
            if not self.in_line[g]:
                self.in_line[g] = 1
                heapq.heappush(self.line, (self.waiting_since[g], self.w.group_names[g], g))
            return
        self._start(g, batch, now)

    def _batch(self, files: list[tuple[int, int]], now: float) -> list[int]:
        """As ``runtime.decide``'s: the head, then settled never-run files after it, up to the batch limits."""
        head = files[0][1]
        batch = [head]
        if self.alone[head]:
            return batch
        policy, attempts = self.policy, self.ledger.attempts
        size, most = self.sizes[head], max(1, policy.batch_max_files)
        for _, fid in files[1:most]:
            if attempts[fid] or self.late[fid] or self.alone[fid] or now < self.ready_at[fid]:
                break
            if policy.batch_max_bytes and size + self.sizes[fid] > policy.batch_max_bytes:
                break
            size += self.sizes[fid]
            batch.append(fid)
        return batch

    def _start(self, g: int, batch: list[int], now: float) -> None:
        """The start commit took a slot; StartJobRun; the job goes through the batch in order."""
        self.slots_used += 1
        self.leased[g] = True
        self.leased_files += len(batch)
        if self.waiting_since[g] >= 0:
            self.wait_spans.extend((self.waiting_since[g], now))
            self.waiting_since[g] = -1.0
            self.in_line[g] = 0
        draws, attempts, first = self.draws, self.ledger.attempts, self.ledger.first_start
        running_at = now + self.glue_start()
        self.lease_flat.extend([x for fid in batch for x in (fid, now)])
        end, state, done = draws.through_batch(batch, [attempts[fid] + 1 for fid in batch], running_at)
        for index, fid in enumerate(batch):
            self.run_flat.extend((fid, now, now, running_at, end, float(index < done)))
            if first[fid] < 0:
                first[fid] = running_at
        self.last_started[g] = max(self.last_started[g], self.ranks[batch[-1]])
        self.glue_run_count += 1
        self.billed.append(end - running_at)
        self.run_spans.extend((now, end))
        self.run_first.append(batch[0])
        self.runs_alive += 1
        self.max_concurrent_runs = max(self.max_concurrent_runs, self.runs_alive)
        self.max_parallel_groups = max(self.max_parallel_groups, self.runs_alive)   # one run a group
        self._push(end, END, (g, tuple(batch), done, state))

    # --- Glue's end, then the completion handler ------------------------------------------------------------
    def _end(self, subject: RunRecord, now: float) -> None:
        _, batch, done, _ = subject
        self.runs_alive -= 1
        for fid in batch[:done]:   # the job committed each file it finished
            self.ledger.done_s[fid] = now
            self._final(fid, SUCCEEDED, now)
        self._push(now + self.completion_delay(), COMPLETE, subject)

    def _complete(self, subject: RunRecord, now: float) -> None:
        g, batch, done, state = subject
        self.completions += 1
        self.slots_used -= 1
        self.leased[g] = False
        self.leased_files -= len(batch)
        files = self.pending[g]
        finished = set(batch[:done])
        if finished:
            files[:] = [entry for entry in files if entry[1] not in finished]
        if done < len(batch):   # the file the run stopped on: an attempt, dead when they are used up
            fid = batch[done]
            if state == TIMEOUT and len(batch) > 1 and not self.alone[fid]:
                self.alone[fid] = 1   # killed in a batch: perhaps only the batch was too long; alone next, no attempt
                fid = -1
        if done < len(batch) and fid >= 0:
            attempts = self.ledger.attempts[fid] = self.ledger.attempts[fid] + 1
            self.alone[fid] = 0
            if attempts >= self.policy.max_attempts:
                files[:] = [entry for entry in files if entry[1] != fid]
                self._final(fid, DEAD, now)
                if self.policy.on_failure == "block":
                    self.blocked_group[g] = True
                    for _, other in files:
                        self._final(other, BLOCKED, now)
                    files.clear()
            else:
                self.ready_at[fid] = now + self.policy.retry_backoff_s(attempts)
        if files and not self.woken[g]:
            self._wake_later(g, now)
        self._wake_waiters(1, now)

    def _wake_waiters(self, count: int, now: float) -> None:
        line = self.line
        while count > 0 and line:
            since, _, g = heapq.heappop(line)
            if not self.in_line[g] or since != self.waiting_since[g]:
                continue   # left the line since (it started): the entry is stale
            self.in_line[g] = 0   # woken; a lost race puts it back, with the same waiting-since
            if not self.woken[g]:
                self._wake_later(g, now)
                self.waiters_woken += 1
                count -= 1

    def _pass(self, _subject: None, now: float) -> None:
        """The reconciler: wake waiters up to the free slots (nothing else needs repair without faults)."""
        self.passes += 1
        self._wake_waiters(self.capacity - self.slots_used, now)
        if self.busy:
            self._push(now + self.policy.check_interval_s, PASS, None)
