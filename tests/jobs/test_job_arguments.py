"""The job's arguments, schema, formats and JSON storage: everything decided before Spark reads a byte."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from landing_pipeline.runtime.jobs.arguments import parse_args
from landing_pipeline.runtime.jobs.readers import UnsupportedFormat, detect_format
from landing_pipeline.runtime.jobs.schema import Column, JobArgumentError, parse_merge_keys, parse_schema
from landing_pipeline.runtime.jobs.snapshot import pointer_uri, version_folder
from landing_pipeline.runtime.jobs.storage import JsonStore, StorageError, local_input
from tests.jobs.helpers import job_argv


def _argv(**changes: str) -> list[str]:
    argv = job_argv(Path("/data/in/orders_1.csv"), Path("/out"), "f1", schema=["id:bigint"], merge_keys="id")
    for name, value in changes.items():
        argv[argv.index(f"--{name}") + 1] = value
    return argv


def test_the_dispatchers_arguments_parse_with_glues_own_mixed_in() -> None:
    args = parse_args(_argv())
    assert args.input_uri == "/data/in/orders_1.csv"
    assert args.output_uri == "file:///out/processed/f1/"
    assert args.run_id == "jr_test" and args.job_name == "ingest-job"
    assert args.attempt == 1 and args.group == "orders" and args.file_id == "f1"
    assert args.schema == (Column("id", "bigint"),) and args.merge_keys == ("id",)


def test_unknown_arguments_and_values_starting_with_a_dash_are_fine() -> None:
    argv = [*_argv(source_key="-odd name.csv"), "--TempDir", "s3://tmp/", "--extra-thing", "x"]
    args = parse_args(argv)
    assert args.source_key == "-odd name.csv"


def test_an_empty_merge_keys_value_means_no_merge() -> None:
    args = parse_args(_argv(merge_keys="", schema="[]"))
    assert args.merge_keys == () and args.schema == ()


def test_missing_required_arguments_are_all_named_at_once() -> None:
    with pytest.raises(JobArgumentError) as caught:
        parse_args(["--input_uri", "file:///x.csv", "--JOB_RUN_ID", "jr_1"])
    message = str(caught.value)
    assert "--output_uri" in message and "--quarantine_uri" in message and "--manifest_uri" in message
    assert "--input_uri" not in message


def test_outside_glue_a_run_id_is_made_up_when_none_is_given() -> None:
    argv = _argv()
    del argv[argv.index("--JOB_RUN_ID"):argv.index("--JOB_RUN_ID") + 2]
    assert parse_args(argv).run_id.startswith("local_")


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"attempt": "two"}, "--attempt"),
    ({"attempt": "0"}, "--attempt"),
    ({"snapshot_uri": ""}, "--snapshot_uri is empty"),
    ({"merge_keys": "customer"}, "not in --schema"),
    ({"schema": "id:bigint"}, "not JSON"),
])
def test_bad_arguments_name_the_argument_and_the_fix(changes: dict[str, str], fragment: str) -> None:
    with pytest.raises(JobArgumentError, match=fragment):
        parse_args(_argv(**changes))


def test_on_glue_the_required_arguments_go_through_get_resolved_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Glue's resolver refuses the reserved JOB_RUN_ID as an option and requires every option it is given."""
    requested: list[list[str]] = []

    def get_resolved_options(args: list[str], options: list[str]) -> dict[str, Any]:
        requested.append(options)
        if "JOB_RUN_ID" in options or "JOB_NAME" in options:
            raise RuntimeError("Using reserved arguments --JOB_RUN_ID")
        values = dict(zip(args[1::2], args[2::2], strict=False))
        missing = [option for option in options if f"--{option}" not in values]
        if missing:
            raise SystemExit(f"the following arguments are required: {missing}")
        return {option: values[f"--{option}"] for option in options} | {"JOB_RUN_ID": values["--JOB_RUN_ID"]}

    awsglue = types.ModuleType("awsglue")
    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsglue", awsglue)
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    args = parse_args(_argv(merge_keys="", schema="[]"))
    assert requested == [["input_uri", "output_uri", "quarantine_uri", "manifest_uri"]]
    assert args.run_id == "jr_test" and args.merge_keys == ()


# -- schema ---------------------------------------------------------------------------------------------

def test_every_schema_type_parses() -> None:
    text = json.dumps(["a:string", "b:int", "c:bigint", "d:double", "e:float", "f:boolean", "g:date",
                       "h:timestamp", "i:decimal(12,2)", "j: Decimal( 38 , 0 )"])
    columns = parse_schema(text)
    assert [column.sql_type for column in columns] == [
        "string", "int", "bigint", "double", "float", "boolean", "date", "timestamp", "decimal(12,2)",
        "decimal(38,0)"]


