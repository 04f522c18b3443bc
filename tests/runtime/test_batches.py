"""Batches in the rules (runtime/decide.py) and in the settings: which files one run takes, in what order, and
what a run's end means for each of them (mid-batch failure, a kill at the timeout)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landing_pipeline.runtime.decide import RunEnd, committed, decide, run_ended
from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase, Policy, run_token
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_validation import readable_bytes, spec_warnings
from tests.runtime.test_decide_properties import History, event

POLICY = Policy(settle_s=30, retry_backoff_base_s=60, max_attempts=3, start_grace_s=180, check_interval_s=300,
                batch_max_files=5)
G = GroupItem("orders", seq=6, version=5, epoch=3)


def f(n: int, landed: float = 0.0, **kw: object) -> OpenFile:
    return OpenFile(sort_key=f"f#{n:03d}", file_id=f"id{n}", landed_at=landed, **kw)  # type: ignore[arg-type]


def started(files: list[OpenFile], now: float = 100.0, policy: Policy = POLICY) -> tuple[GroupItem, list[OpenFile]]:
    d = decide(G, files, now, policy)
    assert d.kind == "start" and d.lease is not None
    return committed(G, files, d, now, run_id="jr_1")


def job_commits(group: GroupItem, files: list[OpenFile], done: int) -> list[OpenFile]:
    """The job's per-file commits of the lease's first ``done`` files (they leave the open range)."""
    gone = set(group.lease_keys[:done])
    return [x for x in files if x.sort_key not in gone]


# --- which files a run takes ---------------------------------------------------------------------------------

def test_a_start_takes_the_earliest_settled_files_head_first_up_to_batch_max_files() -> None:
    files = [f(n) for n in (7, 3, 1, 5, 2, 4, 6)]
    d = decide(G, files, 100, POLICY)
    assert d.lease is not None
    assert d.lease.file_ids == ("id1", "id2", "id3", "id4", "id5")
    assert d.lease.sort_keys == tuple(sorted(d.lease.sort_keys)) and d.last_started_key == "f#005"
    assert d.lease.run_numbers == (1, 1, 1, 1, 1)


def test_batch_max_files_1_starts_one_file_as_before_batches() -> None:
    d = decide(G, [f(1), f(2), f(3)], 100, replace(POLICY, batch_max_files=1))
    assert d.lease is not None and d.lease.file_ids == ("id1",)


def test_an_unsettled_file_ends_the_batch_and_so_do_the_files_after_it() -> None:
    d = decide(G, [f(1), f(2), f(3, landed=90), f(4)], 100, POLICY)
    assert d.lease is not None and d.lease.file_ids == ("id1", "id2")


def test_batch_max_bytes_caps_the_batch_but_the_head_always_runs() -> None:
    policy = replace(POLICY, batch_max_bytes=1000)
    d = decide(G, [f(1, size=600), f(2, size=300), f(3, size=200)], 100, policy)
    assert d.lease is not None and d.lease.file_ids == ("id1", "id2")
    big = decide(G, [f(1, size=5000), f(2, size=1)], 100, policy)
    assert big.lease is not None and big.lease.file_ids == ("id1",)


def test_a_retried_or_late_file_is_never_a_follower() -> None:
    d = decide(G, [f(1), f(2, attempts=1, status=FileStatus.FAILED, finished_at=0.0), f(3)], 1000, POLICY)
    assert d.lease is not None and d.lease.file_ids == ("id1",)
    d = decide(G, [f(1), f(2, late=True), f(3)], 1000, POLICY)
    assert d.lease is not None and d.lease.file_ids == ("id1",)


def test_a_file_a_killed_batch_was_on_runs_alone() -> None:
    d = decide(G, [f(1, alone=True), f(2), f(3)], 100, POLICY)
    assert d.lease is not None and d.lease.file_ids == ("id1",)


# --- the batch window ----------------------------------------------------------------------------------------

def test_an_idle_groups_fresh_head_waits_for_the_window_then_takes_what_came() -> None:
    policy = replace(POLICY, batch_window_s=120)
    d = decide(G, [f(1, landed=0)], 50, policy)
    assert d.kind == "batch_window" and d.state == Phase.SETTLING and d.not_before == 120 and d.hold_wake_s == 70
    d = decide(G, [f(1, landed=0), f(2, landed=40), f(3, landed=110)], 130, policy)
    assert d.kind == "start" and d.lease is not None and d.lease.file_ids == ("id1", "id2")   # id3 still settles


def test_the_window_does_not_hold_a_full_batch_a_retry_or_a_window_of_zero() -> None:
    policy = replace(POLICY, batch_window_s=120, batch_max_files=2)
    assert decide(G, [f(1), f(2)], 50, policy).kind == "start"
    retry = f(1, attempts=1, status=FileStatus.FAILED, finished_at=-1000.0)
    assert decide(G, [retry], 50, policy).kind == "start"
    assert decide(G, [f(1)], 50, replace(policy, batch_window_s=0)).kind == "start"


# --- what a run's end means for each file ----------------------------------------------------------------------

def test_a_batch_that_fails_on_its_second_file_charges_it_alone_and_the_rest_wait_again() -> None:
    group, files = started([f(1), f(2), f(3)])
    files = job_commits(group, files, 1)      # id1 committed by the job, then id2 failed
    d = run_ended(group, files, RunEnd("jr_1", group.token, "FAILED", "cannot read id2"), 200, POLICY)
    assert d.kind == "released" and d.release
    assert [(c.before.file_id, c.event) for c in d.files] == [("id2", "failed")]
    after = {x.file_id: x for x in committed(group, files, d, 200)[1]}
    assert after["id2"].attempts == 1 and after["id2"].status == FileStatus.FAILED
    assert after["id3"].attempts == 0 and after["id3"].status == FileStatus.RECEIVED
    assert "id1" not in after


def test_a_batch_killed_at_the_timeout_retries_the_file_it_was_on_alone_before_any_attempt() -> None:
    group, files = started([f(1), f(2), f(3)])
    files = job_commits(group, files, 1)
    d = run_ended(group, files, RunEnd("jr_1", group.token, "TIMEOUT", "Job run timed out"), 200, POLICY)
    assert [(c.before.file_id, c.event) for c in d.files] == [("id2", "alone")]
    group2, files2 = committed(group, files, d, 200)
    assert all(x.attempts == 0 for x in files2)
    again = decide(replace(group2, wake_pending=False), files2, 300, POLICY)
    assert again.kind == "start" and again.lease is not None and again.lease.file_ids == ("id2",)
    # killed again, alone: now it is the file's own failure
    group3, files3 = committed(group2, files2, again, 300, run_id="jr_2")
    d = run_ended(group3, files3, RunEnd("jr_2", group3.token, "TIMEOUT", "Job run timed out"), 400, POLICY)
    assert [(c.before.file_id, c.event) for c in d.files] == [("id2", "failed")]
    assert not d.files[0].after.alone and d.files[0].after.attempts == 1


def test_a_one_file_run_killed_at_the_timeout_is_charged_at_once() -> None:
    group, files = started([f(1)])
    d = run_ended(group, files, RunEnd("jr_1", group.token, "TIMEOUT", "Job run timed out"), 200, POLICY)
    assert [(c.before.file_id, c.event) for c in d.files] == [("id1", "failed")]


def test_a_batch_that_succeeds_leaves_nothing_open_and_a_late_success_marks_what_the_job_did_not() -> None:
    group, files = started([f(1), f(2), f(3)])
    d = run_ended(group, job_commits(group, files, 3), RunEnd("jr_1", group.token, "SUCCEEDED"), 200, POLICY)
    assert d.kind == "released" and not d.files and d.state == Phase.IDLE
    d = run_ended(group, job_commits(group, files, 2), RunEnd("jr_1", group.token, "SUCCEEDED"), 200, POLICY)
    assert [(c.before.file_id, c.event) for c in d.files] == [("id3", "succeeded")]


def test_a_lease_of_a_batch_is_one_group_item_write() -> None:
    """Taking the lease of 5 files writes the group item only (the lease holds sort keys): one guarded write."""
    d = decide(G, [f(n) for n in range(1, 8)], 100, POLICY)
    assert d.lease is not None and len(d.lease.sort_keys) == 5 and not d.files
    assert d.guard.seq == G.seq and d.guard.version == G.version and d.lease.token == run_token("orders", 4)


# --- settings ----------------------------------------------------------------------------------------------------

def test_batch_settings_default_to_the_measured_recommendation_and_are_range_checked() -> None:
    spec = PipelineSpec()
    assert (spec.batch_max_files, spec.batch_window_seconds) == (10, 0)
    assert Policy.from_spec(spec).batch_max_files == 10 and Policy.from_spec(spec).batch_window_s == 0
    assert spec_warnings(spec) == []   # the default fits the default timeout
    assert Policy.from_spec(PipelineSpec(batch_max_files=1)).batch_max_files == 1
    with pytest.raises(SpecError, match="batchMaxFiles"):
        PipelineSpec(batch_max_files=26)
    with pytest.raises(SpecError, match="batchMaxFiles"):
        PipelineSpec(batch_max_files=0)


def test_batch_max_bytes_above_what_one_run_reads_in_the_timeout_is_an_error() -> None:
    limit = readable_bytes(PipelineSpec(job_timeout_minutes=5))
    assert limit is not None and limit > 0
    PipelineSpec(job_timeout_minutes=5, batch_max_bytes=limit)
    with pytest.raises(SpecError, match="batchMaxBytes") as caught:
        PipelineSpec(job_timeout_minutes=5, batch_max_bytes=limit + 1)
    assert "jobTimeoutMinutes" in str(caught.value)


def test_a_timeout_too_short_for_a_full_batch_is_a_warning_naming_both_settings() -> None:
    assert spec_warnings(PipelineSpec(batch_max_files=25)) == []
    notes = spec_warnings(PipelineSpec(batch_max_files=10, job_timeout_minutes=10))
    assert len(notes) == 1 and "jobTimeoutMinutes" in notes[0] and "batchMaxFiles" in notes[0]
    # a window with one file per run does nothing
    assert spec_warnings(PipelineSpec(batch_max_files=1, batch_window_seconds=60))


# --- the properties of test_decide_properties.py, with batches on ---------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(event, max_size=60), st.sampled_from(["continue", "block"]), st.integers(1, 3),
       st.sampled_from([0, 30]), st.sampled_from([2, 5]), st.sampled_from([0.0, 60.0]))
def test_no_history_with_batches_starts_out_of_order_or_twice(events: list[tuple[str, object]], on_failure: str,
                                                              max_attempts: int, settle: int, batch: int,
                                                              window: float) -> None:
    """Random histories with batches of up to ``batch`` files (a batch's end charges its first open file, as the
    job's per-file commits leave it): never two leases, no start past an unfinished earlier file, no DEAD file or
    used-up attempts in a start (``lateFiles: run``: the harness's check of a park is the other test's)."""
    history = History(Policy(on_failure=on_failure, late_files="run", max_attempts=max_attempts, settle_s=settle,
                             retry_backoff_base_s=60, batch_max_files=batch, batch_window_s=window))
    for kind, arg in events:
        history.step(kind, arg)
