"""The slot handoff under a backlog: five groups on one Glue slot, driven through time.

Visibility timeouts follow the handlers' fake clock (``Pipeline.tick``), so a waiter whose fallback ends is
redelivered exactly as SQS would do it, and every receive a file costs is counted.
"""

from __future__ import annotations

import json

import pytest

from landing_pipeline.runtime.ledger import Status
from landing_pipeline.runtime.queues import waiting_visibility_s
from tests.runtime.conftest import Pipeline, metric_total
from tests.runtime.test_handoff import _land_all, _record, _run_of


class Backlog:
    """Drives the pipeline through time: delivers whatever is visible, lets runs end, counts receives."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.receives: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.idle_s = 0.0
        self._slot_freed_at: float | None = None

    def deliver(self) -> None:
        while (result := self.pipeline.dispatch_next()) is not None:
            file_id = json.loads(result[1]["Body"])["file_id"]
            self.receives[file_id] = int(result[1]["Attributes"]["ApproximateReceiveCount"])
            if _record(self.pipeline, file_id).status == Status.RUNNING and file_id not in self.started:
                self.started[file_id] = self.pipeline.clock()
                if self._slot_freed_at is not None:
                    self.idle_s += self.pipeline.clock() - self._slot_freed_at
                    self._slot_freed_at = None

    def run_for(self, seconds: float) -> None:
        """Let time pass, delivering each message when its visibility ends (a fallback, say)."""
        until = self.pipeline.clock() + seconds
        while True:
            due = self.pipeline.sqs_faults.next_due()
            step_to = until if due is None or due > until else due
            self.pipeline.tick(step_to - self.pipeline.clock())
            self.deliver()
            if step_to >= until:
                return

    def finish(self, file_id: str) -> None:
        self.pipeline.complete(_run_of(self.pipeline, file_id))
        self._slot_freed_at = self.pipeline.clock()
        self.deliver()


@pytest.mark.parametrize("run_s", [300, 1500])
def test_a_backlog_on_one_slot_costs_a_few_receives_and_never_idles_the_slot(one_slot: Pipeline, run_s: int) -> None:
    """Five groups of two files on one Glue slot. A file is received when it is first refused, when a run's end
    wakes it, and once per fallback visibility it sleeps through; not once per doubling backoff (the old
    throttle backoff received a file waiting 45 minutes about eight times) and never with the slot idle."""
    groups = ["orders", "customers", "invoices", "payments", "refunds"]
    keys = [f"landing/{g}_20250915_{t}.csv" for t in ("101500", "103000") for g in groups]  # as they land
    ids = dict(zip(keys, _land_all(one_slot, *keys), strict=True))
    landed_at = one_slot.clock()
    backlog = Backlog(one_slot)
    backlog.deliver()
    while len(backlog.started) < len(keys) or _running(one_slot):
        running = _running(one_slot)
        if not running:  # the slot stands idle until some message's visibility ends
            due = one_slot.sqs_faults.next_due()
            assert due is not None, "nothing running and nothing due: the pipeline stalled"
            backlog.run_for(max(1.0, due - one_slot.clock()))
            continue
        backlog.run_for(run_s)
        backlog.finish(running[0])

    assert all(_record(one_slot, f).status == Status.SUCCEEDED for f in ids.values())
    order = list(backlog.started)
    for group in groups:  # each group's files ran in their order
        first, second = (ids[k] for k in keys if f"/{group}_" in k)
        assert order.index(first) < order.index(second)
    fallback = waiting_visibility_s(one_slot.ctx.spec)
    for file_id, start in backlog.started.items():
        waited = start - landed_at
        assert backlog.receives[file_id] <= 3 + waited // fallback, (file_id, waited, backlog.receives)
    if run_s == 300:
        assert max(backlog.receives.values()) <= 3  # the longest wait (45 min) is shorter than the fallback
    assert backlog.idle_s == 0.0  # every run's end handed its slot straight to a waiting file
    assert metric_total("WaitersWoken") >= len(keys) - len(groups)


def _running(pipeline: Pipeline) -> list[str]:
    return [f.file_id for f in pipeline.ctx.ledger.all_files() if f.status == Status.RUNNING]
