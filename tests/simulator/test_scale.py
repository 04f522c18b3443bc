"""``--scale F``: a trace replayed at F times its volume, copies in new groups of the same family and feed."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.feeds import feed_of_key
from landing_pipeline.runtime.grouping import group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.trace import TraceRow
from landing_pipeline.simulator.trace_scale import JITTER_S, ScaleError, scale_rows

FAMILIES = ("orders", "customers", "other")


def _rows(groups: int = 40) -> tuple[TraceRow, ...]:
    """``groups`` groups of three files each, a day apart in name, sizes and durations set per file."""
    rows = []
    for g in range(groups):
        family = FAMILIES[g % 3]
        for f in range(3):
            at = 600.0 * g + 60.0 * f
            rows.append(TraceRow(at, f"landing/{family}_2025{g:04d}_10{f:02d}00.csv", 1e6 * (g + f + 1),
                                 30.0 + g, f % 2))
    return tuple(sorted(rows, key=lambda r: r.time_s))


def test_an_integer_factor_copies_every_group_into_a_new_group_of_the_same_feed(dev_spec: PipelineSpec) -> None:
    rows = _rows()
    scaled = scale_rows(rows, dev_spec, 2.0, seed=1)
    assert len(scaled.rows) == 2 * len(rows) and scaled.same_group_copies == 0
    groups = Counter(group_for_key(r.key, dev_spec) for r in scaled.rows)   # the stack's own rule, as routed
    assert len(groups) == 80 and set(groups.values()) == {3}
    originals = {r.key: r for r in rows}
    for row in scaled.rows:
        if row.key in originals:
            continue
        source = originals[row.key.replace("-c1", "")]
        group, was = group_for_key(row.key, dev_spec), group_for_key(source.key, dev_spec)
        assert group == was + "-c1"
        mine, theirs = feed_of_key(dev_spec.feeds, group, row.key), feed_of_key(dev_spec.feeds, was, source.key)
        assert (mine and mine.name) == (theirs and theirs.name)
        assert (row.size_bytes, row.duration_s, row.fail_attempts) == (
            source.size_bytes, source.duration_s, source.fail_attempts)
        assert abs(row.time_s - source.time_s) <= JITTER_S


def test_a_copied_group_keeps_its_order_and_spacing(dev_spec: PipelineSpec) -> None:
    scaled = scale_rows(_rows(), dev_spec, 2.0, seed=1)
    copy = sorted((r for r in scaled.rows if group_for_key(r.key, dev_spec) == "orders_20250003-c1"),
                  key=lambda r: r.time_s)
    assert [r.key.split("_")[-1] for r in copy] == ["100000.csv", "100100.csv", "100200.csv"]
    assert [b.time_s - a.time_s for a, b in itertools.pairwise(copy)] == pytest.approx([60.0, 60.0])


def test_a_fractional_factor_keeps_a_share_of_groups_and_is_deterministic_per_seed(dev_spec: PipelineSpec) -> None:
    rows = _rows(300)
    up, down = scale_rows(rows, dev_spec, 2.5, seed=4), scale_rows(rows, dev_spec, 0.5, seed=4)
    assert 2.3 * len(rows) < len(up.rows) < 2.7 * len(rows)
    assert 0.4 * len(rows) < len(down.rows) < 0.6 * len(rows)
    assert set(r.key for r in down.rows) <= {r.key for r in rows}   # thinning drops, never invents
    assert scale_rows(rows, dev_spec, 2.5, seed=4) == up
    assert scale_rows(rows, dev_spec, 2.5, seed=5) != up


def test_a_rule_that_names_no_new_group_puts_copies_beside_their_originals(dev_spec: PipelineSpec) -> None:
    spec = dev_spec.replace(ordering_scope="global")
    rows = _rows(4)
    scaled = scale_rows(rows, spec, 2.0, seed=1)
    assert scaled.same_group_copies == len(rows)
    assert len({r.key for r in scaled.rows}) == 2 * len(rows)   # every copy has a key of its own


def test_a_factor_of_zero_or_less_is_refused_naming_the_option(dev_spec: PipelineSpec) -> None:
    for factor in (0.0, -1.0, float("nan")):
        with pytest.raises(ScaleError, match="--scale"):
            scale_rows(_rows(), dev_spec, factor, seed=0)


def test_the_cli_replays_twice_the_files_and_refuses_bad_factors(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time_s,key,size_bytes,duration_s,fail_attempts\n" + "\n".join(
        f"{r.time_s},{r.key},{r.size_bytes:.0f},{r.duration_s},{r.fail_attempts}" for r in _rows(6)) + "\n")
    runner = CliRunner()
    base = ["simulate", "--stack", "dev", "--trace", str(trace), "--overheads", "none"]
    one = runner.invoke(app, [*base, "--json", str(tmp_path / "a.json")], catch_exceptions=False)
    two = runner.invoke(app, [*base, "--scale", "2", "--json", str(tmp_path / "b.json")], catch_exceptions=False)
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    files = [json.loads((tmp_path / name).read_text())["files"] for name in ("a.json", "b.json")]
    assert files == [18, 36]
    bad = runner.invoke(app, [*base, "--scale", "0"])
    assert bad.exit_code == 2 and "--scale 0: must be a number greater than 0" in bad.output
    generated = runner.invoke(app, ["simulate", "--stack", "dev", "--scenario", "examples/seed-card.yaml",
                                    "--scale", "2"])
    assert generated.exit_code == 2 and "--scale replays a trace" in generated.output
