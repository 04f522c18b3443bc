"""The order checks read from the records: a lease taken at the very instant a file was recorded is not late."""

from __future__ import annotations

import numpy as np

from landing_pipeline.simulator.ordering import late_files


def test_a_lease_taken_at_the_instant_a_file_is_recorded_does_not_make_it_late() -> None:
    # Found by hypothesis: the later file of group 1 is leased at the instant the earlier one is recorded. A
    # per-group float offset (group x (2 x horizon + 1)) rounded 1.535 s to just below itself and counted it late.
    recorded = np.array([95.54173266933418, 1.535, 1.535])
    group = np.array([0, 1, 1])
    rank = np.array([0, 1, 2])
    lease_file = np.array([0, 2, 1])
    lease_at = np.array([95.54173266933418, 1.535, 95.54173266933418])
    assert not late_files(group, rank, recorded, lease_file, lease_at).any()


def test_a_file_recorded_after_a_later_file_of_its_group_started_is_late_and_others_are_not() -> None:
    recorded = np.array([10.0, 2.0, 0.0, 3.0])   # file 0 (earliest by key) lands after file 1 started
    group = np.array([0, 0, 1, 1])
    rank = np.array([0, 1, 2, 3])
    lease_file = np.array([1, 0, 2, 3])
    lease_at = np.array([4.0, 11.0, 1.0, 5.0])
    assert late_files(group, rank, recorded, lease_file, lease_at).tolist() == [True, False, False, False]


def test_late_is_decided_within_a_group_only() -> None:
    recorded = np.array([10.0, 0.0])   # a later file of another group started first: not late
    group = np.array([0, 1])
    rank = np.array([0, 1])
    assert not late_files(group, rank, recorded, np.array([1, 0]), np.array([1.0, 11.0])).any()