@pytest.mark.parametrize(("schema", "fragment"), [
    (["id"], "not 'name:type'"),
    (["id:uuid"], "unknown type 'uuid'"),
    (["x:decimal(40,2)"], "precision must be 1..38"),
    (["x:decimal(4,6)"], "scale at most the precision"),
    (["_reason:string"], "reserved"),
    (["id:int", "ID:bigint"], "declared twice"),
    (["1st:int"], "not 'name:type'"),
])
def test_schema_mistakes_are_refused_before_spark_starts(schema: list[str], fragment: str) -> None:
    with pytest.raises(JobArgumentError, match=fragment):
        parse_schema(json.dumps(schema))


def test_schema_must_be_a_json_list_of_strings() -> None:
    with pytest.raises(JobArgumentError, match="JSON list"):
        parse_schema('{"id": "int"}')
    assert parse_schema("") == () and parse_schema("[]") == ()


def test_merge_keys_take_the_declared_spelling() -> None:
    schema = parse_schema('["OrderId:bigint", "line:int"]')
    assert parse_merge_keys(" orderid , LINE ", schema) == ("OrderId", "line")
    assert parse_merge_keys("a,b", ()) == ("a", "b")
    with pytest.raises(JobArgumentError, match="listed twice"):
        parse_merge_keys("line,Line", schema)


# -- formats and paths ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "fmt"), [
    ("orders_1.csv", "csv"), ("ORDERS_1.CSV", "csv"), ("a.csv.gz", "csv"),
    ("a.json", "json"), ("a.jsonl", "json"), ("a.ndjson", "json"), ("a.json.gz", "json"), ("a.jsonl.gz", "json"),
    ("a.parquet", "parquet"), ("part-0.snappy.parquet", "parquet"),
])
def test_the_format_comes_from_the_extension(name: str, fmt: str) -> None:
    assert detect_format(f"s3://bucket/in/{name}") == fmt


def test_an_unsupported_extension_is_a_clear_failure_and_the_key_is_the_fallback() -> None:
    with pytest.raises(UnsupportedFormat, match=r"orders\.xlsx.*supported: \.csv"):
        detect_format("s3://bucket/orders.xlsx", "orders.xlsx")
    assert detect_format("file:///tmp/staged-object", "orders_1.csv") == "csv"


def test_snapshot_layout() -> None:
    assert version_folder("s3://out/snapshots/orders/", 2) == "s3://out/snapshots/orders/v000002/"
    assert pointer_uri("s3://out/snapshots/orders") == "s3://out/snapshots/orders/_current.json"


# -- JSON storage -------------------------------------------------------------------------------------------

def test_local_json_round_trip_replaces_in_one_step(tmp_path: Path) -> None:
    store = JsonStore()
    uri = f"file://{tmp_path}/deep/er/_current.json"
    assert store.read(uri) is None
    store.write(uri, {"version": 1})
    store.write(uri, {"version": 2})
    assert store.read(uri) == {"version": 2}
    assert [p.name for p in (tmp_path / "deep" / "er").iterdir()] == ["_current.json"]  # no temp files left


def test_a_corrupt_local_document_names_the_uri(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(StorageError, match=r"m\.json"):
        JsonStore().read(str(tmp_path / "m.json"))


def test_s3_json_round_trip_through_boto3() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="out")
        store = JsonStore(s3_client=s3)
        uri = "s3://out/snapshots/orders/_current.json"
        assert store.read(uri) is None
        store.write(uri, {"version": 3, "path": "s3://out/snapshots/orders/v000003/"})
        assert store.read(uri) == {"version": 3, "path": "s3://out/snapshots/orders/v000003/"}
        assert s3.head_object(Bucket="out", Key="snapshots/orders/_current.json")["ContentType"] == "application/json"


def test_a_percent_encoded_local_input_still_finds_its_file(tmp_path: Path) -> None:
    path = tmp_path / "a b+ü.csv"
    path.write_text("id\n1\n")
    assert local_input(path.as_uri()) == f"file://{path}"
    assert local_input(f"file://{path}") == f"file://{path}"
    assert local_input("s3://b/a%20b.csv") == "s3://b/a%20b.csv"


def test_the_landed_version_is_checked_because_spark_reads_only_the_current_one() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="landing")
        s3.put_bucket_versioning(Bucket="landing", VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket="landing", Key="in/orders 1.csv", Body=b"id\n1\n")["VersionId"]
        store = JsonStore(s3_client=s3)
        uri = "s3://landing/in/orders 1.csv"
        assert store.version_problem(uri, first) is None
        assert store.version_problem(uri, "") is None and store.version_problem(uri, "null") is None
        second = s3.put_object(Bucket="landing", Key="in/orders 1.csv", Body=b"id\n2\n")["VersionId"]
        problem = store.version_problem(uri, first)
        assert problem is not None and f"now holds version {second}, not {first}" in problem
        s3.delete_object(Bucket="landing", Key="in/orders 1.csv")
        problem = store.version_problem(uri, first)
        assert problem is not None and "was deleted before this run could read" in problem
        assert store.version_problem("file:///tmp/x.csv", first) is None  # a staged local copy is that version
