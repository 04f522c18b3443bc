"""What the demo reads back from the output bucket: snapshots are named by their group, not their folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from landing_pipeline.emulator import outputs

BUCKET = "out"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _pointer(s3: Any, folder: str, **fields: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"snapshots/{folder}/_current.json",
                  Body=json.dumps({"version": 1, "rows": 0, "path": "", **fields}).encode())


def test_a_snapshot_is_named_by_the_group_its_pointer_records(s3: Any) -> None:
    # a group whose name is not a safe path component lands in a readable-prefix-plus-digest folder
    _pointer(s3, "sales-emea-3f2a9c1", group="sales/emea")
    assert [snap.group for snap in outputs.collect(s3, BUCKET).snapshots] == ["sales/emea"]


def test_a_pointer_without_its_group_falls_back_to_the_folder(s3: Any) -> None:
    _pointer(s3, "orders_20250915")  # written before pointers carried the group
    assert [snap.group for snap in outputs.collect(s3, BUCKET).snapshots] == ["orders_20250915"]
