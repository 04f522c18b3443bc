"""The latencies of the deployed flow between a file landing and its Glue run, and after it.

``realistic`` holds this project's defaults for each hop; ``none`` removes every delay, which (with
``settleSeconds: 0``) turns the model into a textbook queue that can be checked against theory. AWS
publishes no latency guarantees for these hops, so the realistic values are modelling assumptions,
documented in docs/simulator.md; every one can be overridden in a scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from landing_pipeline.simulator.distributions import Distribution, read_distribution
from landing_pipeline.simulator.errors import Problems

PRESETS = ("realistic", "none")
REMOVED = {"throttle": "v2 always hands a freed Glue slot to the group that waited longest for one (the "
                       "pre-handoff backoff and the ideal wait are gone); remove the line"}


@dataclass(frozen=True)
class Overheads:
    """Per-hop delays, named after the step of the deployed flow they model."""

    eventbridge_s: Distribution
    """S3 PutObject -> "Object Created" event on EventBridge -> message in the intake queue."""
    router_poll_s: Distribution
    """Message visible in the intake queue -> the router's event source mapping hands it to an invocation."""
    router_invoke_s: Distribution
    """Router invocation for one batch: parse, ledger write, SendMessage to the ordered queue."""
    dispatcher_s: Distribution
    """Wake-up deliverable in the FIFO queue -> dispatcher invoked and the group loaded."""
    ledger_s: Distribution
    """A decision's strongly consistent Query -> its transaction committed: a write by another handler in
    between fails the decision's guard, and it is taken again."""
    glue_start_s: Distribution
    """StartJobRun -> the run is RUNNING (Glue provisions workers; not billed). Holds a MaxConcurrentRuns slot."""
    completion_s: Distribution
    """Run ends -> "Glue Job State Change" event -> completion queue -> completion Lambda loaded the group."""
    preset: str = "realistic"

    @property
    def intake_is_zero(self) -> bool:
        return self.eventbridge_s.is_zero and self.router_poll_s.is_zero and self.router_invoke_s.is_zero


def _lognormal(mean: float, sigma: float) -> Distribution:
    return Distribution("lognormal", mean, sigma)


REALISTIC = Overheads(
    eventbridge_s=_lognormal(1.0, 0.5),
    router_poll_s=Distribution("exponential", 0.5),
    router_invoke_s=Distribution.fixed(0.15),
    dispatcher_s=_lognormal(0.8, 0.5),
    ledger_s=_lognormal(0.03, 0.5),
    glue_start_s=_lognormal(15.0, 0.5),
    completion_s=_lognormal(4.0, 0.5),
    preset="realistic",
)

NONE = Overheads(
    eventbridge_s=Distribution.fixed(0.0),
    router_poll_s=Distribution.fixed(0.0),
    router_invoke_s=Distribution.fixed(0.0),
    dispatcher_s=Distribution.fixed(0.0),
    ledger_s=Distribution.fixed(0.0),
    glue_start_s=Distribution.fixed(0.0),
    completion_s=Distribution.fixed(0.0),
    preset="none",
)

_DELAY_FIELDS = tuple(f.name for f in fields(Overheads) if f.name.endswith("_s"))


def preset(name: str) -> Overheads:
    if name == "realistic":
        return REALISTIC
    if name == "none":
        return NONE
    raise ValueError(f"unknown overheads preset {name!r}; use one of: {', '.join(PRESETS)}")


def read_overheads(problems: Problems, where: str, value: Any) -> Overheads:
    """``realistic``, ``none``, or ``{preset: realistic, glue_start_s: 30, ...}``."""
    if value is None:
        return REALISTIC
    if isinstance(value, str):
        if value not in PRESETS:
            problems.add(where, value, "not a known overheads preset", f"use one of: {', '.join(PRESETS)}")
            return REALISTIC
        return preset(value)
    if not isinstance(value, Mapping):
        problems.add(where, value, "expected 'realistic', 'none' or a mapping of overrides",
                     "write e.g. overheads: {preset: realistic, glue_start_s: 30}")
        return REALISTIC
    base_name = value.get("preset", "realistic")
    if base_name not in PRESETS:
        problems.add(f"{where}.preset", base_name, "not a known overheads preset", f"use one of: {', '.join(PRESETS)}")
        base_name = "realistic"
    changes: dict[str, Any] = {}
    for key, raw in value.items():
        if key == "preset":
            continue
        if key in REMOVED:
            problems.add(f"{where}.{key}", raw, "no longer a setting of the model", REMOVED[key])
        elif key in _DELAY_FIELDS:
            dist = read_distribution(problems, f"{where}.{key}", raw, "s")
            if dist is not None:
                changes[key] = dist
        else:
            problems.add(f"{where}.{key}", raw, "not an overhead of the model",
                         f"use preset or one of: {', '.join(_DELAY_FIELDS)}")
    result = replace(preset(base_name), **changes)
    return replace(result, preset=base_name if not changes else f"{base_name}+overrides")


def describe(overheads: Overheads) -> dict[str, str]:
    """Human-readable values for the summary and the JSON report."""
    return {name: getattr(overheads, name).describe() for name in _DELAY_FIELDS}
