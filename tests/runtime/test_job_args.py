"""The Glue job's arguments: the table in docs/interfaces.md, built in one place."""

from __future__ import annotations

from landing_pipeline.runtime.job_args import JobInput, job_arguments, output_uri, run_matches
from landing_pipeline.runtime.spec import PipelineSpec


def test_arguments_match_the_interface_table() -> None:
    spec = PipelineSpec(output_prefix="clean/", quarantine_prefix="bad/", merge_keys=("order_id", "line"),
                        schema=("order_id:string", "line:int", "amount:double"))
    file = JobInput(bucket="land", key="in/orders 2025+eu_101500.csv", version_id="v7", group="orders_2025",
                    file_id="abc123")

    args = job_arguments(spec, file, attempt=2, output_bucket="out")

    assert args == {
        "--input_uri": "s3://land/in/orders 2025+eu_101500.csv",
        "--source_key": "in/orders 2025+eu_101500.csv",
        "--source_version": "v7",
        "--group": "orders_2025",
        "--file_id": "abc123",
        "--attempt": "2",
        "--output_uri": "s3://out/clean/orders_2025/abc123/",
        "--quarantine_uri": "s3://out/bad/orders_2025/abc123/",
        "--manifest_uri": "s3://out/manifests/orders_2025/abc123.json",
        "--snapshot_uri": "s3://out/snapshots/orders_2025/",
        "--merge_keys": "order_id,line",
        "--schema": '["order_id:string", "line:int", "amount:double"]',
    }
    assert output_uri(spec, "out", "orders_2025", "abc123") == args["--output_uri"]
    assert all(isinstance(v, str) for v in args.values())  # Glue takes string arguments only


def test_defaults_for_an_unversioned_file_without_merge_keys_or_schema() -> None:
    args = job_arguments(PipelineSpec(), JobInput("b", "k.csv", None, "g", "f"), attempt=1, output_bucket="o")
    assert args["--source_version"] == "" and args["--merge_keys"] == "" and args["--schema"] == "[]"
    assert args["--output_uri"] == "s3://o/processed/g/f/"


def test_a_run_is_matched_by_file_id_and_attempt() -> None:
    args = job_arguments(PipelineSpec(), JobInput("b", "k.csv", None, "g", "f1"), attempt=3, output_bucket="o")
    assert run_matches(args, "f1", 3)
    assert not run_matches(args, "f1", 2) and not run_matches(args, "f2", 3)
    assert not run_matches(None, "f1", 3) and not run_matches({"--input_uri": "s3://x"}, "f1", 3)
