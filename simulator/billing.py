"""Billable requests of a simulated run, per step of the deployed flow.

Derived after the event loop from the model's counters rather than counted on the hot path. The request
counts per step are listed in docs/simulator.md ("Prices").
"""

from __future__ import annotations

from landing_pipeline.simulator.model import PipelineModel
from landing_pipeline.simulator.prices import (
    LEDGER_READS_PER_DELIVERY,
    LEDGER_READS_PER_RUN_END,
    LEDGER_READS_PER_WAKE_LOOKUP,
    LEDGER_WRITES_PER_FILE,
    LEDGER_WRITES_PER_RUN_END,
    LEDGER_WRITES_PER_START,
    LEDGER_WRITES_PER_WAIT,
    Usage,
)


def usage_of(model: PipelineModel) -> Usage:
    """Billable requests of the run, per step of the deployed flow (the seed card has no ledger and no
    completion path)."""
    files, runs = model.w.files, len(model.run_flat) // 4
    throttles = 0 if model.wait_mode else model.throttled_starts
    receives = sum(model.ledger.receives)
    held, handoff = model.held, model.handoff
    waits, lookups = (model.throttled_starts, runs) if handoff else (0, 0)
    fifo = (files  # router SendMessage
            + receives  # deliveries, including those SQS moved to the DLQ
            + (runs if held else 0)  # hold: extend visibility at start
            + throttles + model.retries  # ChangeMessageVisibility(backoff, or a waiter's fallback)
            + model.line.wakeups  # ChangeMessageVisibility(0): a freed slot wakes a waiter
            + model.dead  # SendMessage to the FIFO DLQ
            + files - model.blocked)  # DeleteMessage (or SQS's own move) once per file that left
    router = model.w.router_invocations
    return Usage(
        glue_runs=runs,
        glue_dpu_seconds=model.runs.billed_seconds(model.min_billed_s) * model.dpus,
        router_invocations=router,
        dispatcher_invocations=model.deliveries,
        completion_invocations=runs if held else 0,
        sqs_standard_requests=files + 2 * router + (3 * runs if held else 0),
        sqs_fifo_requests=fifo,
        eventbridge_events=files + (runs if held else 0),
        ledger_writes=(LEDGER_WRITES_PER_FILE * files + LEDGER_WRITES_PER_START * runs
                       + LEDGER_WRITES_PER_RUN_END * runs + LEDGER_WRITES_PER_WAIT * waits) if held else 0,
        ledger_reads=(LEDGER_READS_PER_DELIVERY * model.deliveries + LEDGER_READS_PER_RUN_END * runs
                      + LEDGER_READS_PER_WAKE_LOOKUP * lookups) if held else 0,
    )
