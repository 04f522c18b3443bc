"""The handlers, named after the deployed functions: ``router``, ``Dispatchers`` (the ordered queue's event
source mapping and its concurrent invocations), ``completion`` (per Glue end event) and ``reconciler`` (the
scheduled pass).

Each handler does what its Lambda does (``runtime/router.py``, ``dispatcher.py``, ``completion.py``,
``reconciler.py``): load the group (``LedgerTable.load`` as of the Query, ``ledger_s`` before the commit),
ask ``runtime.decide``, carry the decision out (``simulator.acting``), and on a failed guard load and decide
again. A dispatcher invocation is busy for its invocation latency (``dispatcher_s``); the rest of a handler's
work takes no simulated time beyond the staleness window of its loads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from landing_pipeline.runtime.decide import Caller, Decision, RunEnd, decide, run_ended
from landing_pipeline.runtime.decide_deadline import repeat_committed, repeat_wait
from landing_pipeline.runtime.group_state import GroupItem, OpenFile, evolve, wake_dedup_id
from landing_pipeline.simulator.acting import Crash
from landing_pipeline.simulator.glue import Run
from landing_pipeline.simulator.table import Commit

if TYPE_CHECKING:
    from landing_pipeline.simulator.model import PipelineModel

REEVALUATIONS = 6          # runtime.dispatcher._REEVALUATIONS, runtime.completion._REEVALUATIONS
RECONCILER_REEVALUATIONS = 4
MAX_GROUPS_PER_PASS = 500  # runtime.reconciler.MAX_GROUPS_PER_PASS
NO_SLOT_SHORTCUT = True    # _decide_with_no_slot (off: the handler's two decisions; tests compare the two)


class Retried(Exception):
    """The handler gave up (the group kept changing): its message or event comes back after the visibility
    timeout, as a Lambda error does."""


def router(env: simpy.Environment, model: PipelineModel) -> Generator[simpy.Event, Any, None]:
    """Records each file at the time the intake computed for it; the write that sets ``wake_pending`` sends
    the group's one wake-up (unless the router dies in between: then the reconciler does)."""
    w, table, queue, faults = model.w, model.table, model.queue, model.faults
    enqueue_s, group, names, keys = w.enqueue_s, w.group, w.group_names, model.sort_keys
    landed, check_s, timeout = model.landed_at, model.policy.check_interval_s, env.timeout
    sizes = [int(max(0.0, mb) * 1_000_000) for mb in w.size_mb]   # batchMaxBytes counts bytes
    for fid in range(len(enqueue_s)):
        delay = enqueue_s[fid] - env.now
        if delay > 0:
            yield timeout(delay)
        g = group[fid]
        recorded = table.record(g, OpenFile(keys[fid], str(fid), landed[fid], size=sizes[fid]), env.now, check_s)
        model.recorded(fid, g, recorded.late)
        if recorded.wake and not faults.crash():
            queue.send(g, wake_dedup_id(names[g], recorded.group.version, recorded.group.seq))


class Dispatchers:
    """The ordered queue's event source mapping: at most ``concurrency`` dispatcher invocations at once, each
    receiving the head wake-up of a deliverable group (first ready, first served), invoked ``dispatcher_s``
    later, then deleting or holding its message. Callbacks rather than a process per invocation slot: a
    delivery costs one event."""

    def __init__(self, model: PipelineModel, concurrency: int) -> None:
        self.model, self.free = model, concurrency
        self.ready: deque[int] = deque()

    def offer(self, g: int) -> None:
        """The group's head wake-up is visible."""
        if self.free:
            self.free -= 1
            self._receive(g)
        else:
            self.ready.append(g)

    def _receive(self, g: int) -> None:
        model = self.model
        while not model.queue.receive(g):   # that message went to the DLQ: this invocation takes the next
            if not self.ready:
                self.free += 1
                return
            g = self.ready.popleft()
        model.deliveries += 1
        latency = model.dispatch_latency
        model.env.timeout(latency() if latency is not None else 0.0, value=g).callbacks.append(self._invoked)

    def _invoked(self, event: Any) -> None:
        model, g = self.model, event.value
        if model.faults.duplicate():   # a second invocation got the same message: it races this one
            _handle(model, g, owner=False)
        hold = _handle(model, g, owner=True)
        if hold is None:
            model.queue.delete(g)
        else:
            model.queue.hold(g, hold if hold >= 0 else model.dispatcher_visibility_s)
        if self.ready:
            self._receive(self.ready.popleft())
        else:
            self.free += 1


def _handle(model: PipelineModel, g: int, *, owner: bool) -> float | None:
    """``runtime.dispatcher.dispatch``; returns None (delete the message), the seconds to hold it, or -1 (the
    invocation failed: the message comes back after the visibility timeout)."""
    try:
        return dispatch(model, g)
    except Crash:
        model.crashed += 1
        return -1.0
    except Retried:
        return -1.0


