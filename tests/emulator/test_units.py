"""The emulator's pure parts: fault parsing, the report's counters, workload sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from landing_pipeline.emulator.faults import FaultPlan, FaultSpecError, parse_fault
from landing_pipeline.emulator.observe import RunObservation
from landing_pipeline.emulator.report import max_parallel_groups, ordering_violations, overlapping_runs
from landing_pipeline.emulator.workload import WorkloadError, from_folder, from_trace, generated_rows
from landing_pipeline.runtime.spec import PipelineSpec


def test_fault_forms_and_defaults() -> None:
    assert parse_fault("fail-run:orders_*:2").times == 2
    assert parse_fault("duplicate-event:*").times == 1
    assert parse_fault("throttle:a:b:3").glob == "a:b"  # only a trailing number is N


@pytest.mark.parametrize("text, needle", [
    ("explode:*", "KIND one of"), ("fail-run", "KIND:GLOB"), ("fail-run:*:0", "at least 1"),
    ("fail-run::2", "GLOB is empty"), ("fail-run:x:two", "whole number")])
def test_bad_faults_say_what_is_accepted(text: str, needle: str) -> None:
    with pytest.raises(FaultSpecError, match=needle):
        parse_fault(text)


def test_a_fault_fires_n_times_per_matching_file() -> None:
    plan = FaultPlan.parse(["fail-run:orders_*:2"])
    key = "landing/orders_1.csv"
    assert [plan.fire("fail-run", key) for _ in range(3)] == [True, True, False]
    assert plan.fire("fail-run", "landing/orders_2.csv")  # its own two shots
    assert not plan.fire("fail-run", "landing/customers_1.csv")
    assert not plan.fire("throttle", key)


def _run(group: str, start: float, end: float | None, file_id: str = "f", state: str = "SUCCEEDED") -> RunObservation:
    return RunObservation(run_id=f"{group}-{start}", key="k", file_id=file_id, group=group, attempt=1, start=start,
                          end=end, state=state)


def test_overlaps_count_pairs_within_a_group_only() -> None:
    runs = [_run("a", 0, 10), _run("a", 5, 15), _run("a", 12, 20), _run("b", 0, 30)]
    assert overlapping_runs(runs, now=100) == 2  # (0-10, 5-15) and (5-15, 12-20); b overlaps a but is another group
    assert overlapping_runs([_run("a", 0, 10), _run("a", 10, 20)], now=100) == 0  # back to back is not an overlap
    assert overlapping_runs([_run("a", 0, None), _run("a", 50, 60)], now=100) == 1  # a run still going


def test_peak_parallel_groups_counts_groups_not_runs() -> None:
    runs = [_run("a", 0, 10), _run("a", 2, 8), _run("b", 5, 20), _run("c", 10, 12)]
    assert max_parallel_groups(runs, now=100) == 2  # c starts as a ends: a's end frees first


def test_ordering_violations_compare_successful_starts_with_enqueue_order() -> None:
    def file(seq: str, start: float, group: str = "g", state: str = "SUCCEEDED") -> dict[str, object]:
        return {"group": group, "enqueue_seq": seq, "runs": [{"start": start, "state": state}]}

    assert ordering_violations([file("1", 0), file("2", 10), file("3", 20)]) == 0
    assert ordering_violations([file("1", 20), file("2", 10), file("3", 0)]) == 3
    assert ordering_violations([file("1", 20), file("2", 10, group="h")]) == 0
    assert ordering_violations([file("1", 20, state="FAILED"), file("2", 10)]) == 0


def test_files_folder_uses_arrivals_csv_order_and_times(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x\n1\n")
    (tmp_path / "arrivals.csv").write_text("time_s,file\n30,a.csv\n5,b.csv\n")
    arrivals = from_folder(tmp_path)
    assert [(a.at, a.name) for a in arrivals] == [(5.0, "b.csv"), (30.0, "a.csv")]
    (tmp_path / "arrivals.csv").write_text("time_s,file\n1,missing.csv\n")
    with pytest.raises(WorkloadError, match=r"arrivals.csv:2: file 'missing.csv' is not in"):
        from_folder(tmp_path)


def test_files_folder_without_schedule_lands_everything_in_name_order(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv"):
        (tmp_path / name).write_text("x\n1\n")
    assert [a.name for a in from_folder(tmp_path)] == ["a.csv", "b.csv"]
    with pytest.raises(WorkloadError, match="not a folder"):
        from_folder(tmp_path / "a.csv")


def test_trace_rows_become_files_under_the_prefix_with_their_durations(tmp_path: Path) -> None:
    spec = PipelineSpec(key_prefix="landing/", schema=("order_id:string", "amount:double", "ts:timestamp"))
    trace = tmp_path / "trace.csv"
    trace.write_text("time_s,key,size_bytes,duration_s,fail_attempts\n2,landing/a_1.csv,500,30,1\n0,b_1.csv,,,\n")
    arrivals = from_trace(trace, spec)
    assert [(a.at, a.name, a.duration_s, a.fail_attempts) for a in arrivals] == [
        (0.0, "b_1.csv", None, 0), (2.0, "a_1.csv", 30.0, 1)]
    assert len(arrivals[1].body) >= 500
    trace.write_text("time_s,name\n1,x\n")
    with pytest.raises(WorkloadError, match="header lacks key"):
        from_trace(trace, spec)
    trace.write_text("time_s,key\nsoon,x\n")
    with pytest.raises(WorkloadError, match=r"trace.csv:2: time_s 'soon' is not a number"):
        from_trace(trace, spec)


def test_generated_rows_fit_the_declared_schema() -> None:
    spec = PipelineSpec(schema=("id:int", "amount:double", "ok:boolean", "day:date", "at:timestamp"))
    lines = generated_rows(spec, 200, seed=3).decode().splitlines()
    assert lines[0] == "id,amount,ok,day,at"
    for line in lines[1:]:
        ident, amount, ok, day, at = line.split(",")
        int(ident)
        float(amount)
        assert ok in ("true", "false") and len(day) == 10 and len(at) == 19
