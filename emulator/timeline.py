"""The demo's picture: a Gantt chart of Glue runs, one row per group.

A group's runs share one row while they follow each other; a run that starts
while another run of its group is still going gets a row of its own beneath
(marked "overlap") and the overlapping stretch is hatched red, so the seed
design's collisions are impossible to miss and the held design's absence of
them is visible too. Triangles mark when each file landed.

No stretch of a row is left unexplained: a thin line runs from each file's
landing to its first run (the file waiting), and a gap in a group's row while
one of its files waits is coloured by its cause: every group slot taken
(``maxParallelGroups``), a retry's backoff, or dispatching: from a landing or a
run's end to the next start (events, router, completion, hold released, the
dispatcher's StartJobRun).
A batch run (``batchMaxFiles`` above 1) is one bar, as it is one Glue run: a tick where the job began each of
its files and a strip along the bar's foot, one segment a file coloured by how that file ended, numbered by
its place in the batch.
A label is drawn only where it fits inside its bar; files the pipeline never
took in (IGNORED) have no bar and are counted under the chart, never as
"succeeded".
"""

from __future__ import annotations

import itertools
from itertools import pairwise
from pathlib import Path
from typing import Any

STATE_COLOURS = {"SUCCEEDED": "#2e8b57", "FAILED": "#d1495b", "TIMEOUT": "#edae49", "STOPPED": "#8d99ae",
                 "RUNNING": "#8d99ae", "ERROR": "#d1495b"}


def _lanes(runs: list[dict[str, Any]], now: float) -> list[list[dict[str, Any]]]:
    """Greedy interval partitioning: a run goes to the first lane whose last run has ended."""
    lanes: list[list[dict[str, Any]]] = []
    for run in sorted(runs, key=lambda r: r["start"]):
        for lane in lanes:
            if (lane[-1]["end"] if lane[-1]["end"] is not None else now) <= run["start"]:
                lane.append(run)
                break
        else:
            lanes.append([run])
    return lanes


def _overlaps(runs: list[dict[str, Any]], now: float) -> list[tuple[float, float]]:
    spans = sorted((r["start"], r["end"] if r["end"] is not None else now) for r in runs)
    found = []
    for i, (_, end_i) in enumerate(spans):
        for start_j, end_j in spans[i + 1:]:
            if start_j >= end_i:
                break
            found.append((start_j, min(end_i, end_j)))
    return found


GAP_COLOURS = {"slot": "#f4a259", "backoff": "#9d4edd", "dispatch": "#adb5bd"}
GAP_LABELS = {"slot": "waiting for a group slot (maxParallelGroups)", "backoff": "retry backoff",
              "dispatch": "queued / dispatching: landing or run end -> next start"}


def title_for(report: dict[str, Any], *, design: str, stack: str, engine: str) -> str:
    """The chart's title: the summary, counting succeeded files against the files the pipeline took in."""
    s = report["summary"]
    taken_in = s["files"] - s["ignored"]
    ignored = f", {s['ignored']} ignored" if s["ignored"] else ""
    return (f"{design} design, stack {stack}, {engine} engine: {s['succeeded']}/{taken_in} succeeded{ignored}, "
            f"{s['overlapping_runs']} same-group overlaps, peak {s['max_parallel_groups']} groups in parallel")


def gaps(report: dict[str, Any], group_limit: int | None) -> list[tuple[str, float, float, str]]:
    """(group, start, end, cause) for each stretch where a group has a file waiting and no run going."""
    files = report["files"]
    runs_all = [(*_glue_span(r, r["start"]), f["group"]) for f in files for r in f["runs"]]
    edges = sorted({t for start, end, _ in runs_all for t in (start, end)}
                   | {f["_landed_at"] for f in files if f.get("_landed_at") is not None})
    found: list[tuple[str, float, float, str]] = []
    for group in sorted({f["group"] for f in files if f["runs"]}):
        mine = [f for f in files if f["group"] == group and f["runs"]]
        spans = [_glue_span(r, r["start"]) for f in mine for r in f["runs"]]
        for a, b in itertools.pairwise(edges):
            mid = (a + b) / 2
            if any(start <= mid < end for start, end in spans):
                continue  # a run of the group is going
            waiting = [f for f in mine if f["_landed_at"] <= mid < _glue_span(f["runs"][-1], 0)[0]]
            if not waiting:
                continue
            busy = {g for start, end, g in runs_all if start <= mid < end}
            retrying = any(r["end"] is not None and _glue_span(r, 0)[1] <= mid < _glue_span(nxt, 0)[0]
                           and r["state"] != "SUCCEEDED" for f in waiting for r, nxt in pairwise(f["runs"]))
            cause = ("backoff" if retrying else
                     "slot" if group_limit is not None and len(busy) >= group_limit else "dispatch")
            if found and found[-1][0] == group and found[-1][3] == cause and found[-1][2] == a:
                found[-1] = (group, found[-1][1], b, cause)
            else:
                found.append((group, a, b, cause))
    return found


