"""The demo's picture: a Gantt chart of Glue runs, one row per group.

A group's runs share one row while they follow each other; a run that starts
while another run of its group is still going gets a row of its own beneath
(marked "overlap") and the overlapping stretch is hatched red, so the seed
design's collisions are impossible to miss and the held design's absence of
them is visible too. Triangles mark when each file landed.
"""

from __future__ import annotations

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


def render(report: dict[str, Any], path: Path, *, title: str) -> Path:
    """Write the chart of ``report`` (the demo's report) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    files = report["files"]
    now = max([r["end"] or r["start"] for f in files for r in f["runs"]] + [f.get("_landed_at") or 0 for f in files]
              + [1.0])
    groups: dict[str, list[dict[str, Any]]] = {}
    landed: dict[str, list[float]] = {}
    for file in files:
        runs = [{**run, "label": _short(file["key"]), "attempt": i + 1} for i, run in enumerate(file["runs"])]
        groups.setdefault(file["group"], []).extend(runs)
        if file.get("_landed_at") is not None:
            landed.setdefault(file["group"], []).append(file["_landed_at"])
    order = sorted(groups, key=lambda g: min([r["start"] for r in groups[g]] or [float("inf")]))
    rows: list[tuple[str, list[dict[str, Any]], str]] = []
    for group in order:
        lanes = _lanes(groups[group], now) or [[]]
        for index, lane in enumerate(lanes):
            rows.append((group if index == 0 else f"{group} (overlap {index})", lane, group))
    height = 1.6 + 0.5 * max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(12, height))
    row_of_group: dict[str, list[int]] = {}
    for y, (_, lane, group) in enumerate(rows):
        row_of_group.setdefault(group, []).append(y)
        for run in lane:
            end = run["end"] if run["end"] is not None else now
            ax.barh(y, end - run["start"], left=run["start"], height=0.6,
                    color=STATE_COLOURS.get(run["state"], "#8d99ae"), edgecolor="black", linewidth=0.5)
            text = run["label"] + (f" #{run['attempt']}" if run["attempt"] > 1 else "")
            ax.text(run["start"] + (end - run["start"]) / 2, y, text, ha="center", va="center", fontsize=7,
                    color="white", clip_on=True)
    for group, ys in row_of_group.items():
        for start, end in _overlaps(groups[group], now):
            ax.axvspan(start, end, ymin=_frac(min(ys) - 0.45, len(rows)), ymax=_frac(max(ys) + 0.45, len(rows)),
                       facecolor="none", edgecolor="#d1495b", hatch="///", linewidth=0)
        for at in landed.get(group, []):
            ax.plot(at, min(ys) - 0.42, marker="v", color="#355070", markersize=6, clip_on=False)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.7)
    ax.set_xlim(0, now * 1.02)
    ax.set_xlabel("pipeline time (s)")
    ax.grid(axis="x", linestyle=":", alpha=0.6)
    ax.set_title(title, fontsize=10)
    legend: list[Any] = [Patch(color=colour, label=state.lower()) for state, colour in STATE_COLOURS.items()
              if state in {r["state"] for runs in groups.values() for r in runs}]
    legend.append(Patch(facecolor="none", edgecolor="#d1495b", hatch="///", label="same-group overlap"))
    legend.append(Line2D([], [], marker="v", color="#355070", linestyle="none", label="file landed"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _frac(y: float, rows: int) -> float:
    """A data row position as a fraction of the (inverted) y axis, for axvspan's ymin/ymax."""
    bottom, top = rows - 0.5, -0.7
    return max(0.0, min(1.0, (bottom - y) / (bottom - top)))


def _short(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    tail = stem.rsplit("_", 1)[-1]
    return tail if tail.isdigit() else stem[-14:]
