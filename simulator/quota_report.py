"""The report's lines for the quotas a run hit (the quota by name, its value, when it was first hit, how often,
the latency it cost, and how to raise it) and the date of the Region's prices."""

from __future__ import annotations

from typing import Any

from landing_pipeline.simulator.limits import QUOTAS, Limits
from landing_pipeline.simulator.prices import PRICES_AS_OF
from landing_pipeline.simulator.scenario import Scenario


def quota_notes(metrics: dict[str, Any], limits: Limits, describe: Any, show: Any) -> list[str]:
    """``describe`` formats seconds, ``show`` a (possibly replicated) number (``simulator.report``)."""
    notes = []
    for name, hit in (metrics.get("quotas") or {}).items():
        quota = QUOTAS.get(name)
        if quota is None:
            continue
        value = getattr(limits, name)
        delayed = _mean(hit.get("delayed"))
        cost = (f"it held back {show(hit['delayed'])} {quota.held} by "
                f"{describe(_mean(hit['delay_total_s']))} in total, {describe(_mean(hit['delay_max_s']))} at most"
                if delayed else "nothing it held back went through later within the simulation")
        notes.append(f"quota '{quota.title}' ({value:,}) was hit {show(hit['hits'])} time(s), first at "
                     f"{describe(_mean(hit['first_hit_s']))}; {cost}. To raise it: {quota.raise_it} "
                     f"({quota.source}); or set limits.{name} in the scenario to your account's value.")
    return notes


def _mean(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, int | float) else 0.0


def regional_as_of(scenario: Scenario) -> str:
    """The date of the figures the cost is priced with: the regional table's, unless every figure is the
    scenario's own or us-east-1's defaults (``simulator.prices``)."""
    from landing_pipeline.simulator.regional_prices import FALLBACK_REGION
    from landing_pipeline.simulator.regional_prices import PRICES_AS_OF as REGIONAL_AS_OF

    return PRICES_AS_OF if scenario.region == FALLBACK_REGION else REGIONAL_AS_OF