def _glue_span(run: dict[str, Any], now: float) -> tuple[float, float]:
    """When the Glue run a file's run belongs to ran: its batch run's, for a file of a batch (the job's start-up
    and the files before it are that run too, not the group waiting); ``now`` for a run still going."""
    glue = run.get("batch") or run
    return glue["start"], glue["end"] if glue["end"] is not None else now


def bars(files: list[dict[str, Any]], now: float) -> dict[str, list[dict[str, Any]]]:
    """Group -> its run bars: one bar a Glue run, so a batch run is one bar whose ``marks`` are its files (place,
    start, end, state, label) in the order the job went through them; a run of one file has no marks."""
    groups: dict[str, list[dict[str, Any]]] = {}
    batches: dict[str, dict[str, Any]] = {}
    for file in files:
        for attempt, run in enumerate(file["runs"], 1):
            batch = run.get("batch")
            if batch is None:
                groups.setdefault(file["group"], []).append(
                    {**run, "label": _short(file["key"]), "short": f"#{attempt}" if attempt > 1 else "",
                     "marks": []})
                continue
            bar = batches.get(batch["run_id"])
            if bar is None:
                bar = batches[batch["run_id"]] = {"run_id": batch["run_id"], "start": batch["start"],
                                                  "end": batch["end"], "state": batch["state"], "marks": []}
                groups.setdefault(file["group"], []).append(bar)
            bar["marks"].append({"place": batch["place"], "start": run["start"],
                                 "end": run["end"] if run["end"] is not None else _glue_span(run, now)[1],
                                 "state": run["state"], "label": _short(file["key"])})
    for bar in batches.values():
        bar["marks"].sort(key=lambda mark: mark["place"])
        first, last = bar["marks"][0]["label"], bar["marks"][-1]["label"]
        names = first if len(bar["marks"]) == 1 else f"{first}..{last}"
        bar["label"], bar["short"] = f"{names} ({len(bar['marks'])} files)", f"x{len(bar['marks'])}"
    return groups


