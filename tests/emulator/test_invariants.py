"""The chaos report's invariants on hand-made records: each violation is detected, a clean log passes, and
the ledger's claims never stand in for the run log (emulator/invariants.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from landing_pipeline.emulator.chaos_timeline import timeline
from landing_pipeline.emulator.invariants import (
    Landing,
    OperatorAction,
    Records,
    check,
    heard_times,
    order_key,
)
from landing_pipeline.emulator.observe import RunObservation

GROUP = "feed0_20250915"


def landing(name: str, at: float, group: str = GROUP, taken_in: bool = True) -> Landing:
    return Landing(file_id=name, key=f"landing/{name}", group=group, at=at, taken_in=taken_in)


def run(name: str, start: float, end: float | None, state: str = "SUCCEEDED", run_id: str = "",
        attempt: int = 1, group: str = GROUP) -> RunObservation:
    return RunObservation(run_id=run_id or f"jr_{name}_{start:g}", key=f"landing/{name}", file_id=name, group=group,
                          attempt=attempt, start=start, end=end, state=state)


@dataclass
class FencedRun(RunObservation):
    """A v2 run that lost its lease claim: the run log says so (``fenced``)."""

    fenced: bool = True


A, B, C = "feed0_20250915_100001.csv", "feed0_20250915_100002.csv", "feed0_20250915_100003.csv"


def records(landings: list[Landing], runs: list[Any], **extra: Any) -> Records:
    heard = extra.pop("heard", None)
    if heard is None:
        heard = {lnd.file_id: lnd.at + 1 for lnd in landings}
    return Records(landings=landings, runs=runs, heard=heard, dlq_files=extra.pop("dlq_files", set()),
                   now=extra.pop("now", 1000.0), **extra)


def clean() -> Records:
    return records([landing(A, 0), landing(B, 10), landing(C, 20)],
                   [run(A, 5, 50), run(B, 50, 90), run(C, 90, 120)])


def test_a_clean_log_passes() -> None:
    report = check(clean())
    assert report.invariants == {"overlapping_runs": 0, "ordering_violations": 0, "lost": 0, "processed_twice": 0,
                                 "dead_not_in_dlq": 0}
    assert report.late == 0 and report.violations == [] and report.fenced_runs == 0


def test_an_overlap_is_detected() -> None:
    report = check(records([landing(A, 0), landing(B, 10)], [run(A, 5, 50), run(B, 40, 90)]))
    assert report.invariants["overlapping_runs"] == 1
    assert report.groups == [GROUP]
    assert "was going" in report.violations[0]["why"]


def test_runs_of_different_groups_may_overlap() -> None:
    other = "feed1_20250915_100001.csv"
    report = check(records([landing(A, 0), landing(other, 0, group="feed1_20250915")],
                           [run(A, 5, 50), run(other, 6, 60, group="feed1_20250915")]))
    assert report.invariants["overlapping_runs"] == 0


def test_a_run_still_going_at_the_end_overlaps_a_later_start() -> None:
    report = check(records([landing(A, 0), landing(B, 10)], [run(A, 5, None, "RUNNING"), run(B, 60, 90)]))
    assert report.invariants["overlapping_runs"] == 1


def test_an_ordering_violation_is_detected() -> None:
    # A landed first and was heard at 1, but B started at 50 while A had not run yet (A ran after B)
    report = check(records([landing(A, 0), landing(B, 10)], [run(B, 50, 90), run(A, 90, 130)]))
    assert report.invariants["ordering_violations"] == 1
    assert report.violations[0]["files"] == [A, B]
    assert report.late == 0


def test_a_late_file_is_counted_not_a_violation() -> None:
    # A landed first but its event was late: heard at 70, after B had started at 50
    report = check(records([landing(A, 0), landing(B, 10)], [run(B, 50, 90), run(A, 90, 130)],
                           heard={A: 70.0, B: 11.0}))
    assert report.invariants["ordering_violations"] == 0
    assert report.late == 1 and report.late_files == [f"landing/{A}"]


def test_files_landing_in_one_second_are_ordered_by_key() -> None:
    # B landed 0.3 s before A in the same whole second: A is first by key; B running first violates
    same_second = [landing(B, 4.2), landing(A, 4.5)]
    assert order_key(same_second[1], "landing_time") < order_key(same_second[0], "landing_time")
    report = check(records(same_second, [run(B, 10, 40), run(A, 40, 70)]))
    assert report.invariants["ordering_violations"] == 1


def test_file_name_order() -> None:
    # by name, A comes first even though it landed after B
    landings = [landing(B, 0), landing(A, 30)]
    by_time = check(records(landings, [run(B, 5, 40), run(A, 40, 80)]))
    assert by_time.invariants["ordering_violations"] == 0
    by_name = check(records(landings, [run(B, 35, 40), run(A, 40, 80)], order_by="file_name"))
    assert by_name.invariants["ordering_violations"] == 1


def test_a_retry_waiting_in_backoff_is_unfinished() -> None:
    # A failed at 40 and retries at 100; B must not start in between
    report = check(records([landing(A, 0), landing(B, 10)],
                           [run(A, 5, 40, "FAILED"), run(B, 50, 90), run(A, 100, 140, attempt=2)]))
    assert report.invariants["ordering_violations"] == 1


def test_a_dead_file_lets_the_group_go_on_with_continue_but_not_with_block() -> None:
    landings = [landing(A, 0), landing(B, 10)]
    runs = [run(A, 5, 20, "FAILED"), run(A, 30, 45, "FAILED", attempt=2), run(B, 50, 90)]
    assert check(records(landings, runs, dlq_files={A})).invariants["ordering_violations"] == 0
    blocked = check(records(landings, runs, dlq_files={A}, on_failure="block"))
    assert blocked.invariants["ordering_violations"] == 1  # F4: B ran past the DEAD A


def test_a_redriven_file_was_dead_until_its_redrive() -> None:
    landings = [landing(A, 0), landing(B, 10)]
    runs = [run(A, 5, 20, "FAILED"), run(B, 50, 90), run(A, 200, 240, attempt=2)]
    operator = [OperatorAction(150.0, "redrive", A, f"landing/{A}")]
    report = check(records(landings, runs, operator=operator))
    assert report.invariants["ordering_violations"] == 0 and report.invariants["lost"] == 0



def seq_run(name: str, start: float, end: float | None, state: str, start_seq: int, attempt: int = 1
            ) -> RunObservation:
    r = run(name, start, end, state, run_id=f"jr_{name}_{start_seq}", attempt=attempt)
    r.start_seq = start_seq
    return r


def test_one_instant_is_ordered_by_the_run_logs_sequence() -> None:
    """Seed 7 on virtual time: A dead (continue) since 20; at t=100 B starts and fails at once (its input was
    deleted), the pipeline goes quiet, the operator redrives A and B, and A starts, all at t=100. B's start
    came before A's redrive (sequence numbers 1 < 2 < 3): no violation. The same instant with A redriven and
    started before B's start is one (B ran while the redriven A waited or ran)."""
    landings = [landing(A, 0), landing(B, 10)]
    operator = [OperatorAction(100.0, "redrive", A, f"landing/{A}", seq=2),
                OperatorAction(100.0, "redrive", B, f"landing/{B}", seq=2)]
    before = [run(A, 5, 20, "FAILED"), seq_run(B, 100, 100, "FAILED", 1), seq_run(A, 100, 130, "FAILED", 3, 2),
              seq_run(B, 130, 130, "FAILED", 4, 2)]
    report = check(records(landings, before, operator=operator, dlq_files={A, B}))
    assert report.invariants["ordering_violations"] == 0, report.violations
    after = [run(A, 5, 20, "FAILED"), seq_run(A, 100, 130, "FAILED", 3, 2), seq_run(B, 100, 100, "FAILED", 4),
             seq_run(B, 130, 130, "FAILED", 5, 2)]
    report = check(records(landings, after, operator=operator, dlq_files={A, B}))
    assert report.invariants["ordering_violations"] == 1, report.violations
    assert report.violations[0]["files"] == [A, B] and report.violations[0]["at"] == 100


