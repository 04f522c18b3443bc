"""Feeds as a stack setting: read from the stack file as Pulumi hands it over, checked with every other setting,
carried to the functions, and applied where the dispatcher builds a run's arguments."""

from __future__ import annotations

import json

import pytest

from landing_pipeline.runtime.contract import FEED_ARG, FORMAT_ARG, MERGE_KEYS_ARG, SCHEMA_ARG
from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.feeds import Feed
from landing_pipeline.runtime.job_args import JobInput, job_arguments
from landing_pipeline.runtime.spec import PipelineSpec, from_env, to_env
from landing_pipeline.runtime.spec_loader import pulumi_yaml_config, spec_from_config

FEEDS = [
    {"name": "orders", "match": "orders_*", "schema": ["order_id:string", "amount:double"],
     "mergeKeys": ["order_id"]},
    {"name": "customers", "match": "customers_*", "schema": ["customer_id:string", "country:string"],
     "mergeKeys": ["customer_id"], "table": "customer_dim"},
]
STACK_WIDE = {"landing-pipeline:schema": ["id:string"], "landing-pipeline:mergeKeys": ["id"]}


def test_feeds_read_from_the_stack_files_list_and_from_the_json_pulumi_hands_a_program() -> None:
    as_list = spec_from_config({"landing-pipeline:feeds": FEEDS})
    as_json = spec_from_config({"landing-pipeline:feeds": json.dumps(FEEDS)})
    assert as_list == as_json
    assert [(f.name, f.match, f.table_name) for f in as_list.feeds] == [
        ("orders", "orders_*", "orders"), ("customers", "customers_*", "customer_dim")]
    assert as_list.feeds[1].merge_keys == ("customer_id",)


def test_every_problem_of_bad_feeds_is_reported_at_once_naming_the_feed_and_the_field() -> None:
    bad = [{"name": "orders", "match": "orders_*", "schema": ["order_id:string", "amount:money"],
            "mergeKeys": ["id"]},
           {"name": "daily", "match": "*_20250915", "colour": "blue"}]
    with pytest.raises(SpecError) as caught:
        spec_from_config({"landing-pipeline:feeds": bad, "landing-pipeline:unmatchedFiles": "drop"})
    found = {(p.setting, p.message.split(":")[0]) for p in caught.value.problems}
    assert ("feeds[1].colour", "feed 'daily'") in found               # a field the parser does not know
    assert ("feeds[0].schema", "feed 'orders'") in found               # a type the job cannot cast to
    assert ("feeds[0].mergeKeys", "feed 'orders'") in found            # a merge key outside the schema
    assert ("unmatchedFiles", "not a known choice") in found
    overlap = next(p for p in caught.value.problems if "overlap" in p.message)
    assert "'orders' and 'daily'" in overlap.message and "'orders_20250915'" in overlap.message


def test_unmatched_files_reject_needs_feeds() -> None:
    with pytest.raises(SpecError, match="unmatchedFiles"):
        PipelineSpec(unmatched_files="reject")
    PipelineSpec(feeds=(Feed("orders", "orders_*"),), unmatched_files="reject")


def test_feeds_past_the_environment_are_accepted_and_past_the_document_limit_refused_before_deployment() -> None:
    def feeds(n: int) -> tuple[Feed, ...]:
        return tuple(Feed(f"feed_{i:04d}", f"feed_{i:04d}_*", schema=tuple(f"column_{c}:string" for c in range(8)))
                     for i in range(n))

    assert len(PipelineSpec(feeds=feeds(40)).feeds) == 40   # ~7 KB: an S3 document (docs/configuration.md)
    with pytest.raises(SpecError, match="cold start") as caught:
        PipelineSpec(feeds=feeds(1600))   # ~270 KB
    assert caught.value.problems[0].setting == "feeds"


def test_feeds_reach_the_functions_and_come_back_equal() -> None:
    spec = spec_from_config({"landing-pipeline:feeds": FEEDS, **STACK_WIDE})
    env = to_env(spec)
    assert json.loads(env["LANDING_FEEDS"])[0] == FEEDS[0]   # camelCase, defaults left out
    assert from_env(env) == spec


def test_a_runs_arguments_carry_its_groups_feed_and_unmatched_files_the_stack_wide_settings() -> None:
    spec = spec_from_config({"landing-pipeline:feeds": FEEDS, **STACK_WIDE})

    def arguments(key: str, group: str) -> dict[str, str]:
        return job_arguments(spec, JobInput("landing", f"landing/{key}", None, group, "id1"), attempt=1,
                             output_bucket="out")

    orders = arguments("orders_20250915_101500.csv", "orders_20250915")
    assert (orders[FEED_ARG], json.loads(orders[SCHEMA_ARG]), orders[MERGE_KEYS_ARG]) == (
        "orders", ["order_id:string", "amount:double"], "order_id")
    customers = arguments("customers_20250915_102000.csv", "customers_20250915")
    assert (customers[FEED_ARG], customers[MERGE_KEYS_ARG]) == ("customers", "customer_id")
    assert FORMAT_ARG not in orders                          # format auto: the job reads the suffix
    jsonl = spec.replace(feeds=(*spec.feeds, Feed("events", "events_*", format="jsonl")))
    events = job_arguments(jsonl, JobInput("landing", "landing/events_20250915_1.log", None, "events_20250915", "e1"),
                           attempt=1, output_bucket="out")
    assert (events[FEED_ARG], events[FORMAT_ARG]) == ("events", "jsonl")
    refunds = arguments("refunds_20250915_090000.csv", "refunds_20250915")
    assert FEED_ARG not in refunds and json.loads(refunds[SCHEMA_ARG]) == ["id:string"]
    assert refunds[MERGE_KEYS_ARG] == "id"


def test_pulumi_yaml_leaves_feeds_undeclared_since_pulumi_types_no_list_of_mappings() -> None:
    declared = pulumi_yaml_config()
    assert "feeds" not in declared and declared["unmatchedFiles"]["default"] == "default"


def test_the_component_takes_feeds_as_the_stack_file_does() -> None:
    from landing_pipeline.components.args import args_from_spec, spec_from_args

    spec = spec_from_config({"landing-pipeline:feeds": FEEDS})
    args = args_from_spec(spec)
    assert args["feeds"] == FEEDS
    assert spec_from_args(args) == spec


def test_the_documented_feeds_example_is_a_valid_stack() -> None:
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = doc.split("## Feeds", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    spec = spec_from_config(yaml.safe_load(example)["config"])
    assert [feed.name for feed in spec.feeds] == ["orders", "customers"] and spec.unmatched_files == "reject"


def test_a_decimal_split_by_a_yaml_flow_list_is_named_with_the_quoting_fix() -> None:
    import yaml

    config = yaml.safe_load("landing-pipeline:schema: [id:string, amount:decimal(12,2)]\n")
    with pytest.raises(SpecError) as caught:
        spec_from_config(config)
    [problem] = caught.value.problems   # one problem, not one for each half
    assert "split at the comma" in problem.message and "'amount:decimal(12,2)'" in problem.fix
