"""The AWS quotas a scenario runs under (``limits:``), each with its documented default and where it is written.

A stack's own settings (``maxParallelGroups``, the event source mapping's MaximumConcurrency) say what the
pipeline asks for; the account's quotas say what AWS grants. The simulator models each quota where it bites
(``simulator.quota_glue``, ``quota_queue``, ``quota_dispatchers``) and reports it by name when a scenario hits
it (``simulator.quota_log``). A default that no AWS page states is left unset (``None``: not modelled until a
scenario gives the account's value), never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from landing_pipeline.simulator.distributions import read_int, read_number
from landing_pipeline.simulator.errors import Problems, did_you_mean

GLUE_QUOTAS_URL = "https://docs.aws.amazon.com/general/latest/gr/glue.html"
SQS_FIFO_QUOTAS_URL = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html"
SQS_MESSAGE_QUOTAS_URL = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
                          "quotas-messages.html")
LAMBDA_QUOTAS_URL = "https://docs.aws.amazon.com/lambda/latest/dg/limits.html"


@dataclass(frozen=True)
class Limits:
    """Account quotas and the simulation's own stop; ``None``: not modelled (no documented default)."""

    account_concurrent_runs: int = 50
    """AWS Glue "Max concurrent job runs per account" (default 50, adjustable; GLUE_QUOTAS_URL)."""
    job_concurrent_runs: int = 1000
    """AWS Glue "Max concurrent job runs per job": the highest MaxConcurrentRuns a job may have (1000)."""
    account_dpus: int | None = None
    """AWS Glue "Max task DPUs per account": DPUs of all running jobs; StartJobRun past it is refused with
    ResourceNumberLimitExceededException. No default is modelled (none found on a page we can cite)."""
    start_job_run_per_s: float | None = None
    """StartJobRun calls per second before ThrottlingException. AWS publishes no figure: set it to model one."""
    lambda_concurrency: int = 1000
    """Lambda "Concurrent executions" per account and Region (default 1,000; LAMBDA_QUOTAS_URL)."""
    lambda_function_concurrency: int | None = None
    """A function's reserved concurrency (none by default: a function may use the account's unreserved share)."""
    fifo_in_flight: int = 120_000
    """SQS "Messages per queue (in flight)" for a FIFO queue: 120,000 (SQS_FIFO_QUOTAS_URL)."""
    fifo_calls_per_s: int | None = None
    """SQS FIFO transactions per second per API action (SendMessage, ReceiveMessage): 300 without
    high-throughput mode (3,000 messages/s with batches of 10; SQS_MESSAGE_QUOTAS_URL). The stack deploys
    high-throughput mode (components/ordered_queue.py), whose Region-dependent limit is not modelled by default:
    set 300 for a queue without it, or your Region's figure."""
    drain_limit_s: float = 30 * 24 * 3600.0
    """Stop the simulation this long after the arrival window if files are still unfinished."""


@dataclass(frozen=True)
class Quota:
    """How the report names a quota and says how to raise it."""

    title: str
    source: str
    raise_it: str
    held: str = "group start(s)"
    """What the quota holds back, for the report."""


QUOTAS: dict[str, Quota] = {
    "account_concurrent_runs": Quota(
        "AWS Glue: Max concurrent job runs per account", GLUE_QUOTAS_URL,
        "Service Quotas console > AWS Glue > 'Max concurrent job runs per account' > Request increase"),
    "job_concurrent_runs": Quota(
        "AWS Glue: Max concurrent job runs per job", GLUE_QUOTAS_URL,
        "Service Quotas console > AWS Glue > 'Max concurrent job runs per job' > Request increase"),
    "account_dpus": Quota(
        "AWS Glue: Max task DPUs per account", GLUE_QUOTAS_URL,
        "Service Quotas console > AWS Glue > 'Max task DPUs per account' > Request increase, or fewer/smaller "
        "workers (workerCount, workerType)"),
    "start_job_run_per_s": Quota(
        "AWS Glue: StartJobRun request rate (ThrottlingException)", GLUE_QUOTAS_URL,
        "not a Service Quotas entry: ask AWS Support, or start fewer runs per second (maxParallelGroups)"),
    "lambda_concurrency": Quota(
        "AWS Lambda: Concurrent executions (account, per Region)", LAMBDA_QUOTAS_URL,
        "Service Quotas console > AWS Lambda > 'Concurrent executions' (quota code L-B99A9384) > Request increase",
        "wake-up(s) waiting for a dispatcher invocation"),
    "lambda_function_concurrency": Quota(
        "AWS Lambda: the dispatcher's reserved concurrency", LAMBDA_QUOTAS_URL,
        "raise the function's reserved concurrency (PutFunctionConcurrency), within the account's quota",
        "wake-up(s) waiting for a dispatcher invocation"),
    "fifo_in_flight": Quota(
        "Amazon SQS: FIFO messages per queue (in flight)", SQS_FIFO_QUOTAS_URL,
        "not in Service Quotas: contact AWS Support for an increase beyond 120,000",
        "wake-up(s) not received"),
    "fifo_calls_per_s": Quota(
        "Amazon SQS: FIFO transactions per second per API action", SQS_MESSAGE_QUOTAS_URL,
        "enable high-throughput mode (DeduplicationScope=messageGroup, FifoThroughputLimit=perMessageGroupId), "
        "batch calls, or ask AWS Support", "wake-up send(s)"),
}

_INTS = {"account_concurrent_runs", "job_concurrent_runs", "account_dpus", "lambda_concurrency",
         "lambda_function_concurrency", "fifo_in_flight", "fifo_calls_per_s"}
_NAMES = tuple(f.name for f in fields(Limits))


def read_limits(problems: Problems, value: Any) -> Limits:
    """``limits:`` of a scenario; every bad entry is named with its fix."""
    if value is None:
        return Limits()
    if not isinstance(value, Mapping):
        problems.add("limits", value, "expected a mapping", "write e.g. limits: {account_concurrent_runs: 50}")
        return Limits()
    chosen: dict[str, Any] = {}
    for key, raw in value.items():
        where = f"limits.{key}"
        if key not in _NAMES:
            problems.add(where, raw, "not a limit", f"use one of: {', '.join(_NAMES)}{did_you_mean(str(key), _NAMES)}")
            continue
        if raw is None and getattr(Limits, key) is None:
            continue   # an optional quota left unmodelled, as by default
        quota = QUOTAS.get(key)
        fix = (f"give a whole number of at least 1 (the account's value of '{quota.title}'; see {quota.source})"
               if quota is not None else "")
        if key in _INTS:
            number: float | int | None = read_int(problems, where, raw, minimum=1, fix=fix)
        else:
            number = read_number(problems, where, raw, strictly_positive=True)
        if number is not None:
            chosen[key] = number
    return Limits(**chosen)
