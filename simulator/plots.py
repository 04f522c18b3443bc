"""PNG charts of one simulated run: the dashboard over time, a Gantt of the busiest groups, latency CDF.

They answer at a glance what the summary table cannot: when the backlog
peaked and drained, whether runs of one group ever overlapped (seed design),
and how long the slowest files waited. matplotlib's Agg backend is used, so
no display is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landing_pipeline.simulator.ledger import SUCCEEDED
from landing_pipeline.simulator.report import duration

if TYPE_CHECKING:
    from landing_pipeline.simulator.runner import SimulationResult
    from landing_pipeline.simulator.sweep import Target

GANTT_GROUPS = 12
GANTT_MIN_BAR = 1 / 700  # of the time axis: about 1.5 pixels, so a short run on a long axis still shows
GANTT_EDGE_RUNS = 250  # typical runs side by side below which bars get a white edge (adjacent runs apart)
GANTT_AGGREGATE_RUNS = 40  # above this many runs drawn ...
GANTT_AGGREGATE_BAR = 1 / 350  # ... whose typical bar is under about 3 pixels, runs are binned per row
GANTT_BINS = 120  # at most this many bins across the chart
BIN_WIDTHS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
PERCENTILES = ((0.5, ":"), (0.95, "--"), (0.99, "-."))


def _scale(span: float) -> tuple[float, str]:
    if span > 2 * 86400:
        return 86400.0, "days since start"
    if span > 3 * 3600:
        return 3600.0, "hours since start"
    if span > 600:
        return 60.0, "minutes since start"
    return 1.0, "seconds since start"


def write_plots(result: SimulationResult, directory: Path, title: str,
                targets: Sequence[Target] = ()) -> list[Path]:
    """Write backlog.png, gantt.png and latency_cdf.png into ``directory``; returns their paths. Latency and
    wait targets are drawn on the CDF."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = [_dashboard(plt, result, directory / "backlog.png", title),
             _gantt(plt, result, directory / "gantt.png", title),
             _latency_cdf(plt, result, directory / "latency_cdf.png", title, targets)]
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
    """The runs of the groups worth a row, from the first run's start to the last run's end.

    Minute-long runs over a day and a half are slivers a pixel wide: above GANTT_AGGREGATE_RUNS runs whose
    typical bar would be under about 3 pixels, each row shows fixed time bins shaded by how much of the bin
    the group was running instead, so when each group was served reads at a glance.
    """
    runs = result.model.runs
    file_group = np.asarray(result.workload.group, dtype=np.int64)
    run_group = file_group[runs.file] if len(runs) else np.zeros(0, dtype=np.int64)
    groups = _gantt_groups(result, run_group)
    shown = np.isin(run_group, groups)
    first, last = _extent(runs.start[shown], runs.end[shown])
    span = last - first
    unit, label = _scale(span)  # the unit fits the span drawn, not the absolute time it ends at
    durations = runs.end[shown] - runs.start[shown]
    typical = float(np.median(durations)) if len(durations) else span
    fig, ax = plt.subplots(figsize=(11, 0.5 * max(len(groups), 3) + 1.5))
    if len(durations) > GANTT_AGGREGATE_RUNS and typical < span * GANTT_AGGREGATE_BAR:
        width = bin_width(span)
        _draw_bins(plt, fig, ax, result, run_group, groups, first, width, unit)
        what = f"runs of {len(groups)} groups in {bin_label(width)} bins"
    else:
        widened = _draw_runs(ax, result, run_group, groups, span, unit, typical * GANTT_EDGE_RUNS >= span)
        label += " (runs shorter than about 1.5 pixels are drawn that wide)" if widened else ""
        what = f"runs of {len(groups)} groups (green ok, red failed; lanes within a row: overlapping runs)"
    ax.set_yticks(range(len(groups)), [f"{result.workload.group_names[g]} "
                                       f"({int(np.count_nonzero(run_group == g))} runs)" for g in groups])
    ax.set_ylim(len(groups) - 0.5, -0.5)  # the busiest group on top
    pad = 0.01 * span
    ax.set_xlim((first - pad) / unit, (last + pad) / unit)
    ax.set_xlabel(label)
    ax.set_ylabel(f"group (the {len(groups)} busiest)")
    overlaps = result.metrics["overlapping_runs"]
    ax.set_title(f"{title}: {what}\n{overlaps} overlapping runs in all", fontsize=10)
    return fig


def bin_label(width: float) -> str:
    return f"{width / 60:g} min" if width < 3600 else f"{width / 3600:g} h"


def bin_width(span: float) -> float:
    """The smallest round width (1 min ... 1 day) that keeps the chart within GANTT_BINS bins."""
    return float(next((w for w in BIN_WIDTHS_S if span / w <= GANTT_BINS), BIN_WIDTHS_S[-1]))


