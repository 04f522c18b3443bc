"""The catalog's tables and partitions (runtime/catalog.py) on moto's Glue: what a query engine is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from landing_pipeline.runtime.catalog import database_name, feed_tables, sync_group, table_input, widened
from landing_pipeline.runtime.feeds import Feed
from landing_pipeline.runtime.job_args import JobInput, job_arguments
from landing_pipeline.runtime.paths import path_component
from landing_pipeline.runtime.spec import PipelineSpec

BUCKET, DB = "out", "landing_dev_ingest"
ORDERS = Feed("orders", "orders_*", schema=("order_id:string", "amount:double"), merge_keys=("order_id",))
LOOSE = Feed("events", "events_*")


@pytest.fixture()
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        glue, s3 = boto3.client("glue", region_name="eu-west-1"), boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        glue.create_database(DatabaseInput={"Name": DB})
        for table in feed_tables([ORDERS, LOOSE], "processed/"):
            glue.create_table(DatabaseName=DB, TableInput=table_input(table, BUCKET))
        yield glue, s3


def partitions(glue: Any, table: str) -> dict[str, str]:
    found = glue.get_partitions(DatabaseName=DB, TableName=table)["Partitions"]
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in found}


def publish(s3: Any, group: str, version: int) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"snapshots/orders/{path_component(group)}/_current.json", Body=json.dumps(
        {"version": version, "path": f"s3://{BUCKET}/snapshots/orders/{path_component(group)}/v{version:06d}",
         "rows": 3}))


def sync(glue: Any, s3: Any, feed: Feed, group: str, manifests: tuple[str, ...] = ()) -> list[str]:
    return sync_group(glue, s3, database=DB, feed=feed, output_bucket=BUCKET, output_prefix="processed/",
                      group=group, manifest_keys=manifests)


def test_a_group_gets_its_partitions_once_and_its_snapshot_partition_follows_each_version(aws: Any) -> None:
    glue, s3 = aws
    publish(s3, "orders_20250915", 1)
    assert len(sync(glue, s3, ORDERS, "orders_20250915")) == 2
    assert partitions(glue, "orders") == {"orders_20250915": f"s3://{BUCKET}/processed/orders/orders_20250915/"}
    assert partitions(glue, "orders_snapshot") == {
        "orders_20250915": f"s3://{BUCKET}/snapshots/orders/orders_20250915/v000001/"}
    assert sync(glue, s3, ORDERS, "orders_20250915") == []   # a retried event changes nothing
    publish(s3, "orders_20250915", 2)
    assert sync(glue, s3, ORDERS, "orders_20250915") == ["partition orders_snapshot/orders_20250915 -> v2"]
    assert partitions(glue, "orders_snapshot")["orders_20250915"].endswith("/v000002/")


def test_an_awkward_group_is_partitioned_by_its_folder_name(aws: Any) -> None:
    glue, s3 = aws
    group = "orders?_[1]"
    publish(s3, group, 1)
    sync(glue, s3, ORDERS, group)
    folder = path_component(group)
    assert folder != group and partitions(glue, "orders") == {folder: f"s3://{BUCKET}/processed/orders/{folder}/"}


def test_a_feed_without_a_schema_takes_the_columns_of_its_files_before_the_lineage(aws: Any) -> None:
    glue, s3 = aws
    lineage = ["_source_key:string", "_source_version:string", "_group:string", "_run_id:string",
               "_ingested_at:timestamp"]
    for n, schema in enumerate((["id:string", "n:bigint"], ["id:string", "n:bigint", "extra:double"])):
        s3.put_object(Bucket=BUCKET, Key=f"manifests/events_1/f{n}.json",
                      Body=json.dumps({"schema": schema + lineage}))
    sync(glue, s3, LOOSE, "events_1", ("manifests/events_1/f0.json",))
    sync(glue, s3, LOOSE, "events_1", ("manifests/events_1/f1.json",))
    columns = glue.get_table(DatabaseName=DB, Name="events")["Table"]["StorageDescriptor"]["Columns"]
    assert [f"{c['Name']}:{c['Type']}" for c in columns] == ["id:string", "n:bigint", "extra:double", *lineage]
    # a partition registered before a widening carries the table's columns as they are now
    (partition,) = glue.get_partitions(DatabaseName=DB, TableName="events")["Partitions"]
    assert partition["StorageDescriptor"]["Columns"] == columns
    assert widened(columns, ["id:string"]) is None


def test_a_feeds_files_are_written_under_its_table_and_other_files_where_they_always_were() -> None:
    spec = PipelineSpec(feeds=(ORDERS,))
    feed_file = JobInput("landing", "landing/orders_20250915_1.csv", "v1", "orders_20250915", "f1")
    other = JobInput("landing", "landing/refunds_20250915_1.csv", "v1", "refunds_20250915", "f2")
    args = job_arguments(spec, feed_file, attempt=1, output_bucket=BUCKET)
    assert args["--output_uri"] == f"s3://{BUCKET}/processed/orders/orders_20250915/f1/"
    assert args["--snapshot_uri"] == f"s3://{BUCKET}/snapshots/orders/orders_20250915/"
    plain = job_arguments(spec, other, attempt=1, output_bucket=BUCKET)
    assert plain["--output_uri"] == f"s3://{BUCKET}/processed/refunds_20250915/f2/"
    assert plain["--snapshot_uri"] == f"s3://{BUCKET}/snapshots/refunds_20250915/"


def test_the_database_is_named_after_the_project_stack_and_pipeline_as_glue_allows() -> None:
    assert database_name("landing-pipeline", "Dev.EU", "ingest") == "landing_pipeline_dev_eu_ingest"


def test_a_feed_whose_table_is_another_merging_feeds_snapshot_table_is_refused_naming_both() -> None:
    from landing_pipeline.runtime.feeds import feed_problems

    for feeds in ((ORDERS, Feed("orders_snapshot", "snap_*")), (Feed("orders_snapshot", "snap_*"), ORDERS)):
        messages = [p.message for p in feed_problems(feeds)]
        assert any("orders_snapshot" in m and ("'orders'" in m or "'orders_snapshot'" in m) for m in messages), \
            messages
