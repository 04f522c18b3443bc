"""What a simulated run costs: usage counted by the model, priced with AWS list prices.

Defaults are us-east-1 on-demand list prices, without free tiers, as published
on the AWS pricing pages named in ``SOURCES`` and checked on ``PRICES_AS_OF``.
Prices change and differ by region: a scenario overrides any of them under
``prices:``. Costs that do not scale with files (CloudWatch alarms and
dashboard, S3 storage and requests, KMS, idle SQS polling) are left out and
listed in docs/simulator.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from landing_pipeline.simulator.distributions import read_number
from landing_pipeline.simulator.errors import Problems

PRICES_AS_OF = "2026-11-27"
REGION = "us-east-1"   # these defaults; other Regions: simulator.regional_prices
SOURCES = {
    "glue_dpu_hour": "AWS Glue pricing (ETL jobs: $0.44 per DPU-hour, Glue 2.0+ billed per second, 1-minute "
                     "minimum); AWS Price List AWSGlue offer, effective 2024-11-01",
    "lambda": "AWS Lambda pricing, Arm (the functions are arm64: components/code_archive.py LAMBDA_ARCHITECTURE): "
              "$0.20 per 1M requests, $0.0000133334 per GB-second for the first 7.5 billion GB-seconds a month, "
              "1 ms billing (https://aws.amazon.com/lambda/pricing/, US East (N. Virginia); the Arm figure as "
              "quoted by https://cloudchipr.com/blog/aws-lambda-pricing)",
    "sqs": "Amazon SQS pricing (standard $0.40, FIFO $0.50 per 1M requests, each 64 KB chunk a request)",
    "eventbridge": "Amazon EventBridge pricing (events from AWS services, such as S3 Object Created and Glue "
                   "Job State Change, are free on the default bus; custom events $1.00 per 1M)",
    "dynamodb": "Amazon DynamoDB pricing (on-demand: $0.625 per 1M write request units, $0.125 per 1M read "
                "request units, since the November 2024 reduction)",
}

DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}

# Ledger traffic (runtime/ledger.py): every write of the protocol is a transaction, and DynamoDB bills a
# transactional write two write units per item; the simulator's table counts the items of each write and
# its strongly consistent reads (a Query of a group's item and open files, about one read unit each).
TRANSACTION_UNITS_PER_ITEM = 2
ROUTER_RECORD_ITEMS = 3   # the pointer item, the file item, the group item (seq + 1)

@dataclass(frozen=True)
class Prices:
    """Unit prices in USD; ``*_ms`` are billed Lambda durations per invocation (assumptions)."""

    glue_dpu_hour: float = 0.44
    glue_minimum_billed_s: float = 60.0
    lambda_per_million_requests: float = 0.20
    lambda_per_gb_s: float = 0.0000133334   # Arm (arm64); x86 is 0.0000166667
    lambda_router_ms: float = 150.0
    lambda_dispatcher_ms: float = 400.0
    lambda_completion_ms: float = 150.0
    lambda_reconciler_ms: float = 500.0
    sqs_standard_per_million: float = 0.40
    sqs_fifo_per_million: float = 0.50
    eventbridge_aws_events_per_million: float = 0.0
    dynamodb_write_per_million: float = 0.625
    dynamodb_read_per_million: float = 0.125


DEFAULT_PRICES = Prices()
_PRICE_FIELDS = tuple(f.name for f in fields(Prices))


@dataclass
class Usage:
    """Billable activity the model counted during one run."""

    glue_runs: int = 0
    glue_dpu_seconds: float = 0.0
    router_invocations: int = 0
    dispatcher_invocations: int = 0
    completion_invocations: int = 0
    reconciler_invocations: int = 0
    sqs_standard_requests: int = 0
    sqs_fifo_requests: int = 0
    eventbridge_events: int = 0
    ledger_writes: int = 0
    ledger_reads: int = 0

    @property
    def glue_dpu_hours(self) -> float:
        return self.glue_dpu_seconds / 3600.0


def given_prices(value: Any) -> tuple[str, ...]:
    """The prices a scenario's ``prices:`` sets (kept over the Region's)."""
    return tuple(key for key in value if key in _PRICE_FIELDS) if isinstance(value, Mapping) else ()


def read_prices(problems: Problems, where: str, value: Any) -> Prices:
    if value is None:
        return DEFAULT_PRICES
    if not isinstance(value, Mapping):
        problems.add(where, value, "expected a mapping of prices", "write e.g. prices: {glue_dpu_hour: 0.44}")
        return DEFAULT_PRICES
    changes: dict[str, float] = {}
    for key, raw in value.items():
        if key not in _PRICE_FIELDS:
            problems.add(f"{where}.{key}", raw, "not a price of the model", f"use one of: {', '.join(_PRICE_FIELDS)}")
            continue
        number = read_number(problems, f"{where}.{key}", raw)
        if number is not None:
            changes[key] = number
    return replace(DEFAULT_PRICES, **changes)


def billed_dpu_seconds(run_s: float, dpus: float, prices: Prices) -> float:
    """What one Glue run is billed: per second, with the minimum (1 minute for Glue 2.0 and later)."""
    return dpus * max(run_s, prices.glue_minimum_billed_s)


def cost_breakdown(usage: Usage, prices: Prices, lambda_memory_mb: int) -> dict[str, float]:
    """USD per service for the usage of one run; the total is their sum."""
    memory_gb = lambda_memory_mb / 1024.0
    invocations = (usage.router_invocations + usage.dispatcher_invocations + usage.completion_invocations
                   + usage.reconciler_invocations)
    lambda_seconds = (usage.router_invocations * prices.lambda_router_ms
                      + usage.dispatcher_invocations * prices.lambda_dispatcher_ms
                      + usage.completion_invocations * prices.lambda_completion_ms
                      + usage.reconciler_invocations * prices.lambda_reconciler_ms) / 1000.0
    breakdown = {
        "glue": usage.glue_dpu_hours * prices.glue_dpu_hour,
        "lambda": invocations / 1e6 * prices.lambda_per_million_requests
        + lambda_seconds * memory_gb * prices.lambda_per_gb_s,
        "sqs": usage.sqs_standard_requests / 1e6 * prices.sqs_standard_per_million
        + usage.sqs_fifo_requests / 1e6 * prices.sqs_fifo_per_million,
        "eventbridge": usage.eventbridge_events / 1e6 * prices.eventbridge_aws_events_per_million,
        "dynamodb": usage.ledger_writes / 1e6 * prices.dynamodb_write_per_million
        + usage.ledger_reads / 1e6 * prices.dynamodb_read_per_million,
    }
    return breakdown
