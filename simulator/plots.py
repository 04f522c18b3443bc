"""PNG charts of one simulated run: the dashboard over time, a Gantt of the busiest groups, latency CDF.

They answer at a glance what the summary table cannot: when the backlog
peaked and drained, whether runs of one group ever overlapped (seed design),
and how long the slowest files waited. matplotlib's Agg backend is used, so
no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landing_pipeline.simulator.ledger import SUCCEEDED

if TYPE_CHECKING:
    from landing_pipeline.simulator.runner import SimulationResult

GANTT_GROUPS = 12
GANTT_MIN_BAR = 1 / 700  # of the time axis: about 1.5 pixels, so a short run on a long axis still shows
GANTT_EDGE_RUNS = 250  # typical runs side by side below which bars get a white edge (adjacent runs apart)


def _scale(span: float) -> tuple[float, str]:
    if span > 2 * 86400:
        return 86400.0, "days since start"
    if span > 3 * 3600:
        return 3600.0, "hours since start"
    if span > 600:
        return 60.0, "minutes since start"
    return 1.0, "seconds since start"


def write_plots(result: SimulationResult, directory: Path, title: str) -> list[Path]:
    """Write backlog.png, gantt.png and latency_cdf.png into ``directory``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = [_dashboard(plt, result, directory / "backlog.png", title),
             _gantt(plt, result, directory / "gantt.png", title),
             _latency_cdf(plt, result, directory / "latency_cdf.png", title)]
    plt.close("all")
    return paths