def render(report: dict[str, Any], path: Path, *, title: str, group_limit: int | None = None) -> Path:
    """Write the chart of ``report`` (the demo's report) as a PNG; ``group_limit``: the stack's
    ``maxParallelGroups``, to say when a file waited for a slot."""
    import matplotlib.pyplot as plt

    fig = draw(report, title=title, group_limit=group_limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def draw(report: dict[str, Any], *, title: str, group_limit: int | None = None) -> Any:
    """The chart as a matplotlib figure (the run bars carry gid ``run``, a batch's file strips gid ``file``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ignored = [f for f in report["files"] if f["status"] == "IGNORED" and not f["runs"]]
    files = [f for f in report["files"] if f not in ignored]  # never taken in: no row, counted below the chart
    now = max([r["end"] or r["start"] for f in files for r in f["runs"]]
              + [(r.get("batch") or {}).get("end") or 0 for f in files for r in f["runs"]]
              + [f.get("_landed_at") or 0 for f in files] + [1.0])
    groups = bars(files, now)
    order = sorted(groups, key=lambda g: min([r["start"] for r in groups[g]] or [float("inf")]))
    rows: list[tuple[str, list[dict[str, Any]], str]] = []
    for group in order:
        lanes = _lanes(groups[group], now) or [[]]
        for index, lane in enumerate(lanes):
            rows.append((group if index == 0 else f"{group} (overlap {index})", lane, group))
    height = 1.9 + 0.5 * max(len(rows), 1) + (0.25 if ignored else 0)
    fig, ax = plt.subplots(figsize=(12, height))
    row_of_group: dict[str, list[int]] = {}
    labels: list[tuple[Any, float, float, str]] = []
    for y, (_, lane, group) in enumerate(rows):
        row_of_group.setdefault(group, []).append(y)
        for run in lane:
            end = run["end"] if run["end"] is not None else now
            ax.barh(y, end - run["start"], left=run["start"], height=0.6, gid="run",
                    color=STATE_COLOURS.get(run["state"], "#8d99ae"), edgecolor="black", linewidth=0.5)
            short = run["short"]
            text = ax.text(run["start"] + (end - run["start"]) / 2, y - (0.08 if run["marks"] else 0),
                           f"{run['label']} {'' if run['marks'] else short}".strip(),
                           ha="center", va="center", fontsize=7, color="white", clip_on=True)
            labels.append((text, run["start"], end, short))
            for mark in run["marks"]:   # a batch's file: a tick where the job began it, a strip for how it ended
                ax.vlines(mark["start"], y - 0.3, y + 0.3, colors="white", linewidth=1.0, gid="tick")
                ax.barh(y + 0.21, mark["end"] - mark["start"], left=mark["start"], height=0.16, gid="file",
                        color=STATE_COLOURS.get(mark["state"], "#8d99ae"), edgecolor="white", linewidth=0.4)
                place = ax.text(mark["start"] + (mark["end"] - mark["start"]) / 2, y + 0.21, str(mark["place"]),
                                ha="center", va="center", fontsize=5, color="white", clip_on=True)
                labels.append((place, mark["start"], mark["end"], ""))
    found = gaps({"files": files}, group_limit)
    for group, start, end, cause in found:
        y = row_of_group[group][0]
        ax.barh(y, end - start, left=start, height=0.22, color=GAP_COLOURS[cause], linewidth=0)
    for file in files:
        if file.get("_landed_at") is None:
            continue
        y = row_of_group[file["group"]][0]
        first = _glue_span(file["runs"][0], now)[0] if file["runs"] else now
        ax.plot([file["_landed_at"], first], [y - 0.38, y - 0.38], color="#355070", linewidth=0.8, alpha=0.6)
        ax.plot(file["_landed_at"], y - 0.42, marker="v", color="#355070", markersize=6, clip_on=False)
    for group, ys in row_of_group.items():
        for start, end in _overlaps(groups[group], now):
            ax.axvspan(start, end, ymin=_frac(min(ys) - 0.45, len(rows)), ymax=_frac(max(ys) + 0.45, len(rows)),
                       facecolor="none", edgecolor="#d1495b", hatch="///", linewidth=0)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.7)
    ax.set_xlim(0, now * 1.02)
    ax.set_xlabel("pipeline time (s)")
    ax.grid(axis="x", linestyle=":", alpha=0.6)
    ax.set_title(title, fontsize=10)
    legend: list[Any] = [Patch(color=colour, label=state.lower()) for state, colour in STATE_COLOURS.items()
                         if state in {r["state"] for runs in groups.values() for r in runs}]
    legend.append(Patch(facecolor="none", edgecolor="#d1495b", hatch="///", label="same-group overlap"))
    legend.append(Line2D([], [], marker="v", color="#355070", linestyle="-", linewidth=0.8,
                         label="file landed, waiting to start"))
    legend += [Patch(color=GAP_COLOURS[cause], label=GAP_LABELS[cause]) for cause in GAP_COLOURS
               if cause in {gap[3] for gap in found}]
    if any(run["marks"] for runs in groups.values() for run in runs):
        legend.append(Line2D([], [], marker="|", color="#495057", linestyle="-", linewidth=3, markersize=8,
                             label="a batch run: a tick and a numbered strip a file"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
    if ignored:
        reasons = sorted({str(f.get("reason") or "no reason recorded") for f in ignored})
        ax.annotate(f"{len(ignored)} file(s) ignored (never taken in, not drawn): " + "; ".join(reasons)[:160],
                    xy=(0, 0), xycoords="axes fraction", xytext=(0, -32), textcoords="offset points",
                    fontsize=7, color="#6c757d", va="top")
    fig.tight_layout()
    _fit_labels(fig, ax, labels)
    return fig


def _fit_labels(fig: Any, ax: Any, labels: list[tuple[Any, float, float, str]]) -> None:
    """Keep a bar's label only where it fits inside the bar: else its short form (``#2``), else none."""
    renderer = fig.canvas.get_renderer()
    for text, start, end, short in labels:
        left, right = ax.transData.transform([(start, 0), (end, 0)])[:, 0]
        room = abs(right - left) - 4
        if text.get_window_extent(renderer).width <= room:
            continue
        text.set_text(short)
        if not short or text.get_window_extent(renderer).width > room:
            text.set_visible(False)


def _frac(y: float, rows: int) -> float:
    """A data row position as a fraction of the (inverted) y axis, for axvspan's ymin/ymax."""
    bottom, top = rows - 0.5, -0.7
    return max(0.0, min(1.0, (bottom - y) / (bottom - top)))


def _short(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    tail = stem.rsplit("_", 1)[-1]
    return tail if tail.isdigit() else stem[-14:]
