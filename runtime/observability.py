"""Structured logs and metrics shared by the three handlers.

Operators search logs by file key, group, run id and attempt, so every line a
handler writes while working on a file carries them (Powertools' context-local
keys, safe when the emulator runs handlers in threads). Metrics go out as EMF
in the log stream: no PutMetricData calls, no extra IAM permission.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "landing-pipeline")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LandingPipeline")

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

CORRELATION_KEYS = ("key", "group", "file_id", "run_id", "attempt")

# Metric names (the dashboard and alarms of the components refer to these).
RECEIVED = "FilesReceived"
IGNORED = "FilesIgnored"
REJECTED = "FilesRejected"
DUPLICATE = "FilesDuplicate"
STARTED = "FilesStarted"
THROTTLED = "StartsThrottled"
WOKEN = "WaitersWoken"
WAKEUPS_FAILED = "WakeupsFailed"
BLOCKED = "FilesBlocked"
REHELD = "RunsReheld"
RECOVERED = "RunsRecovered"
SUCCEEDED = "FilesSucceeded"
FAILED = "FilesFailed"
DEAD = "FilesDead"
LATE = "FilesLate"
FOREIGN = "ForeignRunEvents"
HOLD_TIME = "HoldTime"
RUN_DURATION = "RunDuration"
QUEUE_WAIT = "QueueWait"


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def seconds(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=max(0.0, round(value, 3)))


@contextmanager
def file_context(**keys: Any) -> Iterator[None]:
    """Attach the correlation keys to every log line written inside the block (this thread only)."""
    present = {k: v for k, v in keys.items() if v is not None}
    logger.thread_safe_append_keys(**present)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(list(CORRELATION_KEYS))


def add_keys(**keys: Any) -> None:
    """Add correlation keys learnt mid-way (the run id once Glue returns it)."""
    logger.thread_safe_append_keys(**{k: v for k, v in keys.items() if v is not None})


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def instrumented(handler: Handler) -> Handler:
    """Powertools' Lambda decorators (context keys on every line, one EMF flush per invocation), tolerant
    of a missing Lambda context so the emulator and tests can call a handler with ``None``."""
    flushed = _flushing_metrics(handler)
    with_context = logger.inject_lambda_context(flushed, clear_state=True)

    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if context is not None and hasattr(context, "function_name"):
            return with_context(event, context)  # type: ignore[no-any-return]
        return flushed(event, context)  # type: ignore[no-any-return]

    return wrapper


def _flushing_metrics(handler: Handler) -> Handler:
    """Flush the invocation's metrics as one EMF line when it ends, and write nothing when it added none.

    Powertools' ``log_metrics`` flushes even an empty set, and an empty flush is a Python ``UserWarning``
    ("No application metrics to publish ...") written to stderr as two plain-text lines: in Lambda's log
    stream they break every JSON query of the logs (and an invocation that records no metric, such as a
    completion event for another job, is normal here). A failing invocation still flushes what it counted.
    """

    @functools.wraps(handler)
    def wrapper(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            flush_metrics()

    return wrapper


def flush_metrics() -> None:
    """Write the pending metrics as one EMF line, if there are any (never the empty-set warning)."""
    if metrics.metric_set:
        metrics.flush_metrics(raise_on_empty_metrics=False)
