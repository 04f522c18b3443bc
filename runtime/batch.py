"""One way every handler processes its SQS batch: Powertools partial batch responses.

``raise_on_entire_batch_failure=False`` matters for the dispatcher: with batch size 1 every hold is a
"failed" batch, and the default would turn each hold into a Lambda error (and an alarm).

Every invocation uses the batch processor, so it is imported with the handler module (in Lambda's init phase),
not on the first record. Its import is the largest single part of a handler's import time: Powertools'
``utilities.batch.base`` imports ``asyncio`` (for ``AsyncBatchProcessor``) and the record classes of four event
sources, each of which runs ``utilities.data_classes/__init__`` and so loads every Powertools data class. The
``SQSRecord`` type below is for the type checker only, so this package adds nothing of its own to that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from landing_pipeline.runtime.context import RuntimeContext

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def process_batch(ctx: RuntimeContext, event: dict[str, Any],
                  record_handler: Callable[[RuntimeContext, SQSRecord], Any],
                  lambda_context: Any = None) -> dict[str, Any]:
    """Run ``record_handler`` on each record; failed records come back in ``batchItemFailures``."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=functools.partial(record_handler, ctx),
                                         processor=processor, context=lambda_context))