def _dashboard(plt: Any, result: SimulationResult, path: Path, title: str) -> Path:
    series = result.model.series
    t = np.asarray(series.t)
    unit, label = _scale(float(t.max()) if len(t) else 0.0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(t / unit, series.backlog, drawstyle="steps-post", color="tab:blue", label="visible messages (backlog)")
    top.plot(t / unit, series.inflight, drawstyle="steps-post", color="tab:gray", alpha=0.7,
             label="messages in flight (groups held)")
    top.set_ylabel("ordered queue")
    top.legend(loc="upper right")
    slots = result.metrics["glue_slots"]
    bottom.plot(t / unit, series.groups_running, drawstyle="steps-post", color="tab:green", label="groups running")
    bottom.plot(t / unit, series.runs, drawstyle="steps-post", color="tab:olive", alpha=0.6, linestyle="--",
                label="Glue runs")
    bottom.axhline(slots, color="tab:red", linestyle=":", label=f"Glue slots ({slots})")
    bottom.set_ylabel("Glue")
    bottom.set_xlabel(label)
    bottom.legend(loc="upper right")
    fig.suptitle(f"{title}: backlog and groups running")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _overlaps_per_group(run_group: np.ndarray, start: np.ndarray, end: np.ndarray, groups: int) -> np.ndarray:
    """Runs that started while an earlier run of the same group was still going, counted per group."""
    if not len(run_group):
        return np.zeros(groups, dtype=np.int64)
    order = np.lexsort((start, run_group))
    g, s, e = run_group[order], start[order], end[order]
    horizon = float(e.max()) + 1.0
    running = np.maximum.accumulate(e + g * horizon) - g * horizon
    previous = np.concatenate(([-np.inf], running[:-1]))
    previous[np.concatenate(([True], g[1:] != g[:-1]))] = -np.inf
    return np.bincount(g[s < previous], minlength=groups)


def _gantt_groups(result: SimulationResult, run_group: np.ndarray) -> list[int]:
    """The groups worth a row: those with overlapping runs first, then the busiest."""
    names = result.workload.group_names
    files = np.bincount(np.asarray(result.workload.group, dtype=np.int64), minlength=len(names))
    runs = result.model.runs
    overlaps = _overlaps_per_group(run_group, runs.start, runs.end, len(names))
    order = np.lexsort((-files, -overlaps))
    return [int(g) for g in order[:GANTT_GROUPS] if files[g] > 0]


def _extent(start: np.ndarray, end: np.ndarray) -> tuple[float, float]:
    """From the first run's start to the last run's end: every run of the plotted groups is on the chart."""
    if not len(start):
        return 0.0, 1.0
    first, last = float(start.min()), float(end.max())
    return first, max(last, first + 1.0)


def _gantt(plt: Any, result: SimulationResult, path: Path, title: str) -> Path:
    fig = gantt_figure(plt, result, title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def gantt_figure(plt: Any, result: SimulationResult, title: str) -> Any:
    """The runs of the groups worth a row, from the first run's start to the last run's end."""
    runs = result.model.runs
    file_group = np.asarray(result.workload.group, dtype=np.int64)
    run_group = file_group[runs.file] if len(runs) else np.zeros(0, dtype=np.int64)
    groups = _gantt_groups(result, run_group)
    shown = np.isin(run_group, groups)
    first, last = _extent(runs.start[shown], runs.end[shown])
    span = last - first
    unit, label = _scale(span)  # the unit fits the span drawn, not the absolute time it ends at
    min_bar = span * GANTT_MIN_BAR
    durations = runs.end[shown] - runs.start[shown]
    edge = len(durations) > 0 and float(np.median(durations)) * GANTT_EDGE_RUNS >= span
    widened = False
    fig, ax = plt.subplots(figsize=(11, 0.5 * max(len(groups), 3) + 1.5))
    labels = []
    for row, g in enumerate(groups):
        mine = np.flatnonzero(run_group == g)
        lane_ends: list[float] = []  # overlapping runs (seed design) get their own lane within the row
        bars: dict[tuple[int, bool], list[tuple[float, float]]] = {}
        for index in mine[np.argsort(runs.start[mine], kind="stable")]:
            start, end = float(runs.start[index]), float(runs.end[index])
            lane = next((i for i, free_at in enumerate(lane_ends) if free_at <= start), len(lane_ends))
            if lane == len(lane_ends):
                lane_ends.append(end)
            else:
                lane_ends[lane] = end
            widened = widened or end - start < min_bar
            bars.setdefault((lane, bool(runs.ok[index])), []).append((start / unit, max(end - start, min_bar) / unit))
        lanes = max(len(lane_ends), 1)
        for (lane, ok), spans in bars.items():
            ax.broken_barh(spans, (row - 0.4 + lane * 0.8 / lanes, 0.8 / lanes),
                           facecolors="tab:green" if ok else "tab:red", edgecolor="white" if edge else "none",
                           linewidth=0.4 if edge else 0.0)
        labels.append(f"{result.workload.group_names[g]} ({len(mine)} runs)")
    ax.set_yticks(range(len(groups)), labels)
    ax.invert_yaxis()
    pad = 0.01 * span
    ax.set_xlim((first - pad) / unit, (last + pad) / unit)
    ax.set_xlabel(label + (" (runs shorter than about 1.5 pixels are drawn that wide)" if widened else ""))
    overlaps = result.metrics["overlapping_runs"]
    ax.set_title(f"{title}: runs of {len(groups)} groups (green ok, red failed; lanes within a row are "
                 f"overlapping runs: {overlaps} in all)", fontsize=10)
    return fig


def _latency_cdf(plt: Any, result: SimulationResult, path: Path, title: str) -> Path:
    ledger, w = result.model.ledger, result.workload
    status = np.asarray(ledger.status)
    ok = status == SUCCEEDED
    latency = np.sort(np.asarray(ledger.done_s)[ok] - np.asarray(w.land_s)[ok])
    first = np.asarray(ledger.first_start)
    started = first >= 0
    wait = np.sort(first[started] - np.asarray(w.enqueue_s)[started])
    unit, label = _scale(float(latency.max()) if len(latency) else 0.0)
    fig, ax = plt.subplots(figsize=(9, 5))
    for values, name, color in ((latency, "landing to done", "tab:blue"), (wait, "enqueue to run start", "tab:orange")):
        if len(values):
            ax.plot(values / unit, np.arange(1, len(values) + 1) / len(values), color=color, label=name)
    for q, style in ((0.5, ":"), (0.95, "--"), (0.99, "-.")):
        ax.axhline(q, color="gray", linestyle=style, linewidth=0.8)
    ax.set_xlabel(label.replace(" since start", ""))
    ax.set_ylabel("share of files")
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right")
    ax.set_title(f"{title}: latency CDF ({len(latency)} files succeeded)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
