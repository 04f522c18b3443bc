"""Seeded faults of the AWS services the protocol must survive, as rates in a scenario's ``faults:``.

``duplicate_delivery``: a wake-up is handled by two dispatcher invocations at once (SQS delivers at least
once); ``crash``: a handler dies right after a commit, before the actions the decision asked for (the
announcement, the wake-up, StartJobRun or recording its run id, deleting its message); ``lost_glue_event``:
a run's end event never reaches the completion handler (Glue's events are best effort). Each is the
probability per delivery, per commit and per run. The reconciler is what repairs the last two.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from landing_pipeline.simulator.distributions import read_number
from landing_pipeline.simulator.errors import Problems, did_you_mean


@dataclass(frozen=True)
class Faults:
    duplicate_delivery: float = 0.0
    crash: float = 0.0
    lost_glue_event: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.duplicate_delivery or self.crash or self.lost_glue_event)


NO_FAULTS = Faults()
FAULT_NAMES = tuple(f.name for f in fields(Faults))


def read_faults(problems: Problems, where: str, value: Any) -> Faults:
    """``{duplicate_delivery: 0.01, crash: 0.005, lost_glue_event: 0.02}``; every rate from 0 to below 1."""
    if value is None:
        return NO_FAULTS
    if not isinstance(value, Mapping):
        problems.add(where, value, "expected a mapping of fault rates",
                     "write e.g. faults: {crash: 0.01, lost_glue_event: 0.02}")
        return NO_FAULTS
    rates: dict[str, float] = {}
    for name, raw in value.items():
        if name not in FAULT_NAMES:
            problems.add(f"{where}.{name}", raw, "not a fault the model injects",
                         f"use one of: {', '.join(FAULT_NAMES)}{did_you_mean(name, FAULT_NAMES)}")
            continue
        rate = read_number(problems, f"{where}.{name}", raw)
        if rate is not None and not 0 <= rate < 1:
            problems.add(f"{where}.{name}", raw, "not a probability below 1", "give a rate from 0 to 0.99")
        elif rate is not None:
            rates[str(name)] = float(rate)
    return Faults(**rates)


class FaultDraws:
    """One seeded stream of draws for every fault, so a seed replays the same faults."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self.random = random.Random(seed).random
        self.crashes = self.duplicates = self.lost_events = 0

    def crash(self) -> bool:
        if self.faults.crash and self.random() < self.faults.crash:
            self.crashes += 1
            return True
        return False

    def duplicate(self) -> bool:
        if self.faults.duplicate_delivery and self.random() < self.faults.duplicate_delivery:
            self.duplicates += 1
            return True
        return False

    def lost_event(self) -> bool:
        if self.faults.lost_glue_event and self.random() < self.faults.lost_glue_event:
            self.lost_events += 1
            return True
        return False
