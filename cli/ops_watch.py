"""``landing status --watch``: the groups at a glance, read again every few seconds until Ctrl-C.

One line per group (``ops_status.watch_row``), read exactly as ``landing status`` reads it (the group's
partition strongly, finished files from the history index), so what it shows running or next is what the next
decision will see. In a terminal the view is redrawn in place; into a pipe or a log each read is printed once,
and only when it changed, so a watch left running in CI does not flood its log.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from landing_pipeline.cli.ops_actions import queue_depths
from landing_pipeline.cli.ops_status import WatchRow, groups_for_status, watch_row
from landing_pipeline.runtime.context import RuntimeContext

STYLE = {"running": "cyan", "blocked": "red", "idle": "green"}


def view(rows: list[WatchRow], queues: dict[str, tuple[int, int]], at: str) -> Group:
    table = Table(title=f"landing status --watch (read {at}; Ctrl-C ends)", title_justify="left")
    for column in ("group", "state", "running", "waiting for", "next in order", "backlog", "done", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(escape(row.group), row.state, escape(row.running), escape(row.waiting), escape(row.next_key),
                      str(row.backlog), str(row.done), escape(row.last_error[:120]),
                      style=STYLE.get(row.state.lower(), ""))
    totals: Counter[str] = Counter()
    for row in rows:
        totals["backlog"] += row.backlog
        totals["done"] += row.done
        totals["running"] += bool(row.running)
    lines = [Text(f"{len(rows)} group(s): {totals['running']} running, backlog {totals['backlog']}, "
                  f"done {totals['done']}")]
    lines += [Text(f"{label}: {visible} waiting, {in_flight} in flight") for label, (visible, in_flight)
              in queues.items()]
    return Group(table, *lines)


def read(ctx: RuntimeContext, group: str | None, key: str | None) -> tuple[list[WatchRow], dict[str, tuple[int, int]]]:
    return [watch_row(g) for g in groups_for_status(ctx.ledger, group=group, key=key)], queue_depths(ctx)


def watch_status(ctx: RuntimeContext, *, group: str | None = None, key: str | None = None,
                 interval_s: float = 2.0, reads: int | None = None) -> None:
    """Read and show until Ctrl-C (or ``reads`` reads: tests)."""
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)  # a log: whole lines
    done = 0
    try:
        if console.is_terminal:
            with Live(console=console, auto_refresh=False) as live:
                while reads is None or done < reads:
                    rows, queues = read(ctx, group, key)
                    live.update(view(rows, queues, time.strftime("%H:%M:%S")), refresh=True)
                    done += 1
                    if reads is None or done < reads:
                        time.sleep(interval_s)
            return
        last: tuple[list[WatchRow], dict[str, tuple[int, int]]] | None = None
        while reads is None or done < reads:
            current = read(ctx, group, key)
            if current != last:
                console.print(view(*current, at=time.strftime("%H:%M:%S")))
                sys.stdout.flush()
                last = current
            done += 1
            if reads is None or done < reads:
                time.sleep(interval_s)
    except KeyboardInterrupt:
        pass
