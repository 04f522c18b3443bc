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
    figure = gantt_figure(plt, run_trace(tmp_path, dev_spec, rows), "test")
    axis = figure.axes[0]
    assert axis.get_xlabel().startswith("minutes since start")
    low, high = axis.get_xlim()
    assert low < start / 60 < (start + 1180) / 60 < high
    assert np.isclose(sorted(drawn_bars(figure))[0][0], start / 60)
