"""The Gantt chart shows every run of the groups it plots, on a time unit that fits what it shows."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.plots import gantt_figure
from landing_pipeline.simulator.runner import SimulationResult, simulate
from tests.simulator.conftest import trace_scenario

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def drawn_bars(figure: object) -> list[tuple[float, float]]:
    """(x start, x end) of every bar on the chart, in axis units."""
    bars = []
    for collection in figure.axes[0].collections:  # type: ignore[attr-defined]
        for path in collection.get_paths():
            xs = path.vertices[:, 0]
            bars.append((float(xs.min()), float(xs.max())))
    return bars


def run_trace(tmp_path: Path, spec: PipelineSpec, rows: list[str]) -> SimulationResult:
    return simulate(spec, trace_scenario(tmp_path, rows, overheads="none"), seed=1)


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    plt.close("all")


def test_every_run_of_a_plotted_group_is_on_the_chart(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    # two groups with one-minute runs spread over three days: far wider than a few hundred runs
    rows = [f"{day * 86400 + hour * 3600},landing/{group}_{day:02d}{hour:02d}00.csv,60,0"
            for day in range(3) for hour in (1, 9, 17) for group in ("a", "b")]
    result = run_trace(tmp_path, dev_spec.replace(max_parallel_groups=2), rows)
    figure = gantt_figure(plt, result, "test")
    axis = figure.axes[0]
    assert axis.get_xlabel().startswith("days since start")  # 2 days 16 hours of runs
    low, high = axis.get_xlim()
    bars = drawn_bars(figure)
    assert len(bars) == len(rows) == 18
    assert all(low <= start and end <= high for start, end in bars)
    runs = result.model.runs
    assert low <= runs.start.min() / 86400 and runs.end.max() / 86400 <= high
    assert high - low < 1.05 * (runs.end.max() - runs.start.min()) / 86400  # and no wider than that
    assert [label.get_text() for label in axis.get_yticklabels()] == ["a (9 runs)", "b (9 runs)"]


def test_the_unit_fits_the_span_drawn_not_when_it_ends(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    # twenty minutes of runs, three days after the start: minutes, not days
    start = 3 * 86400
    rows = [f"{start + 120 * i},landing/a_{i:06d}.csv,100,0" for i in range(10)]
    figure = gantt_figure(plt, run_trace(tmp_path, dev_spec.replace(settle_seconds=0), rows), "test")
    axis = figure.axes[0]
    assert axis.get_xlabel().startswith("minutes since start")
    low, high = axis.get_xlim()
    assert low < start / 60 < (start + 1180) / 60 < high
    assert np.isclose(sorted(drawn_bars(figure))[0][0], start / 60)


@pytest.fixture(scope="module")
def seed_card(dev_spec: PipelineSpec) -> SimulationResult:
    from landing_pipeline.simulator.scenario import load_scenario
    from tests.simulator.conftest import ROOT

    # one file a run, the card's own: its 40 hours of runs are what the multi-hour binning is drawn for
    return simulate(dev_spec.replace(batch_max_files=1), load_scenario(ROOT / "examples/seed-card.yaml"), seed=7)


def test_a_multi_hour_gantt_is_binned_in_hours_with_labelled_axes_and_a_colour_bar(
        seed_card: SimulationResult) -> None:
    from landing_pipeline.simulator.plots import bin_width

    figure = gantt_figure(plt, seed_card, "seed-card")
    axis, colour_bar = figure.axes  # the chart and its colour bar
    assert axis.get_xlabel() == "hours since start"  # about 40 hours of runs
    assert axis.get_ylabel() == "group (the 12 busiest)"
    assert "30 min bins" in axis.get_title() and bin_width(40 * 3600) == 1800
    assert "share of each 30 min bin" in colour_bar.get_ylabel()
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["bin with a failed run",
                                                                     "bin with overlapping runs"]
    bars = drawn_bars(figure)
    assert len(bars) < len(seed_card.model.runs) / 4  # bins, not one sliver per run
    assert all(np.isclose(end - start, 0.5) for start, end in bars)  # half an hour each, in hours


def test_the_cdf_labels_its_percentile_and_target_lines_with_values(seed_card: SimulationResult) -> None:
    from landing_pipeline.simulator.plots import cdf_figure
    from landing_pipeline.simulator.report import duration
    from landing_pipeline.simulator.sweep import p95_target

    figure = cdf_figure(plt, seed_card, "seed-card", [p95_target("2h")])
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    metrics = seed_card.metrics
    assert labels == ["landing to done", "enqueue to run start",
                      f"p50: latency {duration(metrics['latency_p50_s'])}",
                      f"p95: latency {duration(metrics['latency_p95_s'])}",
                      f"p99: latency {duration(metrics['latency_p99_s'])}",
                      "target latency_p95_s <= 2.0 h"]
    assert labels[3].endswith(" h")  # about 36 hours, in the unit the axis uses
    assert figure.axes[0].get_xlabel().startswith("hours")


def test_binned_rows_hatch_the_bins_where_runs_of_a_group_overlapped(dev_spec: PipelineSpec) -> None:
    from landing_pipeline.simulator.scenario import load_scenario
    from tests.simulator.conftest import ROOT

    result = simulate(dev_spec, load_scenario(ROOT / "examples/seed-card.yaml"), design="seed", seed=7)
    assert result.metrics["overlapping_runs"] > 0
    figure = gantt_figure(plt, result, "seed-card (seed)")
    hatched = [c for c in figure.axes[0].collections if c.get_hatch() == "//"]
    assert "bins" in figure.axes[0].get_title() and hatched
