"""The SimPy model of the deployed v2 protocol: the ledger orders each group, a lease makes each start happen
once, wake-ups on the ordered FIFO queue say which group to look at, and a reconciler closes the gaps.

Every decision is ``runtime.decide``'s (``simulator.processes`` calls it as the handlers do, and
``simulator.acting`` carries it out as ``runtime.acting`` does); the model keeps the services' state
(``simulator.table``, ``wake_queue``, ``glue``) and records what happened for the metrics: per file when it
was recorded, first RUNNING and finished, per run when its lease was taken, when it ran and how it ended.
Those records, not the table, are what ``simulator.metrics`` checks order and exclusion against.
"""

from __future__ import annotations

import math
from array import array
from typing import Any, Literal

import numpy as np
import simpy

from landing_pipeline.runtime.decide import Decision
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase, Policy
from landing_pipeline.runtime.order import order_key, sort_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.acting import Actor
from landing_pipeline.simulator.attempts import Attempts
from landing_pipeline.simulator.capacity import dpus, duration_scale, glue_capacity
from landing_pipeline.simulator.faults import FaultDraws
from landing_pipeline.simulator.feed_models import job_plan
from landing_pipeline.simulator.glue import Run
from landing_pipeline.simulator.glue_slots import GlueSlots
from landing_pipeline.simulator.ledger import BLOCKED, DEAD, PENDING, SUCCEEDED, FileLedger, RunLog, Series
from landing_pipeline.simulator.ordered_queue import uniform_stream
from landing_pipeline.simulator.quota_glue import QuotaGlue
from landing_pipeline.simulator.quota_log import QuotaLog
from landing_pipeline.simulator.quota_queue import QuotaWakeQueue
from landing_pipeline.simulator.scenario import Scenario
from landing_pipeline.simulator.table import LedgerTable
from landing_pipeline.simulator.workload import Workload

Design = Literal["held", "seed", "queue"]
"""held: the deployed protocol; seed: the original card's; queue: the held design's timing, fast (queue_model)."""
RUN_COLUMNS = 6   # per (run, file): file, lease taken, StartJobRun, RUNNING, end, succeeded


def sort_keys(w: Workload, order_by: str) -> list[str]:
    """Each file's sort key under its group, as the router computes it (``runtime.order``): the landing time
    in whole seconds (the S3 event's precision), the key, and the landing order as the S3 sequencer."""
    return [sort_key(order_key(order_by, landed_s=math.floor(t), key=key, sequencer=f"{index:x}"), str(fid))
            for fid, (t, key, index) in enumerate(zip(w.land_s, w.keys, w.land_index, strict=True))]