def test_a_file_redriven_and_not_yet_run_again_is_unfinished() -> None:
    """A redriven at 150 waits for its run (a backoff, a slot): B starting at 160 runs past it, even though A
    ends in a DLQ after dying again at 240."""
    landings = [landing(A, 0), landing(B, 10)]
    operator = [OperatorAction(150.0, "redrive", A, f"landing/{A}")]
    runs = [run(A, 5, 20, "FAILED"), run(B, 160, 190), run(A, 200, 240, "FAILED", attempt=2)]
    report = check(records(landings, runs, operator=operator, dlq_files={A}))
    assert report.invariants["ordering_violations"] == 1
    fine = [run(A, 5, 20, "FAILED"), run(A, 200, 240, "FAILED", attempt=2), run(B, 240, 290)]
    assert check(records(landings, fine, operator=operator, dlq_files={A})).invariants["ordering_violations"] == 0


def test_a_timeline_puts_one_instant_in_sequence_order() -> None:
    landings = [landing(A, 0), landing(B, 10)]
    operator = [OperatorAction(100.0, "redrive", A, f"landing/{A}", seq=2)]
    runs = [seq_run(B, 100, None, "RUNNING", 1), seq_run(A, 100, None, "RUNNING", 3)]
    lines = [line.split()[1:3] for line in timeline(records(landings, runs, operator=operator), GROUP)
             if line.split()[0] == "100.0"]
    assert lines == [["start", B], ["operator", "redrive"], ["start", A]]

