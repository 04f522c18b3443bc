"""The feeds' catalog tables, read back through the catalog after a demo on local Spark: what Athena would see."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import pytest

from tests.emulator.conftest import assert_nothing_lost, demo, explain

pytestmark = [pytest.mark.spark, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")]


def test_each_feeds_tables_hold_exactly_what_its_runs_wrote_with_the_catalogs_schema() -> None:
    result = demo(engine="spark", speedup=10.0)
    assert_nothing_lost(result)
    tables = {t["table"]: t for t in result.report["tables"]}
    # dev has two feeds, both merging: a table over the processed rows and one over the snapshot each
    assert set(tables) == {"orders", "orders_snapshot", "customers", "customers_snapshot"}, explain(result)
    manifests = [json.loads(body) for key, body in result.s3_objects.items() if key.startswith("manifests/")]
    rows_out: dict[str, int] = defaultdict(int)
    groups: dict[str, set[str]] = defaultdict(set)
    for manifest in manifests:   # the job's own record of each file's rows
        rows_out[manifest["feed"]] += manifest["rows_out"]
        groups[manifest["feed"]].add(manifest["group"])
    for feed in ("orders", "customers"):
        processed, snapshot = tables[feed], tables[f"{feed}_snapshot"]
        assert processed["rows"] == rows_out[feed] > 0, processed
        assert {p["value"] for p in processed["partitions"]} == groups[feed]
        for table in (processed, snapshot):
            assert table["missing"] == table["unlisted"] == table["mistyped"] == [], table
        # each group's snapshot partition is the version its pointer names, with the rows that version has
        for partition in snapshot["partitions"]:
            pointer = json.loads(result.s3_objects[f"snapshots/{feed}/{partition['value']}/_current.json"])
            assert partition["location"].rstrip("/") == pointer["path"].rstrip("/")
            assert partition["rows"] == pointer["rows"]
        assert {p["value"] for p in snapshot["partitions"]} == groups[feed]
    # and the demo names each file's table
    assert {f["key"].rsplit("/", 1)[-1].split("_")[0]: f["table"] for f in result.report["files"]} == {
        "orders": "orders", "customers": "customers"}