def dispatch(model: PipelineModel, g: int) -> float | None:
    actor, table, policy, now = model.actor, model.table, model.policy, model.env.now
    as_of = now - model.ledger_latency()
    for _ in range(REEVALUATIONS):
        group, files = table.load(g, as_of)
        as_of = now
        if NO_SLOT_SHORTCUT and actor.log is None and table.refuses_start(g, group):
            d = _decide_with_no_slot(model, group, files, now)
        else:
            d = decide(group, files, now, policy, caller=Caller.DISPATCHER)
        if d.check is not None:
            resolved = actor.resolve_check(g, d, group, files, Caller.DISPATCHER)
            if resolved != "live":
                continue   # the lease ended or changed: decide again on the new state
            d = evolve(d, check=None)
        if not d.writes:
            actor.count(d, g)
            return None
        result = actor.carry_out(g, d)
        if result == Commit.NO_SLOT:
            d = decide(group, files, now, policy, caller=Caller.DISPATCHER, slot_free=False)
            result = actor.carry_out(g, d)
        if result == Commit.CONFLICT:
            continue
        if d.lease is not None:
            if d.kind == "start":
                actor.start_run(g, d, files)
            return None
        return float(d.hold_wake_s) if d.hold_wake_s is not None else None
    raise Retried(table.groups[g].group)


def _decide_with_no_slot(model: PipelineModel, group: GroupItem, files: list[OpenFile], now: float) -> Decision:
    """What the dispatcher ends up deciding on a current load while every Glue slot is taken, without the
    start it proposes first: that start's commit passes the guard (the load is current) and fails the slot
    condition, and the handler decides again with ``slot_free=False``. For the dispatcher, ``slot_free`` only
    turns a start into ``wait_for_slot``, so that answer stands for both; the refused start is counted as
    the handler counts it. (A decision log asks for the start's own reason: then the handler's path runs.)"""
    d = decide(group, files, now, model.policy, caller=Caller.DISPATCHER, slot_free=False)
    if d.kind == "wait_for_slot":
        model.actor.tally("start")
        model.table.no_slot += 1
    return d


def completion(model: PipelineModel, run: Run) -> None:
    """``runtime.completion.complete`` for the end event of ``run``; a crash or a give-up is retried after the
    completion queue's visibility timeout."""
    model.completions += 1
    try:
        _complete(model, run)
    except (Crash, Retried) as exc:
        model.crashed += isinstance(exc, Crash)
        model.env.timeout(model.completion_visibility_s, value=run).callbacks.append(model.completion_event)


def _complete(model: PipelineModel, run: Run) -> None:
    actor, table, policy, now = model.actor, model.table, model.policy, model.env.now
    state, error = model.glue.get_job_run(run.run_id, now)
    end = RunEnd(run.run_id, run.token, state, error)
    g, as_of = run.g, now - model.ledger_latency()
    for _ in range(REEVALUATIONS):
        group, files = table.load(g, as_of)
        as_of = now
        d = run_ended(group, files, end, now, policy, caller=Caller.COMPLETION)
        if not d.writes:
            actor.count(d, g)
            return
        if actor.carry_out(g, d) == Commit.OK:
            return
    raise Retried(table.groups[g].group)


def reconciler(env: simpy.Environment, model: PipelineModel) -> Generator[simpy.Event, Any, None]:
    """The scheduled pass, every ``reconcileMinutes``."""
    interval, timeout = model.policy.check_interval_s, env.timeout
    while True:
        yield timeout(interval)
        reconcile(model)


def reconcile(model: PipelineModel) -> None:
    """``runtime.reconciler.reconcile``: due groups re-read and decided, the slot counter repaired from Glue's
    active runs, waiters woken up to the free slots."""
    model.passes += 1
    table, actor, now = model.table, model.actor, model.env.now
    for g in table.due(now, MAX_GROUPS_PER_PASS):
        try:
            kind = _reconcile_group(model, g)
        except (Crash, Retried):   # the pass goes on with the next group; the next pass tries again
            model.crashed += 1
            kind = "error"
        model.reconciled[kind] = model.reconciled.get(kind, 0) + 1
    running = table.slots
    active = model.glue.active(now)
    if active != running:   # never below the leases held, as runtime.reconciler._repair_slots
        in_use = max(active, table.leases_held)
        if in_use != running:
            model.slot_repairs += table.set_slot_count(running, in_use)
    free = max(0, model.spec.max_parallel_groups - table.slots)
    if free:
        actor.wake_waiters(free)


def _reconcile_group(model: PipelineModel, g: int) -> str:
    """A group the pass's own last commit left in the slot line, and nobody wrote since (the very items that
    commit wrote are still the table's), gets the decision ``decide`` would take without running the rules
    again (``runtime.decide_deadline``): same decision, same commit, same sends."""
    actor, table, policy, now = model.actor, model.table, model.policy, model.env.now
    as_of = now - model.ledger_latency()
    in_line = model.in_line
    for _ in range(RECONCILER_REEVALUATIONS):
        group, files = table.load(g, as_of)
        as_of = now
        last = in_line[g]
        d = None
        if last is not None and last[0] is group and last[1] is files:
            d = repeat_wait(last[2], group, now, policy)
        if d is not None:
            if actor.carry_out(g, d, repeat_committed(group, d)) == Commit.OK:
                in_line[g] = (table.groups[g], table.files[g], d)
                return d.kind
            continue
        d = decide(group, files, now, policy, caller=Caller.RECONCILER)
        if d.check is not None:
            resolved = actor.resolve_check(g, d, group, files, Caller.RECONCILER)
            if resolved == "conflict":
                continue
            return resolved
        if not d.writes and not d.send_wake:
            actor.count(d, g)
            return d.kind
        if actor.carry_out(g, d) == Commit.OK:
            in_line[g] = (table.groups[g], table.files[g], d) if d.kind == "wait_for_slot" else None
            return d.kind
    return "conflict"
