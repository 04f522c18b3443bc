"""The strict layer: what AWS does and moto does not, around moto, on by default (``--lenient`` turns it off).

One object per mechanism, each in its own module (docs/emulator.md, "Strict layer and faults", cites the
AWS page that says each happens):

- ``strict_sqs``: FIFO deduplication as a 5-minute window that outlives deletion; retention expiry.
- ``strict_receipts``: a receipt handle per receive (a superseded one deletes nothing on a standard queue, an
  expired one is refused on a FIFO queue), and the 12-hour visibility limit counted from the receive.
- ``strict_dynamodb``: GSI queries and scans lagging the table (``gsi-lag:SECONDS``).
- ``lost_answers``: answers lost after the call took effect, retried by the handler's own botocore client.
- ``strict_lambda``: a handler killed between two AWS calls or at its timeout; duplicate deliveries.
- ``strict_events``: S3 events delayed, reordered, repeated after the dedup window.
- Glue's lost, delayed and duplicated events, capacity failures and EXPIRED runs are in ``glue_engine``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.lost_answers import LostAnswers
from landing_pipeline.emulator.strict_dynamodb import GsiLag
from landing_pipeline.emulator.strict_events import LateS3Events
from landing_pipeline.emulator.strict_lambda import HandlerFaults
from landing_pipeline.emulator.strict_receipts import StrictReceipts
from landing_pipeline.emulator.strict_sqs import StrictSQS


@dataclass
class StrictLayer:
    sqs: StrictSQS
    receipts: StrictReceipts
    lost_answers: LostAnswers
    handlers: HandlerFaults
    s3_events: LateS3Events
    gsi: GsiLag | None

    def pending(self) -> int:
        """Events the layer still holds back (the pipeline is not quiet while there are any)."""
        return self.s3_events.pending

    def uninstall(self, aws: Any) -> None:
        self.s3_events.uninstall()
        aws.request_hooks.clear()


def install(aws: Any, faults: FaultPlan) -> StrictLayer:
    """Put every mechanism in place on a started ``InProcessAWS``; the faults decide which ones fire."""
    sqs = StrictSQS(aws)
    sqs.install()
    receipts = StrictReceipts(aws)
    receipts.install()
    lag = max((f.times for f in faults.faults if f.kind == "gsi-lag"), default=0)
    layer = StrictLayer(sqs, receipts, LostAnswers(aws, faults), HandlerFaults(aws, faults), LateS3Events(aws, faults),
                        GsiLag(aws, lag) if lag else None)
    layer.handlers.redeliver = receipts.redeliver
    layer.s3_events.install()
    aws.request_hooks[:] = [layer.handlers, layer.lost_answers, *([layer.gsi] if layer.gsi else [])]
    return layer
