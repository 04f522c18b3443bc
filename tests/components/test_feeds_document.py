"""Feeds too long for the functions' environment go to an S3 document every function may read, and only that."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from landing_pipeline.runtime.context import RuntimeContext
from landing_pipeline.runtime.contract import FEEDS_ENV_MAX_BYTES, FEEDS_URI_ENV
from landing_pipeline.runtime.feeds import feeds_from_json
from tests.components.conftest import as_list, plan, statements

MANY = [{"name": f"feed_{n:03d}", "match": f"feed{n:03d}_*",
         "schema": ["id:string", "amount:double", "updated_at:timestamp"], "mergeKeys": ["id"]} for n in range(60)]


def test_sixty_feeds_reach_every_function_through_one_document_in_the_output_bucket() -> None:
    run = plan("dev", feeds=MANY)
    (document,) = [r for r in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if r.name.endswith("-feeds")]
    text = document.inputs["content"]
    assert len(text.encode()) > FEEDS_ENV_MAX_BYTES
    assert [f.name for f in feeds_from_json(text)] == [m["name"] for m in MANY]
    output = run.exports["output_bucket_name"]
    key = document.inputs["key"]
    assert key.startswith("config/feeds-") and document.inputs["bucket"] == output
    for function in run.of_type("aws:lambda/function:Function"):
        env = function.inputs["environment"]["variables"]
        assert "LANDING_FEEDS" not in env and env[FEEDS_URI_ENV] == f"s3://{output}/{key}"
        total = sum(len(k) + len(str(v)) for k, v in env.items())
        assert total < 4096, f"{function.name}: {total} bytes of environment (Lambda allows 4 KB)"
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        if "-functions-" not in policy.name or "scheduler" in policy.name:
            continue
        reads = [st for st in statements(policy) if st.get("Sid") == "ReadFeeds"]
        assert len(reads) == 1 and as_list(reads[0]["Resource"]) == [f"arn:aws:s3:::{output}/{key}"], policy.name


def test_a_short_list_stays_in_the_environment_with_no_document() -> None:
    run = plan("dev")
    assert not [r for r in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if r.name.endswith("-feeds")]
    for function in run.of_type("aws:lambda/function:Function"):
        assert "LANDING_FEEDS" in function.inputs["environment"]["variables"]


def test_a_function_reads_the_document_once_at_cold_start() -> None:
    run = plan("dev", feeds=MANY)
    (function, *_) = run.of_type("aws:lambda/function:Function")
    env = {k: str(v) for k, v in function.inputs["environment"]["variables"].items()}
    (document,) = [r for r in run.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if r.name.endswith("-feeds")]
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        bucket = run.exports["output_bucket_name"]
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket=bucket, Key=document.inputs["key"], Body=document.inputs["content"].encode())
        ctx = RuntimeContext.from_env(env, clients={"s3": s3})
        assert len(ctx.spec.feeds) == 60 and ctx.spec.feeds[59].merge_keys == ("id",)
        s3.delete_object(Bucket=bucket, Key=document.inputs["key"])
        try:
            RuntimeContext.from_env(env, clients={"s3": s3})
        except Exception as exc:
            assert FEEDS_URI_ENV in str(exc) and "pulumi up" in str(exc)
        else:
            raise AssertionError("a missing feeds document must fail the cold start")
    json.loads(document.inputs["content"])
