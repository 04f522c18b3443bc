"""``emulator/batch_runs.py``: the files a StartJobRun asks for, as the job would read them: a one-file run, an
inline ``--batch`` and a batch list too long to pass inline (``--batch_uri``, read from moto's S3 without a
second request through the hooks)."""

from __future__ import annotations

import json

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.batch_runs import batch_entries, run_keys
from landing_pipeline.runtime.contract import BATCH_ARG, BATCH_URI_ARG, SOURCE_KEY_ARG

KEYS = ["landing/orders_1.csv", "landing/orders_2.csv", "landing/orders_3.csv"]
ENTRIES = [{"file_id": f"f{n}", "source_key": key} for n, key in enumerate(KEYS)]


def test_a_one_file_run_names_its_file_only() -> None:
    with InProcessAWS("eu-west-1") as aws:
        assert run_keys(aws, {SOURCE_KEY_ARG: KEYS[0]}) == [KEYS[0]]
        assert batch_entries(aws, {SOURCE_KEY_ARG: KEYS[0]}) == []


def test_an_inline_batch_names_every_file_once_head_first() -> None:
    arguments = {SOURCE_KEY_ARG: KEYS[0], BATCH_ARG: json.dumps(ENTRIES)}
    with InProcessAWS("eu-west-1") as aws:
        assert run_keys(aws, arguments) == KEYS
        assert batch_entries(aws, arguments) == ENTRIES


def test_a_batch_object_is_read_from_s3_without_a_request_through_the_hooks() -> None:
    with InProcessAWS("eu-west-1") as aws:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="out", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="out", Key="runs/orders/t.batch.json", Body=json.dumps({"files": ENTRIES}).encode())
        arguments = {SOURCE_KEY_ARG: KEYS[0], BATCH_URI_ARG: "s3://out/runs/orders/t.batch.json"}
        before = aws.requests
        assert run_keys(aws, arguments) == KEYS
        assert aws.requests == before
        assert batch_entries(aws, arguments) == ENTRIES
        gone = {SOURCE_KEY_ARG: KEYS[0], BATCH_URI_ARG: "s3://out/runs/orders/gone.batch.json"}
        assert run_keys(aws, gone) == [KEYS[0]]   # the job, not the fault, says the list is gone