class PipelineModel:
    """State of one simulated pipeline; the processes in ``simulator.processes`` drive it."""

    design: Design = "held"

    def __init__(self, env: simpy.Environment, spec: PipelineSpec, scenario: Scenario, workload: Workload,
                 rng: np.random.Generator, reference_dpus: float | None = None):
        self.env, self.spec, self.w, self.scenario = env, spec, workload, scenario
        over, job = scenario.overheads, scenario.job
        groups, files = len(workload.group_names), workload.files
        self.policy = Policy.from_spec(spec)
        self.sort_keys = sort_keys(workload, spec.order_by)
        self.landed_at = [float(math.floor(t)) for t in workload.land_s]
        self.table = LedgerTable(workload.group_names, spec.max_parallel_groups, self.committed)
        from landing_pipeline.simulator.quota_dispatchers import QuotaDispatchers

        self.quota_log = QuotaLog()   # the AWS quotas the run hits (simulator.limits)
        self.dispatchers = QuotaDispatchers(self, self.quota_log)
        self.queue = QuotaWakeQueue(env, groups, spec.receive_ceiling, self.dispatchers.offer,
                                    limits=scenario.limits, log=self.quota_log)
        self.glue_slots = GlueSlots(env, groups, glue_capacity(spec, scenario))
        self.random = uniform_stream(rng)
        self.dpus = dpus(spec)
        reference = reference_dpus or self.dpus
        self.draws = Attempts(workload, job, lambda model: duration_scale(spec, reference, model.parallel_fraction),
                              float(spec.job_timeout_s), rng, self.random, job_plan(scenario, spec, workload))
        self.glue = QuotaGlue(self.glue_slots, self.draws, over.glue_start_s.stream(rng), limits=scenario.limits,
                              job_runs=spec.glue_max_concurrent_runs, dpus_per_run=self.dpus, log=self.quota_log)
        self.faults = FaultDraws(scenario.faults, int(rng.integers(2**62)))
        self.actor = Actor(self.table, self.queue, self.glue, self.policy, self.faults, workload.group_names,
                           lambda: env.now, self.started)
        self.dispatch_latency = None if over.dispatcher_s.is_zero else over.dispatcher_s.stream(rng)
        self.ledger_latency = over.ledger_s.stream(rng)
        self.completion_delay = over.completion_s.stream(rng)
        self.dispatcher_visibility_s = float(spec.queue_visibility_s(spec.dispatcher_timeout_s))
        self.completion_visibility_s = float(spec.queue_visibility_s(spec.completion_timeout_s))
        self.min_billed_s = scenario.prices.glue_minimum_billed_s
        self.ledger = FileLedger.empty(files)
        self.late = [False] * files
        # flat records, appended per run, lease and wait: array('d') keeps 8 bytes a number where a list keeps
        # a float object and a pointer (32); at a million files the run record alone is 190 MB as a list
        self.run_flat = array("d")
        self.lease_flat = array("d")   # per lease taken: file, when (a lease may never get a run)
        self.series = Series()
        self.outstanding = files
        self.recorded_count = self.final_count = self.blocked = self.leased_files = 0
        self.deliveries = self.crashed = self.passes = self.slot_repairs = self.dead = self.retries = 0
        self.backlog_max = 0
        self.reconciled: dict[str, int] = {}
        self.waiting_since = [-1.0] * groups
        self.wait_spans = array("d")   # flat (waiting for a slot since, until) pairs, per group
        self.waits = self.completions = 0
        self.in_line: list[tuple[GroupItem, list[OpenFile], Decision] | None] = [None] * groups
        """Per group, the items the reconciler's last stay-in-line commit wrote and its decision."""
        self.last_final_s = 0.0
        self._runs: RunLog | None = None

    # --- what the handlers report -------------------------------------------------------------------------
    def recorded(self, fid: int, g: int, late: bool) -> None:
        self.recorded_count += 1
        self.late[fid] = late
        if self.table.groups[g].state == Phase.BLOCKED:   # behind a DEAD file: waits for an operator
            self._block(fid)
        backlog = self.recorded_count - self.final_count - self.blocked - self.leased_files
        if backlog > self.backlog_max:
            self.backlog_max = backlog

    def started(self, run: Run) -> None:
        """StartJobRun answered: one row per file of the run; its end event is scheduled (unless lost)."""
        first = self.ledger.first_start
        for index, fid in enumerate(run.fids):
            ok = float(index < run.done)
            self.run_flat.extend((fid, run.lease_at, run.dispatched, run.running_at, run.end, ok))
            if first[fid] < 0:
                first[fid] = run.running_at
        self.env.timeout(run.end - self.env.now, value=run).callbacks.append(self.run_ended)

    def run_ended(self, event: Any) -> None:
        """The job's last step, then Glue's end event: a successful run's job claims its lease and commits
        its files (they are done now, before any handler hears of the end); the event may be lost."""
        run: Run = event.value
        now = self.env.now
        if run.done:   # a batch commits each file as it finishes: those before a failure are done too
            for f in self.table.job_commit(run.g, run.token, run.run_id, self.table_keys(run)[:run.done], now):
                fid = int(f.file_id)
                self.ledger.done_s[fid] = now
                self._final(fid, SUCCEEDED, now)
        if self.faults.lost_event():
            return
        delay = self.completion_delay()
        if delay > 0:
            self.env.timeout(delay, value=run).callbacks.append(self.completion_event)
        else:
            self.completion_event(event)

    def table_keys(self, run: Run) -> tuple[str, ...]:
        keys = self.sort_keys
        return tuple(keys[fid] for fid in run.fids)

    def completion_event(self, event: Any) -> None:
        from landing_pipeline.simulator.processes import completion

        completion(self, event.value)

    def committed(self, g: int, before: GroupItem, d: Decision, now: float) -> None:
        """A decision's transaction went through: what it did to files, for the records."""
        ledger = self.ledger
        for change in d.files:
            fid = int(change.after.file_id)
            status = change.after.status
            ledger.attempts[fid] = change.after.attempts
            if status == FileStatus.SUCCEEDED:
                ledger.done_s[fid] = now
                self._final(fid, SUCCEEDED, now)
            elif status == FileStatus.DEAD:
                self.dead += 1
                self._final(fid, DEAD, now)
            elif status == FileStatus.FAILED:
                self.retries += 1
        if d.lease is not None and d.kind == "start":
            self.leased_files += len(d.lease.sort_keys)
            self.lease_flat.extend(x for fid in d.lease.file_ids for x in (int(fid), now))
        if d.release and before.leased:
            self.leased_files -= len(before.lease_keys)
        if d.state == Phase.WAITING_FOR_SLOT and before.state != Phase.WAITING_FOR_SLOT:
            self.waiting_since[g] = now
            self.waits += 1
        elif before.state == Phase.WAITING_FOR_SLOT and d.state != Phase.WAITING_FOR_SLOT:
            self.wait_spans.extend((self.waiting_since[g], now))
        if d.state == Phase.BLOCKED:
            for f in self.table.files[g]:
                fid = int(f.file_id)
                if f.status != FileStatus.DEAD and ledger.status[fid] == PENDING:
                    self._block(fid)

    def _final(self, fid: int, status: int, now: float) -> None:
        ledger = self.ledger
        if ledger.status[fid] == BLOCKED:
            self.blocked -= 1
            self.outstanding += 1
        if ledger.status[fid] in (PENDING, BLOCKED):
            self.outstanding -= 1
            self.final_count += 1
        ledger.status[fid] = status
        ledger.final_s[fid] = now
        if now > self.last_final_s:
            self.last_final_s = now

    def _block(self, fid: int) -> None:
        self.ledger.status[fid] = BLOCKED
        self.blocked += 1
        self.outstanding -= 1

    # --- records -------------------------------------------------------------------------------------------
    @property
    def runs(self) -> RunLog:
        self._runs = RunLog.of(self._runs, self.run_flat)
        return self._runs

    @property
    def glue_runs(self) -> int:
        return len(self.glue.runs)

    def leases(self) -> tuple[np.ndarray, np.ndarray]:
        """(file, when) of every lease taken: when each file *started* for the ledger, run or not."""
        table = np.asarray(self.lease_flat, dtype=float).reshape(-1, 2)
        return table[:, 0].astype(np.int64), table[:, 1].copy()

    @property
    def busy(self) -> bool:
        """Files unfinished, a death not yet announced, or a lease not yet released (a lost end event: the
        reconciler's next pass finishes either)."""
        return self.outstanding > 0 or self.dead > len(self.actor.announced) or self.leased_files > 0

    def sample(self) -> None:
        slots = self.glue_slots
        slots.free_ended()
        waiting = self.recorded_count - self.final_count - self.blocked - self.leased_files
        self.series.add(self.env.now, waiting, self.leased_files, slots.runs_alive, slots.groups_running)
