"""Billable requests of a simulated run, per service, from the counters the model keeps.

Derived after the event loop rather than counted on the hot path; the request counts per step are listed in
docs/simulator.md ("Prices").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from landing_pipeline.simulator.model import PipelineModel
from landing_pipeline.simulator.prices import TRANSACTION_UNITS_PER_ITEM, Usage
from landing_pipeline.simulator.queue_model import QueueModel

if TYPE_CHECKING:
    from landing_pipeline.simulator.runner import Model


def usage_of(model: Model) -> Usage:
    """Billable requests of the run. The seed design has no ledger, no completion path and no reconciler."""
    if isinstance(model, QueueModel):
        return _queue_usage(model)
    files, runs = model.w.files, model.glue.runs
    dpu_s = sum(max(r.end - r.running_at, model.min_billed_s) for r in runs) * model.dpus
    router = model.w.router_invocations
    intake = files + 2 * router   # EventBridge's send, and per router batch a receive and a delete
    if not isinstance(model, PipelineModel):
        return Usage(glue_runs=len(runs), glue_dpu_seconds=dpu_s, router_invocations=router,
                     dispatcher_invocations=model.deliveries, sqs_standard_requests=intake,
                     sqs_fifo_requests=files + model.deliveries + files, eventbridge_events=files)
    queue, table = model.queue, model.table
    fifo = (queue.sent + 2 * queue.received   # wake-ups: a send; a receive, then a delete or a hold
            + len(model.actor.announced))   # the dead-files queue
    return Usage(
        glue_runs=len(runs),
        glue_dpu_seconds=dpu_s,
        router_invocations=router,
        dispatcher_invocations=model.deliveries + model.faults.duplicates,
        completion_invocations=model.completions,
        reconciler_invocations=model.passes,
        sqs_standard_requests=intake + 3 * model.completions,  # the completion queue: send, receive, delete
        sqs_fifo_requests=fifo,
        eventbridge_events=files + len(runs),
        ledger_writes=TRANSACTION_UNITS_PER_ITEM * table.write_items,
        ledger_reads=table.reads + model.passes,   # and per pass the by_check query
    )


def _queue_usage(model: QueueModel) -> Usage:
    """The fast model counts runs, deliveries and completions; the ledger's requests are the protocol's per
    step (a record per file, a load and a commit per delivery and per completion), without its retries."""
    files, runs, router = model.w.files, model.glue_runs, model.w.router_invocations
    steps = model.deliveries + model.completions
    return Usage(
        glue_runs=runs,
        glue_dpu_seconds=model.billed_dpu_seconds(),
        router_invocations=router,
        dispatcher_invocations=model.deliveries,
        completion_invocations=model.completions,
        reconciler_invocations=model.passes,
        sqs_standard_requests=files + 2 * router + 3 * model.completions,
        sqs_fifo_requests=3 * model.deliveries,   # a send, a receive, then a delete or a hold
        eventbridge_events=files + runs,
        ledger_writes=TRANSACTION_UNITS_PER_ITEM * (files + steps),
        ledger_reads=steps,
    )
