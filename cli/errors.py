"""The one place the ``landing`` command turns a refusal into a message and an exit code.

Every error the tool raises on purpose derives from ``LandingError`` (``runtime/errors.py``); here each
family maps to its exit code once, and one handler prints the message (markup escaped, so a key prefix
``in[bound]/`` or a regex ``[a-z]+`` survives, and no traceback) for every command. Anything else is a bug
and keeps its traceback. A missing optional dependency becomes the pip extra to install.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from landing_pipeline.runtime.errors import (
    ConfigurationError,
    InputError,
    LandingError,
    MissingExtraError,
    OperationalError,
    missing_extra,
)

err_console = Console(stderr=True)

EXIT_CODES: dict[type[BaseException], int] = {
    ConfigurationError: 2,  # a setting or stack file (SpecError, StackFileError): fix the file
    InputError: 2,  # a flag, scenario, trace, files folder, outputs file or missing name: fix the command line
    MissingExtraError: 2,  # this installation lacks an extra: pip install it
    OperationalError: 1,  # well formed, but AWS or the emulator refused: the message says what to do
    LandingError: 1,
}
"""Error family -> exit code; the most specific class in an error's MRO wins. 0 is success, and typer's own
usage errors (unknown option) exit 2 like ours."""

F = TypeVar("F", bound=Callable[..., Any])


def exit_code(error: BaseException) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def report(error: LandingError) -> None:
    """Print ``error`` on stderr as ``error: <message>``; the message is text, never rich markup."""
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(error: LandingError) -> NoReturn:
    report(error)
    raise typer.Exit(exit_code(error)) from None


def handled(callback: F, what: str = "this command") -> F:
    """``callback`` with the handler around it: LandingError and a missing extra exit with one message."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except LandingError as error:
            fail(error)
        except ModuleNotFoundError as error:
            extra = missing_extra(error, what)
            if extra is None:
                raise  # not an optional dependency of ours: a bug, keep the traceback
            fail(extra)

    wrapper.__landing_handled__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def install(app: typer.Typer, prefix: str = "landing") -> None:
    """Wrap every command (and sub-app) registered on ``app``, so no command needs its own try/except."""
    for command in app.registered_commands:
        callback = command.callback
        if callback is not None and not getattr(callback, "__landing_handled__", False):
            name = command.name or callback.__name__.replace("_", "-")
            command.callback = handled(callback, f"`{prefix} {name}`")
    main = app.registered_callback  # a sub-app that runs on its own (``landing simulate``) is a callback
    if main is not None and main.callback is not None and not getattr(main.callback, "__landing_handled__", False):
        main.callback = handled(main.callback, f"`{prefix}`")
    for group in app.registered_groups:
        if group.typer_instance is not None:
            install(group.typer_instance, f"{prefix} {group.name or ''}".strip())
