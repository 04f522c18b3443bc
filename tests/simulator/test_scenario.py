"""Scenario files and traces: every example loads; bad input names the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from landing_pipeline.simulator.arrival_specs import Burst, Diurnal, FileList, Poisson
from landing_pipeline.simulator.errors import ScenarioError
from landing_pipeline.simulator.overheads import NONE, REALISTIC
from landing_pipeline.simulator.scenario import load_scenario, parse_scenario, scenario_from_trace
from landing_pipeline.simulator.trace import read_trace
from tests.simulator.conftest import ROOT


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.arrivals and scenario.duration_s > 0


def test_seed_card_scenario_holds_the_cards_example_and_the_burst() -> None:
    scenario = load_scenario(ROOT / "examples/seed-card.yaml")
    files, burst = scenario.arrivals
    assert isinstance(files, FileList) and isinstance(burst, Burst)
    assert [row.key for row in files.rows] == ["landing/orders_20250915_101500.csv",
                                               "landing/customers_20250915_102000.csv",
                                               "landing/orders_20250915_103000.csv"]
    assert (burst.files, burst.groups.count, burst.spread_s) == (2000, 300, 600)
    assert scenario.start_clock_s == 10 * 3600
    assert scenario.overheads == REALISTIC


def test_all_process_kinds_and_overrides_are_read() -> None:
    scenario = parse_scenario({
        "duration_s": 100,
        "arrivals": [{"poisson": {"rate_per_s": 2, "groups": 10, "skew": "zipf 1.2", "prefix": "p_"}},
                     {"type": "diurnal", "peak_rate_per_s": 3, "peak_hour": 14.5, "groups": "unique"},
                     {"burst": {"at_s": 5, "files": 7, "group": "orders"}}],
        "job": {"duration": {"dist": "exponential", "mean_s": 30, "per_mb_s": 2}, "failure_rate": 0.1},
        "overheads": {"preset": "none", "glue_start_s": {"dist": "fixed", "seconds": 9}, "ledger_s": 0.05},
        "limits": {"account_concurrent_runs": 200}, "prices": {"glue_dpu_hour": 0.29},
    }, "<inline>", ROOT)
    poisson, diurnal, burst = scenario.arrivals
    assert isinstance(poisson, Poisson) and poisson.groups.zipf_s == 1.2 and poisson.groups.name(3) == "p_003"
    assert isinstance(diurnal, Diurnal) and diurnal.groups.count is None
    assert isinstance(burst, Burst) and burst.group == "orders"
    assert scenario.job.per_mb_s == 2 and scenario.job.duration.mean == 30
    assert scenario.overheads.glue_start_s.mean == 9 and scenario.overheads.dispatcher_s == NONE.dispatcher_s
    assert scenario.overheads.ledger_s.mean == 0.05 and scenario.overheads.preset == "none+overrides"
    assert scenario.limits.account_concurrent_runs == 200 and scenario.prices.glue_dpu_hour == 0.29


def problems_of(document: object) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, "<inline>", ROOT)
    return [str(problem) for problem in caught.value.problems]


def test_every_problem_is_reported_at_once_with_its_fix() -> None:
    problems = problems_of({
        "duration_s": 0, "arival": 1,
        "arrivals": [{"poisson": {"rate_per_s": -1, "groups": 0, "skew": "pareto"}},
                     {"burst": {"at_s": 0, "files": 3, "group": "a", "groups": 4, "spred_s": 3}}],
        "job": {"duration": {"dist": "lognormal", "mean_s": 60}, "failure_rate": 1.5},
        "overheads": "fast",
    })
    text = "\n".join(problems)
    for fragment in ("duration_s = 0: must be greater than 0",
                     "arival = 1: not a scenario field. Fix: use only:", "(did you mean 'arrivals'?)",
                     "arrivals[0].poisson.rate_per_s = -1", "arrivals[0].poisson.groups = 0",
                     "arrivals[0].poisson.skew = 'pareto'", "zipf S",
                     "arrivals[1].burst.group = 'a': both group and groups are given",
                     "arrivals[1].burst.spred_s", "(did you mean 'spread_s'?)",
                     "job.duration.sigma", "job.failure_rate = 1.5: every run would fail",
                     "overheads = 'fast': not a known overheads preset. Fix: use one of: realistic, none"):
        assert fragment in text, fragment
    assert all(". Fix: " in problem for problem in problems)


def test_missing_arrivals_and_both_arrivals_and_trace_are_errors() -> None:
    assert any("no arrivals" in p for p in problems_of({"duration_s": 10}))
    assert any("both arrivals and trace" in p for p in problems_of(
        {"duration_s": 10, "trace": "x.csv", "arrivals": [{"burst": {"at_s": 0, "files": 1}}]}))


def test_trace_errors_name_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,key,duration_s,fail_attempts\n0,a_1.csv,10,0\nsoon,b.csv,-3,1.5\n5,,2,\n")
    with pytest.raises(ScenarioError) as caught:
        read_trace(path)
    text = str(caught.value)
    assert "t.csv:3 time_s = 'soon': not a number" in text
    assert "t.csv:3 duration_s = '-3': must be a number >= 0" in text
    assert "t.csv:3 fail_attempts = '1.5': must be a whole number >= 0" in text
    assert "t.csv:4 key = '': empty key" in text
    path.write_text("when,key\n1,a.csv\n")
    with pytest.raises(ScenarioError, match=r"missing column\(s\) time_s.*time_s,key,size_bytes"):
        read_trace(path)


def test_a_trace_is_sorted_by_time_and_becomes_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,key,size_bytes\n9,b_1.csv,2000000\n1,a_1.csv,\n1,a_2.csv,5\n")
    scenario = scenario_from_trace(path)
    (rows,) = scenario.arrivals
    assert isinstance(rows, FileList)
    assert [r.key for r in rows.rows] == ["a_1.csv", "a_2.csv", "b_1.csv"]
    assert rows.rows[2].size_mb == 2.0 and rows.rows[0].size_mb is None
    assert scenario.duration_s == 9.0


def test_faults_are_rates_below_one_and_a_removed_setting_says_what_replaced_it() -> None:
    scenario = parse_scenario({"duration_s": 10, "arrivals": [{"burst": {"at_s": 0, "files": 1}}],
                               "faults": {"crash": 0.01, "lost_glue_event": 0.2}}, "<inline>", ROOT)
    assert (scenario.faults.crash, scenario.faults.lost_glue_event, scenario.faults.duplicate_delivery) == (
        0.01, 0.2, 0.0)
    text = "\n".join(problems_of({"duration_s": 10, "arrivals": [{"burst": {"at_s": 0, "files": 1}}],
                                  "faults": {"crash": 1.0, "crashes": 0.1},
                                  "overheads": {"throttle": "retry"}}))
    assert "faults.crash = 1.0: not a probability below 1" in text
    assert "faults.crashes = 0.1: not a fault the model injects" in text and "did you mean 'crash'?" in text
    assert "overheads.throttle = 'retry': no longer a setting of the model" in text and "longest" in text


def test_a_trace_can_delay_a_files_event(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,key,event_delay_s\n0,a_1.csv,45\n1,a_2.csv,\n")
    rows = read_trace(path)
    assert [(r.key, r.event_delay_s) for r in rows] == [("a_1.csv", 45.0), ("a_2.csv", 0.0)]


def test_a_trace_keeps_feed_and_group_ignores_other_columns_and_refuses_a_typo(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,key,feed,group,state,run_id,dpu_seconds,attempts\n"
                    "0,a_1.csv,orders,a,SUCCEEDED,jr_1,120,1\n1,b_1.csv,,,FAILED,jr_2,60,2\n")
    rows = read_trace(path)
    assert [(r.key, r.feed, r.group) for r in rows] == [("a_1.csv", "orders", "a"), ("b_1.csv", None, None)]
    path.write_text("time_s,key,duraton_s\n0,a_1.csv,5\n")
    with pytest.raises(ScenarioError, match=r"duraton_s.*did you mean 'duration_s'"):
        read_trace(path)
