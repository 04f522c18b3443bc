"""Targets a shell can take: METRIC:OP:VALUE and --target-p95 DURATION, and no unquoted < or > shown to paste.

An unquoted ``--target latency_p95_s<=7200`` is a redirect to the shell (``>=`` even creates a file), so every
form the docs, help and hints show must survive being pasted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.simulator.sweep import SweepError, p95_target, parse_target, target_metrics
from tests.simulator.conftest import ROOT

BURST = ("duration_s: 600\nseed: 3\narrivals:\n  - burst: {at_s: 0, files: 20, groups: 10, spread_s: 60}\n"
         "job:\n  startup_s: 10\n  duration: {dist: fixed, seconds: 110}\n")


def unquoted_comparisons(text: str) -> list[str]:
    """``metric<=value``-shaped text not inside single or double quotes: what a paste would break on."""
    names = "|".join(sorted([*target_metrics(), "METRIC"], key=len, reverse=True))
    unquoted = re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", "", text)
    return re.findall(rf"\b(?:{names})\s*(?:<=|>=|==|<|>)", unquoted)


@pytest.mark.parametrize(("text", "expected"), [
    ("latency_p95_s<=7200", ("latency_p95_s", "<=", 7200.0)),
    ("latency_p95_s:le:7200", ("latency_p95_s", "<=", 7200.0)),
    ("latency_p95_s:le:2h", ("latency_p95_s", "<=", 7200.0)),
    ("latency_p99_s:lt:30m", ("latency_p99_s", "<", 1800.0)),
    ("wait_mean_s:le:90s", ("wait_mean_s", "<=", 90.0)),
    ("drain_s:le:1d", ("drain_s", "<=", 86400.0)),
    ("succeeded:ge:100", ("succeeded", ">=", 100.0)),
    ("dead:gt:0", ("dead", ">", 0.0)),
    ("dead:eq:0", ("dead", "==", 0.0)),
])
def test_every_form_reads_the_same_target(text: str, expected: tuple[str, str, float]) -> None:
    target = parse_target(text)
    assert (target.metric, target.op, target.value) == expected


def test_p95_shorthand_takes_durations() -> None:
    assert [p95_target(t).value for t in ("90s", "30m", "2h", "1d", "7200", "1.5h")] == [
        90.0, 1800.0, 7200.0, 86400.0, 7200.0, 5400.0]
    assert p95_target("2h").metric == "latency_p95_s" and p95_target("2h").op == "<="
    with pytest.raises(SweepError, match="'soon' is not a duration"):
        p95_target("soon")


@pytest.mark.parametrize(("text", "fragment"), [
    ("latency_p95_s", "the shell took < or > for a redirect"),  # what `--target latency_p95_s<=7200` leaves
    ("latency_p95_s:below:7200", "OP one of le, lt, ge, gt, eq"),
    ("dead:le:2h", "dead is a count, not a duration"),
    ("latency_p95_s:le:soon", "cannot read it"),
])
def test_bad_targets_list_the_accepted_forms(text: str, fragment: str) -> None:
    with pytest.raises(SweepError) as caught:
        parse_target(text)
    assert fragment in str(caught.value)
    if "not a duration" not in fragment and "count" not in fragment:
        assert "--target-p95 DURATION" in str(caught.value) and "'METRIC<=VALUE' in quotes" in str(caught.value)


@pytest.mark.parametrize("form", [["--target", "latency_p95_s<=900"], ["--target", "latency_p95_s:le:900"],
                                  ["--target", "latency_p95_s:le:15m"], ["--target-p95", "15m"]])
def test_the_sweep_command_accepts_each_form(tmp_path: Path, form: list[str]) -> None:
    (tmp_path / "burst.yaml").write_text(BURST)
    result = CliRunner().invoke(app, ["simulate", "sweep", "--stack", "dev", "--scenario", str(tmp_path / "burst.yaml"),
                                      "--vary", "max_parallel_groups=8", *form, "--json", str(tmp_path / "s.json")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "s.json").read_text())["targets"] == ["latency_p95_s<=900"]


def test_a_target_eaten_by_the_shell_is_a_usage_error_saying_why(tmp_path: Path) -> None:
    (tmp_path / "burst.yaml").write_text(BURST)
    result = CliRunner().invoke(app, ["simulate", "sweep", "--stack", "dev", "--scenario", str(tmp_path / "burst.yaml"),
                                      "--vary", "max_parallel_groups=8", "--target", "latency_p95_s"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "redirect" in output and "latency_p95_s:le:2h" in output


def test_help_hints_docs_and_examples_show_no_unquoted_comparison() -> None:
    assert unquoted_comparisons("--target latency_p95_s<=7200 --target 'dead<=0'") == ["latency_p95_s<="]
    for args in (["simulate", "--help"], ["simulate", "sweep", "--help"]):
        help_text = CliRunner().invoke(app, args).output
        assert unquoted_comparisons(help_text) == [], args
    run = CliRunner().invoke(app, ["simulate", "--stack", "dev", "--scenario", str(ROOT / "examples/seed-card.yaml")])
    assert run.exit_code == 0
    hint = " ".join(run.output.split())
    assert "--target-p95 2h" in hint and unquoted_comparisons(hint) == []
    for path in [ROOT / "docs/simulator.md", *sorted((ROOT / "examples").glob("*.yaml"))]:
        assert unquoted_comparisons(path.read_text(encoding="utf-8")) == [], path
