"""Where the functions' log lines go while the emulator runs them in this process.

Each handler writes JSON log lines and EMF metrics to stdout, as Lambda wants.
In the emulator they would tear through the progress display, so stdout is
routed per thread: what a thread writes while it runs a function goes to the
function log (a file, or nowhere), everything else reaches the terminal. The
function log holds JSON lines only, as a ``jq`` user expects: a line a function
writes that is not a JSON object (a Python warning, a stray print, a traceback)
is wrapped as ``{"level": ..., "message": <the line>, "stream": "stdout"|"stderr",
"raw": true}`` instead of breaking the file.

The terminal side is often rich's live display, which has replaced stdout with
its own proxy that prints through a console. A console that resolves
``sys.stdout`` when it writes would find this stream, write into the proxy,
which prints through the console, which writes here again: an endless loop
(the blank, busy terminal of issue 9). So this stream names the real file
underneath as its ``rich_proxied_file`` (rich's consoles write there, as they
do with rich's own proxy), and a write that still arrives while this thread is
already writing to the terminal goes to that file.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

_local = threading.local()


_active: list[_RoutedStream] = []


class _RoutedStream(io.TextIOBase):
    def __init__(self, terminal: IO[str], sink: IO[str] | None, lock: threading.Lock, name: str):
        self.terminal = terminal
        self.sink = sink
        self.name = name
        self._lock = lock

    def write(self, text: str) -> int:
        if getattr(_local, "in_function", False):
            if self.sink is not None:
                self._to_sink(text)
            return len(text)
        if getattr(_local, "to_terminal", False):  # the terminal's own writer came back here: break the loop
            return self.rich_proxied_file.write(text)
        _local.to_terminal = True
        try:
            return self.terminal.write(text)
        finally:
            _local.to_terminal = False

    def flush(self) -> None:
        if getattr(_local, "to_terminal", False):
            self.rich_proxied_file.flush()
        else:
            _local.to_terminal = True
            try:
                self.terminal.flush()
            finally:
                _local.to_terminal = False
        if self.sink is not None:
            with self._lock:
                self.sink.flush()

    def _to_sink(self, text: str) -> None:
        """Whole lines only, each a JSON object (a thread's partial line waits for its end)."""
        partial: dict[str, str] = _local.__dict__.setdefault("partial", {})
        lines = (partial.pop(self.name, "") + text).split("\n")
        if lines[-1]:
            partial[self.name] = lines[-1]
        complete = [json_line(line, self.name) for line in lines[:-1] if line.strip()]
        if complete:
            with self._lock:
                self.sink.write("".join(complete))  # type: ignore[union-attr]

    def end_of_function(self) -> None:
        """A function's last line without a newline still reaches the log."""
        rest = _local.__dict__.get("partial", {}).pop(self.name, "")
        if rest.strip() and self.sink is not None:
            with self._lock:
                self.sink.write(json_line(rest, self.name))

    @property
    def rich_proxied_file(self) -> IO[str]:
        """The real file beneath (beneath rich's proxy too). rich's consoles write to a stream's
        ``rich_proxied_file`` when it has one, so a console that resolves sys.stdout renders to the terminal
        instead of into this stream and the live display's proxy."""
        return getattr(self.terminal, "rich_proxied_file", self.terminal)

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
    routed_out = _RoutedStream(sys.stdout, sink, lock, "stdout")
    routed_err = _RoutedStream(sys.stderr, sink, lock, "stderr")
    rebound: list[tuple[logging.StreamHandler[Any], IO[str]]] = []
    targets = {id(stream): routed_out for stream in _underneath(originals[0], sys.__stdout__)}
    targets.update({id(stream): routed_err for stream in _underneath(originals[1], sys.__stderr__)})
    for handler in _stream_handlers():
        target = targets.get(id(handler.stream))
        if target is None:
            continue
        try:
            previous = handler.setStream(target)  # type: ignore[arg-type]
        except AttributeError:  # logging's last-resort handler always writes to the current sys.stderr
            continue
        if previous is not None:
            rebound.append((handler, previous))
    sys.stdout, sys.stderr = routed_out, routed_err  # type: ignore[assignment]
    _active.extend((routed_out, routed_err))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = originals
        for routed in (routed_out, routed_err):
            _active.remove(routed)
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
        if not previous:
            for stream in list(_active):
                stream.end_of_function()
        _local.in_function = previous


def json_line(line: str, stream: str) -> str:
    """``line`` as one JSON-lines record: as written if it is a JSON object, else wrapped (see the module)."""
    text = line.rstrip("\r")
    try:
        if isinstance(json.loads(text), dict):
            return text + "\n"
    except ValueError:
        pass
    level = "WARNING" if stream == "stderr" else "INFO"
    return json.dumps({"level": level, "message": text, "stream": stream, "raw": True}) + "\n"


def _underneath(stream: IO[str] | None, process_stream: IO[str] | None) -> list[IO[str]]:
    """The stream and every file it writes through (rich's live display proxies the terminal and names it as
    ``rich_proxied_file``), and the process's own stream. A log handler made before the live display started
    (Powertools' Logger takes ``sys.stdout`` when it is created) holds the terminal itself, not the proxy that
    ``sys.stdout`` is by now; left unrouted, every function's log lines tore through the display."""
    found: list[IO[str]] = []
    while stream is not None and all(stream is not seen for seen in found):
        found.append(stream)
        stream = getattr(stream, "rich_proxied_file", None)
    if process_stream is not None:
        found.append(process_stream)
    return found


def _stream_handlers() -> Iterator[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger()] + [logger for logger in logging.Logger.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                yield handler