def _draw_runs(ax: Any, result: SimulationResult, run_group: np.ndarray, groups: list[int], span: float,
               unit: float, edge: bool) -> bool:
    """One bar per run; overlapping runs (seed design) get their own lane within the row. Returns whether
    any bar had to be widened to stay visible."""
    runs = result.model.runs
    min_bar = span * GANTT_MIN_BAR
    widened = False
    for row, g in enumerate(groups):
        mine = np.flatnonzero(run_group == g)
        lane_ends: list[float] = []
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
    return widened


def _draw_bins(plt: Any, fig: Any, ax: Any, result: SimulationResult, run_group: np.ndarray, groups: list[int],
               first: float, width: float, unit: float) -> None:
    """Per row, the share of each time bin the group had a run going; bins with a failed run get a red
    edge, bins where runs of the group overlapped are hatched."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    runs = result.model.runs
    cmap = ListedColormap(plt.get_cmap("Greens")(np.linspace(0.25, 1.0, 256)))  # an empty-ish bin still shows
    norm = plt.Normalize(0.0, 1.0)
    origin = np.floor(first / width) * width
    for row, g in enumerate(groups):
        mine = np.flatnonzero(run_group == g)
        busy: dict[int, float] = {}
        failed: set[int] = set()
        overlapped: set[int] = set()  # bins where two runs of the group were going at once (seed design)
        going_until = -np.inf
        for index in mine[np.argsort(runs.start[mine], kind="stable")]:
            start, end = float(runs.start[index]), float(runs.end[index])
            if start < going_until:
                overlapped.update(range(int((start - origin) // width),
                                        int((min(end, going_until) - origin) // width) + 1))
            going_until = max(going_until, end)
            for b in range(int((start - origin) // width), int((end - origin) // width) + 1):
                low = origin + b * width
                busy[b] = busy.get(b, 0.0) + max(0.0, min(end, low + width) - max(start, low))
            if not runs.ok[index]:
                failed.add(int((start - origin) // width))
        bins = sorted(b for b, seconds in busy.items() if seconds > 0 or b in failed)
        spans = [((origin + b * width) / unit, width / unit) for b in bins]
        share = [busy.get(b, 0.0) / width for b in bins]
        ax.broken_barh(spans, (row - 0.4, 0.8), facecolors=[cmap(norm(min(x, 1.0))) for x in share],
                       edgecolors=["tab:red" if b in failed else "none" for b in bins], linewidth=1.0)
        doubled = [span for span, b in zip(spans, bins, strict=True) if b in overlapped]
        if doubled:
            ax.broken_barh(doubled, (row - 0.4, 0.8), facecolors="none", edgecolor="black", hatch="//",
                           linewidth=0.0)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(mappable, ax=ax, pad=0.01, fraction=0.03)
    bar.set_ticks([0.0, 0.5, 1.0], labels=["0 %", "50 %", "100 %"])
    bar.set_label(f"share of each {bin_label(width)} bin a run of the group was going")
    ax.legend(handles=[Patch(facecolor=cmap(0.5), edgecolor="tab:red", label="bin with a failed run"),
                       Patch(facecolor="white", edgecolor="black", hatch="//", label="bin with overlapping runs")],
              loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2, fontsize=8, frameon=False)


def _latency_cdf(plt: Any, result: SimulationResult, path: Path, title: str, targets: Sequence[Target]) -> Path:
    fig = cdf_figure(plt, result, title, targets)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def cdf_figure(plt: Any, result: SimulationResult, title: str, targets: Sequence[Target] = ()) -> Any:
    """Latency and wait CDFs; the percentile lines and the targets carry their values in the legend."""
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
    for q, style in PERCENTILES:
        value = result.metrics[f"latency_p{round(100 * q)}_s"]  # the figure the summary table prints
        ax.axhline(q, color="gray", linestyle=style, linewidth=0.8,
                   label=f"p{round(100 * q)}" + (f": latency {duration(value)}" if value is not None else ""))
        if value is not None:
            ax.plot([value / unit], [q], marker="o", color="tab:blue", markersize=4)
    for target in targets:
        if target.metric.endswith("_s") and target.metric.startswith(("latency_", "wait_")):
            ax.axvline(target.value / unit, color="tab:red", linestyle="--", linewidth=1.0,
                       label=f"target {target.metric} {target.op} {duration(target.value)}")
    ax.set_xlabel(label.replace(" since start", "") + " (landing to done, or enqueue to run start)")
    ax.set_ylabel("share of files")
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(f"{title}: latency CDF ({len(latency)} files succeeded)")
    return fig
