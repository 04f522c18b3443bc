"""Merging files into the group's snapshot: in order it equals a plain-Python reference, out of order it
does not (which is why the pipeline holds a group's files one at a time), and the pointer moves last."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.storage import JsonStore
from tests.jobs.helpers import job_argv, read_parquet, write_text

pytestmark = pytest.mark.spark

SCHEMA = ["id:int", "name:string", "amount:decimal(8,2)"]
FILES = {
    # file order matters inside a file too: id 2 appears twice, the later row wins
    "f1": "id,name,amount\n1,ann,1.00\n2,bob,2.00\n3,cy,3.00\n2,bob-late,2.50\n",
    # a row without its key and a row with a bad amount are quarantined and must not touch the snapshot
    "f2": "id,name,amount\n2,bob-v2,20.00\n4,dee,4.00\n,nokey,9.99\n1,ann-bad,abc\n",
    "f3": "id,name,amount\n1,ann-v3,100.00\n4,dee-v3,40.00\n5,eve,5.00\n",
}


def reference(order: list[str]) -> dict[int, tuple[str, Decimal]]:
    """The snapshot computed without Spark: rows in file order, files in the given order, last row per key
    wins; rows the job would reject (no key, amount not a number) are skipped."""
    state: dict[int, tuple[str, Decimal]] = {}
    for file_id in order:
        for row in csv.DictReader(io.StringIO(FILES[file_id])):
            if not row["id"]:
                continue
            try:
                amount = Decimal(row["amount"])
            except ArithmeticError:
                continue
            state[int(row["id"])] = (row["name"], amount)
    return state


def apply_in_order(spark: Any, root: Path, order: list[str], **options: Any) -> list[dict[str, Any]]:
    manifests = []
    for file_id in order:
        source = write_text(root / "in" / f"orders_{file_id}.csv", FILES[file_id])
        argv = job_argv(source, root / "out", file_id, schema=SCHEMA, merge_keys="id", run_id=f"jr_{file_id}",
                        **options)
        manifests.append(ingest_job.main(argv, spark=spark))
    return manifests


def current_snapshot(root: Path) -> tuple[dict[str, Any], dict[int, tuple[str, Decimal]], list[dict[str, Any]]]:
    snapshots = root / "out" / "snapshots" / "orders"
    pointer = json.loads((snapshots / "_current.json").read_text())
    rows = read_parquet(Path(pointer["path"].removeprefix("file://")))
    return pointer, {row["id"]: (row["name"], row["amount"]) for row in rows}, rows


def test_files_applied_in_order_equal_the_reference(spark: Any, tmp_path: Path) -> None:
    manifests = apply_in_order(spark, tmp_path, ["f1", "f2", "f3"])
    pointer, state, rows = current_snapshot(tmp_path)
    assert state == reference(["f1", "f2", "f3"])
    assert len(rows) == len(state)  # one row per key
    assert pointer["version"] == 3 and pointer["file_id"] == "f3" and pointer["base_version"] == 2
    assert sorted(p.name for p in (tmp_path / "out" / "snapshots" / "orders").iterdir()) == [
        "_current.json", "v000001", "v000002", "v000003"]
    assert [m["snapshot"]["version"] for m in manifests] == [1, 2, 3]
    assert [m["snapshot"]["rows"] for m in manifests] == [3, 4, 5]
    assert manifests[1]["rows_quarantined"] == 2
    by_id = {row["id"]: row for row in rows}
    assert by_id[2]["_run_id"] == "jr_f2" and by_id[5]["_run_id"] == "jr_f3"  # lineage of the last writer


def test_files_applied_out_of_order_differ_from_the_reference(spark: Any, tmp_path: Path) -> None:
    """f2 and f3 both set id 4. Applied f1, f3, f2 (as an overlapping or reordered run would), f2's older
    row overwrites f3's newer one: the snapshot now says something no sequence of uploads said last."""
    apply_in_order(spark, tmp_path, ["f1", "f3", "f2"])
    _, state, _ = current_snapshot(tmp_path)
    expected = reference(["f1", "f2", "f3"])
    assert state != expected
    assert expected[4] == ("dee-v3", Decimal("40.00"))
    assert state[4] == ("dee", Decimal("4.00"))
    assert state[2] == ("bob-v2", Decimal("20.00")) and expected[2] == state[2]  # keys only one file sets agree


def test_a_rerun_of_the_file_that_made_the_current_version_is_not_applied_twice(spark: Any, tmp_path: Path) -> None:
    apply_in_order(spark, tmp_path, ["f1", "f2"])
    (rerun,) = apply_in_order(spark, tmp_path, ["f2"], attempt=2)  # its run was reported failed: retried
    pointer, state, rows = current_snapshot(tmp_path)
    assert state == reference(["f1", "f2"]) and len(rows) == len(state)
    assert pointer["version"] == 3 and pointer["base_version"] == 1 and rerun["snapshot"]["base_version"] == 1
    assert pointer["attempt"] == 2


def test_the_last_row_per_key_wins_even_when_spark_splits_the_file(spark: Any, tmp_path: Path) -> None:
    lines = ["id,name,amount"] + [f"{n % 7},row{n},{n}.00" for n in range(600)]
    source = write_text(tmp_path / "in" / "orders_big.csv", "\n".join(lines) + "\n")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    try:
        assert spark.read.csv(str(source)).rdd.getNumPartitions() > 3
        ingest_job.main(job_argv(source, tmp_path / "out", "f-big", schema=SCHEMA, merge_keys="id"), spark=spark)
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    _, state, _ = current_snapshot(tmp_path)
    assert state == {key: (f"row{n}", Decimal(f"{n}.00")) for n in range(600) for key in [n % 7]}


class RacingStore(JsonStore):
    """Plays a second run of the same group that moves the pointer while this run is merging."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def read(self, uri: str) -> dict[str, Any] | None:
        document = super().read(uri)
        if uri.endswith("_current.json") and not self.raced:
            self.raced = True
            super().write(uri, {**(document or {}), "version": 7, "file_id": "someone-else"})
        return document


def test_a_pointer_moved_by_an_overlapping_run_fails_the_run_loudly(spark: Any, tmp_path: Path) -> None:
    apply_in_order(spark, tmp_path, ["f1"])
    source = write_text(tmp_path / "in" / "orders_f2.csv", FILES["f2"])
    argv = job_argv(source, tmp_path / "out", "f2", schema=SCHEMA, merge_keys="id")
    with pytest.raises(ingest_job.IngestError, match="another run of the same group ran at the same time"):
        ingest_job.main(argv, spark=spark, store=RacingStore())
    assert not (tmp_path / "out" / "manifests" / "f2.json").exists()
