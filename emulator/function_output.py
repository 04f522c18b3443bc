"""Where the functions' log lines go while the emulator runs them in this process.

Each handler writes JSON log lines and EMF metrics to stdout, as Lambda wants.
In the emulator they would tear through the progress display, so stdout is
routed per thread: what a thread writes while it runs a function goes to the
function log (a file, or nowhere), everything else reaches the terminal.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

_local = threading.local()


class _RoutedStream(io.TextIOBase):
    def __init__(self, terminal: IO[str], sink: IO[str] | None, lock: threading.Lock):
        self.terminal = terminal
        self.sink = sink
        self._lock = lock

    def write(self, text: str) -> int:
        if getattr(_local, "in_function", False):
            if self.sink is not None:
                with self._lock:
                    self.sink.write(text)
            return len(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()
        if self.sink is not None:
            with self._lock:
                self.sink.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.terminal, "encoding", "utf-8")


@contextmanager
def routed_stdout(sink: IO[str] | None) -> Iterator[None]:
    """Install the per-thread routing for stdout and stderr (and for log handlers already bound to them)."""
    lock = threading.Lock()
    originals = sys.stdout, sys.stderr
    routed_out = _RoutedStream(sys.stdout, sink, lock)
    routed_err = _RoutedStream(sys.stderr, sink, lock)
    rebound: list[tuple[logging.StreamHandler[Any], IO[str]]] = []
    for handler in _stream_handlers():
        target = {id(originals[0]): routed_out, id(originals[1]): routed_err}.get(id(handler.stream))
        if target is None:
            continue
        try:
            previous = handler.setStream(target)  # type: ignore[arg-type]
        except AttributeError:  # logging's last-resort handler always writes to the current sys.stderr
            continue
        if previous is not None:
            rebound.append((handler, previous))
    sys.stdout, sys.stderr = routed_out, routed_err  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = originals
        for handler, stream in rebound:
            handler.setStream(stream)


@contextmanager
def function_scope() -> Iterator[None]:
    """Mark this thread as running a function: its output goes to the function log."""
    previous = getattr(_local, "in_function", False)
    _local.in_function = True
    try:
        yield
    finally:
        _local.in_function = previous


def _stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                yield handler
