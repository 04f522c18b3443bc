"""The built-in example on local Spark with the deployed job script: what the job wrote is right."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from landing_pipeline.emulator.workload import builtin
from tests.emulator.conftest import assert_nothing_lost, demo, explain

pytestmark = [pytest.mark.spark, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")]


def _snapshot(objects: dict[str, bytes], group: str) -> dict[str, tuple[str, float]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pointer = json.loads(objects[f"snapshots/orders/{group}/_current.json"])  # the orders feed writes under its table
    prefix = pointer["path"].split("/", 3)[3]  # s3://bucket/<prefix>
    parts = [pq.read_table(io.BytesIO(body)) for key, body in sorted(objects.items())
             if key.startswith(prefix) and key.endswith(".parquet")]
    rows = pa.concat_tables(parts).to_pylist()
    return {row["order_id"]: (row["customer_id"], round(row["amount"], 2)) for row in rows}


def test_merge_keys_snapshot_equals_the_sequential_reference() -> None:
    result = demo(engine="spark", speedup=10.0)
    assert_nothing_lost(result)
    assert result.report["summary"]["succeeded"] == 6, explain(result)
    bodies = {a.name: a.body for a in builtin()}
    group = "orders_20250915"
    files = sorted((f for f in result.report["files"] if f["group"] == group), key=lambda f: f["enqueue_seq"])
    reference: dict[str, tuple[str, float]] = {}
    for file in files:  # last row per key wins, files applied in enqueue order
        for row in csv.DictReader(io.StringIO(bodies[file["key"].rsplit("/", 1)[-1]].decode())):
            reference[row["order_id"]] = (row["customer_id"], round(float(row["amount"]), 2))
    assert _snapshot(result.s3_objects, group) == reference
    # The later file's update won: o-1001 was 120.50 in the first file and 130.50 in the last.
    assert reference["o-1001"] == ("c-01", 130.5)
    manifests = [json.loads(body) for key, body in result.s3_objects.items() if key.startswith("manifests/")]
    assert len(manifests) == 6
    malformed = next(m for m in manifests if m["group"] == "orders_20250916" and m.get("rows_quarantined"))
    assert malformed["rows_quarantined"] == 2
