"""A chaos run's fewer collections: thresholds raised inside the block only, never lowered, always restored."""

from __future__ import annotations

import gc

import pytest

from landing_pipeline.emulator import gc_budget


def test_the_threshold_is_raised_inside_and_restored_after_even_on_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), gc_budget.fewer_collections(50_000):
        assert gc.get_threshold() == (max(50_000, before[0]), *before[1:])
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before


def test_a_caller_that_collects_less_often_already_keeps_its_threshold() -> None:
    before = gc.get_threshold()
    gc.set_threshold(100_000, *before[1:])
    try:
        with gc_budget.fewer_collections(20_000):
            assert gc.get_threshold()[0] == 100_000
    finally:
        gc.set_threshold(*before)
