"""One hierarchy for every error landing-pipeline raises on purpose.

A caller catches ``LandingError`` to tell "the tool refused, and said why" from a bug; the CLI maps each
class to its exit code in one place (``landing_pipeline.cli.errors``). Configuration errors carry every
problem at once, so a user fixes a stack file in one pass instead of one error per run.
"""

from __future__ import annotations

from typing import Any

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.values import Frozen


class LandingError(Exception):
    """Root of the errors the tool raises deliberately, with a message meant for its user."""


class Problem(Frozen):
    """One thing wrong with a configuration: which setting, what value, and how to fix it."""

    _fields = __slots__ = ("setting", "value", "message", "fix")
    setting: str
    value: Any
    message: str
    fix: str

    def __init__(self, setting: str, value: Any, message: str, fix: str) -> None:
        self._init(setting, value, message, fix)

    def __str__(self) -> str:
        key = self.setting if ":" in self.setting else f"{PROJECT}:{self.setting}"  # a mistyped namespace
        return f"{key} = {self.value!r}: {self.message}. Fix: {self.fix}"


class ConfigurationError(LandingError):
    """Raised with every problem of a configuration at once, so a user fixes them in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid pipeline configuration ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}):\n{lines}")


SpecError = ConfigurationError
"""The public name of a configuration error (``from landing_pipeline import SpecError``)."""


class StackFileError(ConfigurationError):
    """A stack or project file that is missing, unreadable or not shaped like a Pulumi stack file.

    A configuration error (fixed by editing a file, exit 2), never a ``FileNotFoundError``: a caller that
    catches ``OSError`` to retry I/O must not swallow a typo in YAML. ``path`` and ``line`` (1-based, when
    known) name where to look.
    """

    def __init__(self, message: str, path: object = None, line: int | None = None):
        self.path = path
        self.line = line
        self.problems = []
        LandingError.__init__(self, message)


class InputError(LandingError):
    """An input given on the command line or in a file (a flag, a scenario, a trace, job arguments) that
    cannot be used; the message names the input and the accepted form. Fixed by the user: exit 2."""


class OperationalError(LandingError):
    """The request was well formed but the world refused it (AWS, the emulator, a missing resource name the
    operator must supply); the message says what to do. Exit 1."""


EXTRAS = {
    "typer": "cli", "rich": "cli", "click": "cli",
    "simpy": "simulate", "numpy": "simulate", "matplotlib": "simulate",
    "moto": "local", "pyspark": "local", "pyarrow": "local", "aws_lambda_powertools": "local",
    "flask": "local", "flask_cors": "local",
}
"""Which extra of ``pyproject.toml`` brings each optional top-level module (base: pulumi, boto3, PyYAML)."""


class MissingExtraError(LandingError):
    """A command needs an optional dependency that is not installed; the message names the pip extra."""

    def __init__(self, module: str, extra: str, what: str = "this command"):
        self.module = module
        self.extra = extra
        super().__init__(f"{what} needs the '{extra}' extra (no module named {module!r}); "
                         f"install it with: pip install 'landing-pipeline[{extra}]'")


def missing_extra(exc: ModuleNotFoundError, what: str = "this command") -> MissingExtraError | None:
    """The extra that brings the module ``exc`` failed to import, or None when it is none of ours (a bug)."""
    top = (exc.name or "").partition(".")[0]
    extra = EXTRAS.get(top)
    return MissingExtraError(top, extra, what) if extra else None