def test_a_lost_file_is_detected() -> None:
    report = check(records([landing(A, 0), landing(B, 10)], [run(A, 5, 50)]))
    assert report.invariants["lost"] == 1
    assert report.violations[0]["files"] == [B]


def test_a_failed_file_without_a_dlq_message_is_lost_even_if_the_ledger_says_dead() -> None:
    landings = [landing(A, 0)]
    runs = [run(A, 5, 20, "FAILED")]
    report = check(records(landings, runs, ledger_dead={A}))
    assert report.invariants["lost"] == 1 and report.invariants["dead_not_in_dlq"] == 1  # F5
    assert check(records(landings, runs, ledger_dead={A}, dlq_files={A})).invariants == dict.fromkeys(
        report.invariants, 0)


def test_the_ledger_saying_succeeded_does_not_count() -> None:
    # no successful run in the run log: the file is lost whatever the ledger believes
    report = check(records([landing(A, 0)], [run(A, 5, 20, "FAILED")], ledger_dead=set()))
    assert report.invariants["lost"] == 1


def test_a_skipped_file_is_not_lost() -> None:
    operator = [OperatorAction(100.0, "skip", A, f"landing/{A}")]
    report = check(records([landing(A, 0)], [run(A, 5, 20, "FAILED")], operator=operator))
    assert report.invariants["lost"] == 0


def test_ignored_files_are_not_taken_in() -> None:
    report = check(records([landing(A, 0, taken_in=False)], []))
    assert report.invariants["lost"] == 0


def test_processed_twice_is_detected_and_fenced_runs_are_apart() -> None:
    landings = [landing(A, 0)]
    twice = check(records(landings, [run(A, 5, 50, run_id="jr_1"), run(A, 6, 55, run_id="jr_2")]))
    assert twice.invariants["processed_twice"] == 1 and twice.invariants["overlapping_runs"] == 1
    fenced = FencedRun(run_id="jr_2", key=f"landing/{A}", file_id=A, group=GROUP, attempt=1, start=6, end=7,
                       state="SUCCEEDED")
    once = check(records(landings, [run(A, 5, 50, run_id="jr_1"), fenced]))
    assert once.invariants == dict.fromkeys(once.invariants, 0)
    assert once.fenced_runs == 1


def test_heard_times_come_from_router_deliveries_that_finished() -> None:
    deliveries = [(3.0, "router", "message m1", "1", "error"), (5.0, "router", "message m1", "2", "deleted"),
                  (4.0, "router", "message m2", "1", "deleted"), (9.0, "dispatcher", f"file {A}", "1", "kept")]
    heard = heard_times(deliveries, {A: {"m1", "m2"}, B: {"m3"}})
    assert heard == {A: 4.0}


def test_timeline_tells_the_groups_story() -> None:
    lines = timeline(records([landing(A, 0), landing(B, 10)], [run(B, 50, 90), run(A, 90, 130, "FAILED")],
                             dlq_files={A}), GROUP)
    assert lines[0].split() == ["0.0", "landed", A]
    assert any("start" in line and B in line for line in lines)
    assert lines[-2].endswith(f"{A}: 0 successful run(s) of 1, in a DLQ")


def test_timeline_names_sends_the_dedup_window_dropped() -> None:
    lines = timeline(records([landing(A, 0)], [run(A, 5, 20)], dropped_sends=[(30.0, "ordered.fifo", f"{A}-y30000")]),
                     GROUP)
    assert any(line.split()[:2] == ["30.0", "dropped"] and "-y30000" in line for line in lines)
