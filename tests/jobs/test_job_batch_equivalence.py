"""A batch run leaves the data exactly as running its files one by one would: the snapshot, and every file's
output and quarantine, read back with pyarrow. Also when the batch stops at a failing file: nothing of that
file or of the files after it reaches the snapshot, and a later run of the rest continues from the last file
that succeeded.

The batches here are unfenced (no ``--run_token``): fencing only touches the ledger (tests/jobs/test_job_batch.py
covers it), and the data path of a file is the same with or without it. Every run carries the same run id,
so the lineage column ``_run_id`` is compared too; only ``_ingested_at`` (the clock) is left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.failures import IngestError
from landing_pipeline.runtime.jobs.storage import JsonStore, StorageError
from tests.jobs.helpers import job_argv, read_parquet, write_text

SCHEMA = ("order_id:bigint", "amount:decimal(12,2)", "qty:int")
RUN_ID = "jr_same"
# Overlapping keys with new values, so the merge order shows; a repeated key within file 1 (its last row
# wins); one bad row in each file, so every quarantine holds something to compare.
CSV = {
    1: "order_id,amount,qty\n1,1.00,1\n2,2.00,2\n1,1.50,3\nx,9.99,1\n",
    2: "order_id,amount,qty\n2,20.00,2\n3,30.00,oops\n3,30.00,3\n",
    3: "order_id,amount,qty\n1,100.00,1\n4,400.00,4\n,5.00,5\n",
}
AFTER_1 = {1: Decimal("1.50"), 2: Decimal("2.00")}
AFTER_1_2_3 = {1: Decimal("100.00"), 2: Decimal("20.00"), 3: Decimal("30.00"), 4: Decimal("400.00")}
AFTER_1_3 = {1: Decimal("100.00"), 2: Decimal("2.00"), 4: Decimal("400.00")}


@dataclass(frozen=True)
class Snapshot:
    """The snapshot version the group's pointer names, as pyarrow reads it."""

    version: int
    file_id: str
    rows: list[tuple[Any, ...]]

    def amounts(self) -> dict[int, Decimal]:
        return {dict(row)["order_id"]: dict(row)["amount"] for row in self.rows}


def comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows without the clock column, as sorted tuples of (column, value): equal whatever the write order."""
    return sorted((tuple(sorted((k, v) for k, v in row.items() if k != "_ingested_at")) for row in rows), key=repr)


def data(root: Path, file_id: str, kind: str) -> list[tuple[Any, ...]]:
    folder = root / kind / file_id
    return comparable(read_parquet(folder)) if folder.exists() else []


def snapshot(root: Path) -> Snapshot:
    pointer = json.loads((root / "snapshots" / "orders" / "_current.json").read_text())
    folder = Path(str(pointer["path"]).removeprefix("file://"))
    return Snapshot(int(pointer["version"]), str(pointer["file_id"]), comparable(read_parquet(folder)))


def inputs(folder: Path) -> dict[int, Path]:
    return {n: write_text(folder / f"orders_{n}.csv", text) for n, text in CSV.items()}


def single(spark: Any, root: Path, path: Path, file_id: str) -> dict[str, Any]:
    argv = job_argv(path, root, file_id, schema=SCHEMA, merge_keys="order_id", run_id=RUN_ID)
    return ingest_job.main(argv, spark=spark)


def batch(spark: Any, root: Path, files: list[tuple[str, Path]], store: JsonStore | None = None) -> dict[str, Any]:
    """One run of ``files`` (file id, input) in order, with the arguments the dispatcher passes a batch."""
    entries = [{"file_id": file_id, "sort_key": f"f#{n:03d}", "input_uri": path.as_posix(), "source_key": path.name,
                "source_version": "v1", "attempt": "1", "output_uri": f"file://{root}/processed/{file_id}/",
                "quarantine_uri": f"file://{root}/quarantine/{file_id}/",
                "manifest_uri": f"file://{root}/manifests/{file_id}.json"}
               for n, (file_id, path) in enumerate(files, 1)]
    head_id, head_path = files[0]
    argv = [*job_argv(head_path, root, head_id, schema=SCHEMA, merge_keys="order_id", run_id=RUN_ID),
            "--batch", json.dumps(entries), "--run_manifest_uri", f"file://{root}/manifests/_runs/{RUN_ID}.json"]
    return ingest_job.main(argv, spark=spark, store=store)


@dataclass(frozen=True)
class OneByOne:
    """Single-file runs: 1, 2, 3 in one root (with the snapshot after 1 and after 3), and 1, 3 in another."""

    root_123: Path
    root_13: Path
    after_1: Snapshot
    after_1_2_3: Snapshot
    after_1_3: Snapshot


@pytest.fixture(scope="module")
def one_by_one(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> OneByOne:
    work = tmp_path_factory.mktemp("one_by_one")
    paths = inputs(work / "in")
    root_123, root_13 = work / "out_123", work / "out_13"
    single(spark, root_123, paths[1], "id1")
    after_1 = snapshot(root_123)
    single(spark, root_123, paths[2], "id2")
    single(spark, root_123, paths[3], "id3")
    single(spark, root_13, paths[1], "id1")
    single(spark, root_13, paths[3], "id3")
    result = OneByOne(root_123, root_13, after_1, snapshot(root_123), snapshot(root_13))
    # The references themselves, from the inputs above, so that equality below is not equality of two wrongs.
    assert (result.after_1.amounts(), result.after_1_2_3.amounts(), result.after_1_3.amounts()) == (
        AFTER_1, AFTER_1_2_3, AFTER_1_3)
    assert (result.after_1.version, result.after_1_2_3.version, result.after_1_3.version) == (1, 3, 2)
    return result


def test_a_batch_of_three_files_leaves_what_three_single_runs_leave(
        spark: Any, tmp_path: Path, one_by_one: OneByOne) -> None:
    paths = inputs(tmp_path / "in")
    root = tmp_path / "out"
    result = batch(spark, root, [(f"id{n}", paths[n]) for n in (1, 2, 3)])
    assert result["status"] == "SUCCEEDED"

    after = snapshot(root)
    assert after.amounts() == AFTER_1_2_3    # in file order: a batch merged 3, 2, 1 would keep 1.50 for key 1
    assert after == one_by_one.after_1_2_3   # same version, last file, and rows (lineage included)
    for n in (1, 2, 3):
        good, bad = data(root, f"id{n}", "processed"), data(root, f"id{n}", "quarantine")
        assert good == data(one_by_one.root_123, f"id{n}", "processed"), f"output of file {n}"
        assert bad == data(one_by_one.root_123, f"id{n}", "quarantine"), f"quarantine of file {n}"
        assert len(bad) == 1 and all(dict(row)["_source_key"] == f"orders_{n}.csv" for row in good + bad)


class PointerPutRefused(JsonStore):
    """A store whose write of the snapshot pointer for file id2 fails, as an S3 PUT may: file 2 has written
    its output and its snapshot version folder by then, but has not published it."""

    def write(self, uri: str, document: dict[str, Any]) -> None:
        if uri.endswith("/_current.json") and document.get("file_id") == "id2":
            raise StorageError(f"cannot write {uri}: PUT refused (the test's store)")
        super().write(uri, document)


@pytest.mark.parametrize("failure", ["unreadable", "publish_refused"])
def test_a_batch_stopped_at_a_failing_file_leaves_the_files_before_it_and_continues_from_them(
        spark: Any, tmp_path: Path, one_by_one: OneByOne, failure: str) -> None:
    paths = inputs(tmp_path / "in")
    root = tmp_path / "out"
    store: JsonStore | None = None
    if failure == "unreadable":
        second = write_text(tmp_path / "in" / "orders_2.parquet", "this is not parquet")
        expected: type[Exception] = IngestError
        message = r"orders_2\.parquet"
    else:
        second, store, expected, message = paths[2], PointerPutRefused(), StorageError, "PUT refused"

    with pytest.raises(expected, match=message):
        batch(spark, root, [("id1", paths[1]), ("id2", second), ("id3", paths[3])], store=store)

    stopped = snapshot(root)
    assert stopped.amounts() == AFTER_1
    assert stopped == one_by_one.after_1      # file 1 alone: nothing of file 2, nothing of file 3
    assert data(root, "id1", "processed") == data(one_by_one.root_13, "id1", "processed")
    assert data(root, "id1", "quarantine") == data(one_by_one.root_13, "id1", "quarantine")
    assert not (root / "manifests" / "id2.json").exists()     # file 2 is not complete
    assert not (root / "processed" / "id3").exists() and not (root / "quarantine" / "id3").exists()
    assert not (root / "manifests" / "id3.json").exists()     # file 3 never began
    if failure == "publish_refused":
        # File 2's rows were written to the next version folder: the pointer is what keeps them out.
        unpublished = comparable(read_parquet(root / "snapshots" / "orders" / "v000002"))
        assert {dict(row)["order_id"] for row in unpublished} == {1, 2, 3}

    later = batch(spark, root, [("id3", paths[3])])    # the rest of the group, in a later run
    assert later["status"] == "SUCCEEDED"
    resumed = snapshot(root)
    assert resumed.amounts() == AFTER_1_3      # key 2 from file 1, key 3 (file 2's) absent
    assert resumed == one_by_one.after_1_3
    assert data(root, "id3", "processed") == data(one_by_one.root_13, "id3", "processed")
    assert data(root, "id3", "quarantine") == data(one_by_one.root_13, "id3", "quarantine")
