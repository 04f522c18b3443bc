"""The per-feed part of a simulation's report: files, outcomes, latency, DPU-hours and Glue cost by feed.

A stack with feeds answers to several data owners, and one total hides that the orders feed meets its p95
while the clickstream feed, with its larger files, does not. Files are attributed to feeds with the
dispatcher's rule (``simulator.feed_models.file_feeds``); a run belongs to the feed of its group (one group,
one feed: ``runtime.feeds``). Only stacks with feeds get this table, so other reports are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from landing_pipeline.simulator.feed_models import NO_FEED, file_feeds
from landing_pipeline.simulator.ledger import DEAD, SUCCEEDED
from landing_pipeline.simulator.queue_model import QueueModel

if TYPE_CHECKING:
    from landing_pipeline.simulator.runner import Model
    from landing_pipeline.simulator.scenario import Scenario

COLUMNS = (("files", "files", "n"), ("ok", "succeeded", "n"), ("dead", "dead", "n"),
           ("rej", "rejected", "n"), ("p50", "latency_p50_s", "s"), ("p95", "latency_p95_s", "s"),
           ("DPU-h", "glue_dpu_hours", "n"), ("Glue $", "glue_cost_usd", "$"))


def per_feed_metrics(model: Model, scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Per feed of the stack (in its order) and ``(no feed)``: the metrics of ``COLUMNS``; {} without feeds.

    Latency is landing to done of the feed's succeeded files; DPU-hours are billed as the total is (each run
    at least Glue's minimum); the Glue cost is those DPU-hours at the scenario's price. Rejected files (the
    router parks them: ungroupable, or ``unmatchedFiles: reject``) match no feed, so they count under
    ``(no feed)``."""
    spec, w = model.spec, model.w
    if not spec.feeds:
        return {}
    feeds = np.asarray(file_feeds(spec, w), dtype=object)
    status = np.asarray(model.ledger.status, dtype=np.int8)
    latency = np.asarray(model.ledger.done_s) - np.asarray(w.land_s)
    dpu_s: dict[str, float] = {}
    for first, running_s in _bills(model):
        feed = str(feeds[first])
        dpu_s[feed] = dpu_s.get(feed, 0.0) + max(running_s, model.min_billed_s) * model.dpus
    result: dict[str, dict[str, Any]] = {}
    for name in [*(feed.name for feed in spec.feeds), NO_FEED]:
        mine = feeds == name
        ok = mine & (status == SUCCEEDED)
        rejected = w.rejected if name == NO_FEED else 0
        if not mine.any() and not rejected:
            continue
        p50, p95 = (float(v) for v in np.percentile(latency[ok], (50, 95))) if ok.any() else (None, None)
        hours = dpu_s.get(name, 0.0) / 3600.0
        result[name] = {"files": int(np.count_nonzero(mine)), "succeeded": int(np.count_nonzero(ok)),
                        "dead": int(np.count_nonzero(mine & (status == DEAD))), "rejected": rejected,
                        "latency_p50_s": p50, "latency_p95_s": p95, "glue_dpu_hours": hours,
                        "glue_cost_usd": hours * scenario.prices.glue_dpu_hour}
    return result


def per_feed_table(metrics: dict[str, Any]) -> Table | None:
    """The ``per_feed`` metrics as a table; None when there are none. With replications the cells are means
    (mean ± CI in nine columns would not fit a terminal); the confidence intervals are in ``--json``."""
    from landing_pipeline.simulator.report import show

    rows = metrics.get("per_feed") or {}
    if not rows:
        return None
    replications = metrics.get("replications", 1)

    def cell(value: Any, kind: str) -> str:
        return show(value["mean"] if isinstance(value, dict) and "mean" in value else value, kind)
    caption = ("p50/p95: latency, landing to done; rej: parked by the router; Glue $: the feed's billed "
               "DPU-hours (other services: in the total only)")
    if replications > 1:
        caption += f"; means of {replications} replications, 95 % CIs in --json"
    table = Table(title="Per feed", title_justify="left", pad_edge=False, caption=caption, caption_justify="left")
    table.add_column("feed", style="bold", no_wrap=True)
    for label, _, _ in COLUMNS:
        table.add_column(label, justify="right", no_wrap=True)
    for name, values in rows.items():
        table.add_row(name, *(cell(values.get(key), kind) for _, key, kind in COLUMNS))
    return table


def _bills(model: Model) -> Iterator[tuple[int, float]]:
    """Per Glue run: its first file and its RUNNING seconds."""
    if isinstance(model, QueueModel):
        yield from zip(model.run_first, model.billed, strict=True)
        return
    for run in model.glue.runs:
        yield run.fids[0], run.end - run.running_at
