"""Errors for scenario files and traces: every problem names the field, the value and the fix.

A user who writes a scenario by hand should fix it in one pass, so problems are
collected rather than raised one at a time, like ``runtime.spec.SpecError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landing_pipeline.runtime.errors import InputError


@dataclass(frozen=True)
class ScenarioProblem:
    """One thing wrong with a scenario: where (a dotted path), what value, why, and how to fix it."""

    where: str
    value: Any
    message: str
    fix: str

    def __str__(self) -> str:
        shown = "" if self.value is None else f" = {self.value!r}"
        return f"{self.where}{shown}: {self.message}. Fix: {self.fix}"


class ScenarioError(InputError):
    """A scenario file or trace that cannot be simulated, with every problem found."""

    def __init__(self, source: str, problems: list[ScenarioProblem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"invalid scenario {source} ({count}):\n{lines}")


class UnsupportedByFastModel(InputError):
    """The fast model (``--fast``) cannot answer for this stack and scenario; each problem says the way out."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"--fast cannot simulate this ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
                         f"\n{lines}")


def did_you_mean(word: object, choices: list[str] | tuple[str, ...]) -> str:
    """``", did you mean 'poisson'?"`` when a close choice exists, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Problems:
    """Collects problems while a document is read, so the reader can carry on past the first one."""

    def __init__(self) -> None:
        self.items: list[ScenarioProblem] = []

    def add(self, where: str, value: Any, message: str, fix: str) -> None:
        self.items.append(ScenarioProblem(where, value, message, fix))

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise ScenarioError(source, self.items)
