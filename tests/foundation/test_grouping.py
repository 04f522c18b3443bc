"""The grouping rule: the seed card's examples, every rule, fallbacks, and MessageGroupId validity."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landing_pipeline.runtime.grouping import (
    GLOBAL_GROUP,
    UngroupableKey,
    default_group,
    file_name,
    group_for_key,
    to_message_group_id,
)
from landing_pipeline.runtime.spec import PipelineSpec

DEFAULT = PipelineSpec()
VALID_GROUP_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # SQS: alphanumerics and punctuation, 1-128 characters


@pytest.mark.parametrize(("key", "group"), [
    ("orders_20250915_101500.csv", "orders_20250915"),
    ("orders_20250915_103000.csv", "orders_20250915"),
    ("customers_20250915_102000.csv", "customers_20250915"),
    ("landing/2025/09/orders_20250915_101500.csv", "orders_20250915"),
    ("orders_20250915_101500.csv.gz", "orders_20250915"),
    ("orders_20250916_080000.json", "orders_20250916"),
    ("orders_20250915.csv", "orders_20250915"),  # no time: the whole stem
    ("README", "README"),
])
def test_default_rule_matches_the_seed_card(key: str, group: str) -> None:
    assert group_for_key(key, DEFAULT) == group


def test_file_name_is_the_last_segment() -> None:
    assert file_name("a/b/c.csv") == "c.csv"
    assert file_name("c.csv") == "c.csv"


def test_regex_rule_uses_the_named_group() -> None:
    spec = PipelineSpec(grouping_rule="regex", grouping_pattern=r"^(?P<group>[a-z]+)_(?P<day>\d{8})")
    assert group_for_key("in/orders_20250915_101500.csv", spec) == "orders"


def test_filename_rule_keeps_the_whole_name() -> None:
    spec = PipelineSpec(grouping_rule="filename")
    assert group_for_key("in/orders_20250915_101500.csv", spec) == "orders_20250915_101500.csv"


def test_fields_rule_takes_the_first_n_fields() -> None:
    spec = PipelineSpec(grouping_rule="fields", grouping_fields=1)
    assert group_for_key("orders_20250915_101500.csv", spec) == "orders"
    spec = PipelineSpec(grouping_rule="fields", grouping_fields=2, grouping_separator="-")
    assert group_for_key("eu-orders-1.csv", spec) == "eu-orders"


def test_unmatched_key_falls_back_to_its_file_name() -> None:
    spec = PipelineSpec(grouping_rule="regex", grouping_pattern=r"^(?P<group>orders)_")
    assert group_for_key("x/customers_1.csv", spec) == "customers_1.csv"
    spec = PipelineSpec(grouping_rule="fields", grouping_fields=3)
    assert group_for_key("orders_1.csv", spec) == "orders_1.csv"


def test_unmatched_key_is_rejected_with_a_reason_when_configured() -> None:
    spec = PipelineSpec(grouping_rule="regex", grouping_pattern=r"^(?P<group>orders)_", grouping_fallback="reject")
    with pytest.raises(UngroupableKey) as caught:
        group_for_key("x/customers_1.csv", spec)
    assert "customers_1.csv" in caught.value.reason and "regex" in caught.value.reason


def test_ordering_scopes() -> None:
    folder = PipelineSpec(ordering_scope="folder")
    assert group_for_key("eu/orders_20250915_101500.csv", folder) == "eu/orders_20250915"
    assert group_for_key("us/orders_20250915_101500.csv", folder) == "us/orders_20250915"
    everything = PipelineSpec(ordering_scope="global")
    assert group_for_key("eu/orders_20250915_101500.csv", everything) == GLOBAL_GROUP
    assert group_for_key("customers.csv", everything) == GLOBAL_GROUP


@pytest.mark.parametrize("key", [
    "in/report 2025_101500.csv", "in/a+b_101500.csv", "in/100%_done.csv", "in/résumé_20250915_101500.csv",
    "in/日本語_20250915_101500.csv", "in/" + "x" * 400 + ".csv", "in/tab\there.csv",
])
def test_odd_keys_give_valid_message_group_ids(key: str) -> None:
    group = group_for_key(key, DEFAULT)
    assert VALID_GROUP_ID.match(group), group


def test_odd_names_are_shortened_readably_with_a_hash() -> None:
    group = to_message_group_id("résumé 2025")
    assert group.startswith("r_sum__2025~") and len(group) == len("r_sum__2025~") + 16


def test_names_that_sanitise_alike_stay_apart() -> None:
    assert to_message_group_id("a b") != to_message_group_id("a\tb")
    assert to_message_group_id("x" * 200) != to_message_group_id("x" * 201)


keys = st.text(min_size=1, max_size=300).filter(lambda k: file_name(k) != "")
prefixes = st.from_regex(r"[a-z][a-z0-9]{0,12}_[0-9]{8}", fullmatch=True)
times = st.from_regex(r"[0-2][0-9][0-5][0-9][0-5][0-9]", fullmatch=True)


@given(keys)
def test_always_a_valid_group_id_and_deterministic(key: str) -> None:
    group = group_for_key(key, DEFAULT)
    assert VALID_GROUP_ID.match(group)
    assert group == group_for_key(key, DEFAULT)


@given(prefixes, times, times, st.sampled_from([".csv", ".json", ".parquet", ".csv.gz"]))
def test_same_prefix_different_times_map_together(prefix: str, t1: str, t2: str, ext: str) -> None:
    assert group_for_key(f"in/{prefix}_{t1}{ext}", DEFAULT) == group_for_key(f"in/{prefix}_{t2}.csv", DEFAULT)
    assert default_group(f"{prefix}_{t1}{ext}") == prefix


@given(prefixes, prefixes, times)
def test_different_prefixes_map_apart(p1: str, p2: str, t: str) -> None:
    if p1 != p2:
        assert group_for_key(f"{p1}_{t}.csv", DEFAULT) != group_for_key(f"{p2}_{t}.csv", DEFAULT)


@given(st.text(min_size=1, max_size=400), st.text(min_size=1, max_size=400))
def test_distinct_groups_never_collide(a: str, b: str) -> None:
    if a != b:
        assert to_message_group_id(a) != to_message_group_id(b)
