"""One hierarchy for every error landing-pipeline raises on purpose.

A caller catches ``LandingError`` to tell "the tool refused, and said why" from a bug; the CLI maps each
class to its exit code in one place (``landing_pipeline.cli.errors``). Configuration errors carry every
problem at once, so a user fixes a stack file in one pass instead of one error per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landing_pipeline.runtime.contract import PROJECT


class LandingError(Exception):
    """Root of the errors the tool raises deliberately, with a message meant for its user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: which setting, what value, and how to fix it."""

    setting: str
    value: Any
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{PROJECT}:{self.setting} = {self.value!r}: {self.message}. Fix: {self.fix}"


class ConfigurationError(LandingError):
    """Raised with every problem of a configuration at once, so a user fixes them in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid pipeline configuration ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}):\n{lines}")


SpecError = ConfigurationError
"""The public name of a configuration error (``from landing_pipeline import SpecError``)."""
