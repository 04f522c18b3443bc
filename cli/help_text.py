"""Command help that fits the reader's terminal.

Typer's Rich help keeps every line break of a docstring, and the docstrings here are wrapped at the source's
120 columns: in an 80-column terminal each line then wraps again, leaving a ragged half-line after every one.
Help is reflowed once, at start-up, so Rich wraps it to the terminal: the lines of a paragraph are joined,
and a bullet's continuation joins its bullet. Indented lines (examples, commands to copy) and bullets keep
their own lines, and nothing joins an indented line.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

_BULLETS = ("- ", "* ")


def _keeps_its_line(line: str) -> bool:
    return line[:1].isspace() or line.startswith(_BULLETS)


def reflow(text: str) -> str:
    """``text`` with each paragraph's wrapped lines joined (see the module's docstring for what stays)."""
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if lines and not _keeps_its_line(line) and not lines[-1][:1].isspace():
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _commands(app: Any) -> Iterator[Any]:
    yield from app.registered_commands
    for group in app.registered_groups:
        yield group
        if group.typer_instance is not None:
            yield from _commands(group.typer_instance)
            yield group.typer_instance.info


def reflow_all(app: Any) -> None:
    """Reflow the help of every command and group registered on ``app`` (and its sub-apps)."""
    for info in _commands(app):
        callback = getattr(info, "callback", None)
        text = info.help if isinstance(getattr(info, "help", None), str) else inspect.getdoc(callback) if callback \
            else None
        if isinstance(text, str) and text:
            info.help = reflow(text)
