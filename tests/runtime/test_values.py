"""runtime.values.Frozen behaves as the frozen dataclasses it replaced, so no caller of those records noticed."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError

import pytest

from landing_pipeline.runtime.errors import Problem
from landing_pipeline.runtime.ledger_items import FileRecord, Lineage


def test_construction_by_position_or_keyword_with_defaults() -> None:
    assert Lineage("b", "k") == Lineage(bucket="b", key="k", etag="", version_id=None, size=None, recorded_at=0.0)
    assert FileRecord("f", "g", "s", "RECEIVED", attempts=2).attempts_since_redrive == 2


def test_equality_and_hashing_by_value_and_class() -> None:
    a, b = Problem("x", 1, "bad", "fix it"), Problem("x", 1, "bad", "fix it")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Problem("x", 2, "bad", "fix it")
    assert a != ("x", 1, "bad", "fix it")   # not a tuple


def test_repr_names_every_field() -> None:
    assert repr(Lineage("b", "k", size=3)) == ("Lineage(bucket='b', key='k', etag='', version_id=None, size=3, "
                                               "recorded_at=0.0)")


def test_assignment_and_deletion_are_refused_and_there_is_no_dict() -> None:
    record = Lineage("b", "k")
    with pytest.raises(FrozenInstanceError):
        record.key = "other"   # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del record.key
    assert not hasattr(record, "__dict__")


def test_copy_and_pickle_round_trip() -> None:
    record = FileRecord("f", "g", "s", "DEAD", run_ids=("jr_1",), reason="boom")
    assert copy.copy(record) == record and copy.deepcopy(record) == record
    assert pickle.loads(pickle.dumps(record)) == record


def test_str_of_a_problem_is_unchanged() -> None:
    assert str(Problem("maxParallelGroups", 0, "must be at least 1", "set 1 or more")) == (
        "landing-pipeline:maxParallelGroups = 0: must be at least 1. Fix: set 1 or more")
