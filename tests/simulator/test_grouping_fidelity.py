"""Every simulated file gets the group the router computes: runtime.grouping.group_for_key on its key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landing_pipeline.runtime.grouping import group_for_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.workload import build_workload
from tests.simulator.conftest import scenario

MIXED = {
    "duration_s": 7200, "start_clock": "23:30:00",
    "arrivals": [{"poisson": {"rate_per_s": 0.2, "groups": 25, "prefix": "orders_2025-09-"}},
                 {"burst": {"at_s": 60, "files": 50, "group": "customers_20250915", "spread_s": 3600}},
                 {"poisson": {"rate_per_s": 0.02, "groups": "unique", "prefix": "adhoc"}},
                 {"files": [{"at_s": 5, "key": "landing/x/y/z_20250915_101500.json"},
                            {"at_s": 6, "key": "elsewhere/a_20250915_101500.csv"},
                            {"at_s": 7, "key": "landing/folder/"},
                            {"at_s": 8, "key": "landing/a_20250915_101500.txt"}]}],
}


@pytest.mark.parametrize("settings", [
    {},
    {"grouping_rule": "regex", "grouping_pattern": r"^(?P<group>[a-z]+)_"},
    {"grouping_rule": "regex", "grouping_pattern": r"_(?P<group>\d{2})\d{4}\.csv$"},  # group by landing hour
    {"grouping_rule": "fields", "grouping_fields": 2},
    {"grouping_rule": "fields", "grouping_fields": 3, "grouping_separator": "-"},
    {"grouping_rule": "filename"},
    {"ordering_scope": "folder"},
    {"ordering_scope": "global"},
    {"grouping_rule": "regex", "grouping_pattern": r"^(?P<group>orders)_", "grouping_fallback": "reject"},
], ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_groups_match_the_routers_rule(dev_spec: PipelineSpec, settings: dict[str, object]) -> None:
    spec = dev_spec.replace(**settings)
    workload = build_workload(scenario(MIXED), spec, np.random.default_rng(5))
    for key, group in zip(workload.keys, workload.group, strict=True):
        assert workload.group_names[group] == group_for_key(key, spec), key
    assert workload.ignored == 3  # another prefix, a folder marker, a suffix the stack does not take
    if settings.get("grouping_fallback") == "reject":
        assert workload.rejected > 0
        assert {workload.group_names[g] for g in workload.group} == {"orders"}


def test_generated_keys_carry_the_landing_time_and_the_stack_prefix(dev_spec: PipelineSpec) -> None:
    workload = build_workload(scenario({"duration_s": 10, "start_clock": "10:15:00", "overheads": "none",
                                        "arrivals": [{"burst": {"at_s": 3, "files": 1, "group": "orders_20250915"}}]}),
                              dev_spec, np.random.default_rng(1))
    assert workload.keys == ["landing/orders_20250915_101503.csv"]
    assert workload.group_names == ["orders_20250915"]


def test_files_of_no_feed_are_rejected_under_unmatched_files_reject_as_the_router_parks_them(
        tmp_path: Path, dev_spec: PipelineSpec) -> None:
    """The simulator counts what the router parks (runtime.feeds.unmatched_reason, shared), not processes it."""
    from landing_pipeline.simulator.runner import simulate
    from tests.simulator.conftest import trace_scenario

    rows = ["0,landing/orders_20250915_101500.csv,20,0", "1,landing/customers_20250915_102000.csv,20,0",
            "2,landing/refunds_20250915_090000.csv,20,0"]
    default = simulate(dev_spec, trace_scenario(tmp_path, rows, overheads="none"), seed=1).metrics
    rejecting = simulate(dev_spec.replace(unmatched_files="reject"), trace_scenario(tmp_path, rows, overheads="none"),
                         seed=1).metrics
    assert (default["succeeded"], default["rejected"]) == (3, 0)        # dev's feeds: orders and customers
    assert (rejecting["succeeded"], rejecting["rejected"], rejecting["landed"]) == (2, 1, 3)
