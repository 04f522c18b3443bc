"""``landing demo`` in an interactive terminal (issue 9): it finishes and shows its table.

Tests and CI run the demo with output to a file or a pipe, where rich's live display stays off; in a terminal
it replaces stdout with a proxy that prints through its console, and the emulator routes stdout per thread
for the functions' logs. The two once wrote into each other forever (a blank screen at full CPU). These tests
run the command under a pseudo-terminal, as a user's shell would.
"""

from __future__ import annotations

import logging
import os
import pty
import select
import signal
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.live import Live

from landing_pipeline.emulator.function_output import function_scope, routed_stdout

LANDING = Path(sys.executable).parent / "landing"


def _run_in_pty(argv: list[str], timeout_s: float, cwd: Path) -> tuple[int | None, str]:
    """Run ``argv`` on a pseudo-terminal (150 x 50); (exit status or None if killed at the timeout, screen text)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal session
        os.chdir(cwd)
        os.environ.update({"COLUMNS": "150", "LINES": "50", "TERM": "xterm-256color"})
        os.execv(argv[0], argv)
    output, deadline, status, open_ = bytearray(), time.monotonic() + timeout_s, None, True
    try:
        while status is None and time.monotonic() < deadline:
            ready = select.select([fd], [], [], 0.2)[0] if open_ else []
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                output += chunk
                open_ = bool(chunk)
            elif not open_:
                time.sleep(0.2)
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return status, output.decode("utf-8", errors="replace")


def test_demo_finishes_in_a_terminal_and_shows_the_table(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    header = "order_id,customer_id,amount,order_ts\n"
    (files / "orders_20250915_101500.csv").write_text(header + "1,c1,10.5,2025-09-15T10:15:00\n")
    (files / "orders_20250915_103000.csv").write_text(header + "2,c2,7.25,2025-09-15T10:30:00\n")
    argv = [str(LANDING), "demo", "--engine", "sleep", "--speedup", "600", "--files", str(files)]
    status, screen = _run_in_pty(argv, timeout_s=150, cwd=Path(__file__).resolve().parents[2])
    assert status is not None, f"landing demo did not finish within 150 s in a terminal; screen:\n{screen[-2000:]}"
    assert status == 0, screen[-3000:]
    assert "Files by group, in run order" in screen, screen[-3000:]
    assert "orders_20250915_103000.csv" in screen and "SUCCEEDED" in screen
    assert "order held in every group" in screen
    assert '"level"' not in screen, "the functions' JSON log lines reached the terminal"


def test_a_live_display_and_routed_stdout_do_not_write_into_each_other(tmp_path: Path) -> None:
    """The loop itself, in process: a console that looks up sys.stdout at each write (rich's default), a live
    display that proxies stdout through it, and the routing on top. Each print must come out once."""
    terminal = tmp_path / "terminal.txt"
    sink = tmp_path / "functions.log"

    def show() -> None:
        with terminal.open("w") as screen, sink.open("w") as log:
            saved = sys.stdout
            sys.stdout = screen
            try:
                console = Console(force_terminal=True, width=80)  # file=None: resolves sys.stdout when it writes
                with Live("progress", console=console, refresh_per_second=50, transient=True), routed_stdout(log):
                    print("a line from the demo itself")
                    with function_scope():
                        print('{"level": "INFO", "message": "a function log line"}')
                    time.sleep(0.1)
            finally:
                sys.stdout = saved

    worker = threading.Thread(target=show, daemon=True)  # a loop must fail the test, not hang it
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "printing under the live display with routed stdout never returned"
    shown = terminal.read_text()
    assert shown.count("a line from the demo itself") == 1
    assert "a function log line" not in shown
    assert sink.read_text() == '{"level": "INFO", "message": "a function log line"}\n'


def test_a_log_handler_made_before_the_live_display_still_goes_to_the_function_log(tmp_path: Path) -> None:
    """Powertools' Logger binds ``sys.stdout`` when it is created: one made before the live display started holds
    the terminal itself, under rich's proxy. Its lines from inside a function must reach the function log."""
    terminal = tmp_path / "terminal.txt"
    sink = tmp_path / "functions.log"
    logger = logging.getLogger("made-before-the-display")
    logger.propagate = False
    with terminal.open("w") as screen, sink.open("w") as log:
        saved = sys.stdout
        sys.stdout = screen
        handler = logging.StreamHandler(sys.stdout)
        logger.addHandler(handler)
        try:
            console = Console(file=sys.stdout, force_terminal=True, width=80)
            with Live("progress", console=console, transient=True), routed_stdout(log), function_scope():
                logger.warning('{"level": "WARNING", "message": "from a handler made earlier"}')
        finally:
            logger.removeHandler(handler)
            sys.stdout = saved
    assert "from a handler made earlier" not in terminal.read_text()
    assert "from a handler made earlier" in sink.read_text()
    assert handler.stream is screen   # given back when the routing ends
