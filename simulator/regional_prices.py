"""Prices for the stack's Region (its ``aws:region``), from a dated table that names the source of each figure.

A figure is in the table only where a source we can cite gives it for that Region; any other figure of a
listed Region, and every figure of a Region not listed, is the us-east-1 one, and the report says which
(``notes``). Nothing here is estimated. A scenario's ``prices:`` overrides any figure, in any Region.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from landing_pipeline.simulator.prices import DEFAULT_PRICES, SOURCES, Prices

PRICES_AS_OF = "2026-12-02"
"""The day the table below was put together from its sources (us-east-1's figures: see ``prices``)."""
FALLBACK_REGION = "us-east-1"

GLUE_BY_REGION = ("Glue ETL price per DPU-hour by Region, as generated from AWS's Glue pricing into "
                  "GoogleCloudPlatform/PerfKitBenchmarker perfkitbenchmarker/providers/aws/aws_dpb_glue_prices.py "
                  "(commit 441d2f97131c9b6baf6f9664a9860d9a6bd4b204); see https://aws.amazon.com/glue/pricing/")

REGIONAL: dict[str, dict[str, tuple[float, str]]] = {
    "us-east-1": {
        "glue_dpu_hour": (0.44, SOURCES["glue_dpu_hour"]),
        "lambda_per_million_requests": (0.20, SOURCES["lambda"]),
        "lambda_per_gb_s": (0.0000133334, SOURCES["lambda"]),
        "sqs_standard_per_million": (0.40, SOURCES["sqs"]),
        "sqs_fifo_per_million": (0.50, SOURCES["sqs"]),
        "eventbridge_aws_events_per_million": (0.0, SOURCES["eventbridge"]),
        "dynamodb_write_per_million": (0.625, SOURCES["dynamodb"]),
        "dynamodb_read_per_million": (0.125, SOURCES["dynamodb"]),
    },
    "us-east-2": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "us-west-2": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "eu-west-1": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "eu-central-1": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "eu-west-2": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "ap-southeast-1": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "ap-southeast-2": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
    "ap-northeast-1": {"glue_dpu_hour": (0.44, GLUE_BY_REGION)},
}
"""Per Region, the figures a cited source gives for it: (USD, source)."""

PRICED = tuple(REGIONAL[FALLBACK_REGION])


@dataclass(frozen=True)
class RegionalPrices:
    region: str
    prices: Prices
    fallback: tuple[str, ...]
    """Figures taken from us-east-1 because no cited source gives them for ``region``."""

    @property
    def notes(self) -> list[str]:
        if not self.fallback or self.region == FALLBACK_REGION:
            return []
        if self.region not in REGIONAL:
            return [f"no prices for Region {self.region} in the simulator's table (as of {PRICES_AS_OF}): every "
                    f"figure is {FALLBACK_REGION}'s. Give your Region's prices under prices: in the scenario."]
        return [f"prices for {self.region}: {', '.join(self.fallback)} are {FALLBACK_REGION}'s (no cited source "
                f"for {self.region} in the table as of {PRICES_AS_OF}); set them under prices: in the scenario."]


def prices_for(region: str | None, given: Prices = DEFAULT_PRICES, overridden: tuple[str, ...] = ()) -> RegionalPrices:
    """The prices of ``region`` (None: us-east-1), with the scenario's own figures (``overridden`` names of
    ``given``) kept as they are."""
    name = region or FALLBACK_REGION
    table = REGIONAL.get(name, {})
    prices = replace(DEFAULT_PRICES, **{key: value for key, (value, _) in table.items()})
    prices = replace(prices, **{key: getattr(given, key) for key in overridden})
    fallback = tuple(key for key in PRICED if key not in table and key not in overridden)
    return RegionalPrices(name, prices, fallback)
