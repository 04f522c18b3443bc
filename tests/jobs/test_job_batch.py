"""A batch run of the real job on local Spark, fenced against a ledger in moto: files in order on one session,
each committed as it is done, the batch stopped at its first failing file, and the end settled per file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from landing_pipeline.runtime.decide import RunEnd, decide, run_ended
from landing_pipeline.runtime.group_state import FileStatus, OpenFile, Policy
from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.failures import IngestError
from landing_pipeline.runtime.ledger import Commit, Ledger, Lineage
from tests.jobs.helpers import read_parquet, write_text
from tests.runtime.conftest import create_ledger_table

GROUP = "orders"
POLICY = Policy(settle_s=0, batch_max_files=5)
NOW = 1_757_930_000.0


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger_table(client, "ledger")
        yield Ledger(client, "ledger", clock=lambda: NOW)


def lease_of(ledger: Ledger, inputs: list[Path]) -> tuple[str, tuple[str, ...]]:
    """Record the files, take the group's lease of all of them (one decision, one commit): (token, sort keys)."""
    for n, path in enumerate(inputs, 1):
        ledger.record_file(GROUP, OpenFile(f"f#{n:03d}", f"id{n}", NOW - 100, size=path.stat().st_size),
                           Lineage("landing", path.name, size=path.stat().st_size), wake_check_s=300)
    view = ledger.load_group(GROUP)
    d = decide(view.group, view.files, NOW, POLICY)
    assert d.lease is not None and len(d.lease.sort_keys) == len(inputs)
    assert ledger.commit(view.group, d, NOW, lineage=view.lineage) == Commit.OK
    return d.lease.token, d.lease.sort_keys


def batch_argv(root: Path, inputs: list[Path], token: str, keys: tuple[str, ...], run_id: str) -> list[str]:
    """The arguments ``runtime/job_args.run_arguments`` builds, on file:// paths: the head's, then the list."""
    entries = [{"file_id": f"id{n}", "sort_key": key, "input_uri": path.as_posix(), "source_key": path.name,
                "source_version": "", "attempt": "1", "output_uri": f"file://{root}/processed/id{n}/",
                "quarantine_uri": f"file://{root}/quarantine/id{n}/",
                "manifest_uri": f"file://{root}/manifests/id{n}.json"}
               for n, (path, key) in enumerate(zip(inputs, keys, strict=True), 1)]
    head = entries[0]
    return ["--JOB_NAME", "ingest-job", "--JOB_RUN_ID", run_id,
            "--input_uri", head["input_uri"], "--source_key", head["source_key"], "--source_version", "",
            "--group", GROUP, "--file_id", "id1", "--attempt", "1", "--output_uri", head["output_uri"],
            "--quarantine_uri", head["quarantine_uri"], "--manifest_uri", head["manifest_uri"],
            "--snapshot_uri", f"file://{root}/snapshots/{GROUP}/", "--merge_keys", "order_id",
            "--schema", json.dumps(["order_id:bigint", "amount:double"]),
            "--run_token", token, "--ledger_table", "ledger", "--sort_keys", json.dumps(list(keys)),
            "--batch", json.dumps(entries), "--run_manifest_uri", f"file://{root}/manifests/_runs/{token}.json"]


def test_a_batch_stops_at_its_failing_second_file_and_each_file_is_settled_on_its_own(
        spark: Any, tmp_path: Path, ledger: Ledger) -> None:
    inputs = [write_text(tmp_path / "in" / "orders_1.csv", "order_id,amount\n1,1.0\n2,2.0\n"),
              write_text(tmp_path / "in" / "orders_2.parquet", "this is not parquet"),
              write_text(tmp_path / "in" / "orders_3.csv", "order_id,amount\n1,9.0\n3,3.0\n")]
    root = tmp_path / "out"
    token, keys = lease_of(ledger, inputs)

    with pytest.raises(IngestError, match=r"orders_2\.parquet"):
        ingest_job.main(batch_argv(root, inputs, token, keys, "jr_batch"), spark=spark,
                        ledger_client=ledger.client)

    # the run manifest: the first file done, the second failed, the third never begun
    run = json.loads((root / "manifests" / "_runs" / f"{token}.json").read_text())
    assert [(f["file_id"], f["position"], f["status"]) for f in run["files"]] == [
        ("id1", 1, "SUCCEEDED"), ("id2", 2, "FAILED")]
    assert run["status"] == "FAILED" and run["failed_position"] == 2
    # the data: file 1 written and merged, nothing of file 3
    assert sorted(r["order_id"] for r in read_parquet(root / "processed" / "id1")) == [1, 2]
    assert not (root / "processed" / "id3").exists() and not (root / "manifests" / "id3.json").exists()
    # the ledger: file 1 committed by the job with its run and place; 2 and 3 still open
    first = ledger.get("id1")
    assert first is not None and first.status == "SUCCEEDED"
    assert (first.processed_by, first.batch_position) == ("jr_batch", "1/3")
    view = ledger.load_group(GROUP)
    assert [f.file_id for f in view.files] == ["id2", "id3"]

    # the completion handler's rule: the file it stopped on is charged, the one after waits with no attempt
    d = run_ended(view.group, view.files, RunEnd("jr_batch", token, "FAILED", "cannot read orders_2.parquet"),
                  NOW + 60, POLICY)
    assert ledger.commit(view.group, d, NOW + 60, lineage=view.lineage) == Commit.OK
    after = {f.file_id: f for f in ledger.load_group(GROUP).files}
    assert after["id2"].status == FileStatus.FAILED and after["id2"].attempts == 1
    assert after["id3"].status == FileStatus.RECEIVED and after["id3"].attempts == 0


def test_a_whole_batch_runs_in_order_on_one_session_and_merges_each_file_once(
        spark: Any, tmp_path: Path, ledger: Ledger) -> None:
    inputs = [write_text(tmp_path / "in" / f"orders_{n}.csv", f"order_id,amount\n1,{n}.0\n{n + 1},{n}.5\n")
              for n in (1, 2, 3)]
    root = tmp_path / "out"
    token, keys = lease_of(ledger, inputs)
    result = ingest_job.main(batch_argv(root, inputs, token, keys, "jr_all"), spark=spark,
                             ledger_client=ledger.client)
    assert result["status"] == "SUCCEEDED" and not result["fenced"]
    assert [f["file_id"] for f in result["files"]] == ["id1", "id2", "id3"]
    assert [r.batch_position for r in (ledger.get(f"id{n}") for n in (1, 2, 3)) if r] == ["1/3", "2/3", "3/3"]
    assert ledger.load_group(GROUP).files == []
    pointer = json.loads((root / "snapshots" / GROUP / "_current.json").read_text())
    assert pointer["version"] == 3 and pointer["file_id"] == "id3"   # one snapshot version per file, in order
    rows = {r["order_id"]: r["amount"] for r in read_parquet(Path(pointer["path"].removeprefix("file://")))}
    assert rows == {1: 3.0, 2: 1.5, 3: 2.5, 4: 3.5}   # key 1: the last file's row wins


def test_a_run_that_lost_its_lease_processes_nothing(spark: Any, tmp_path: Path, ledger: Ledger) -> None:
    inputs = [write_text(tmp_path / "in" / f"orders_{n}.csv", "order_id,amount\n1,1.0\n") for n in (1, 2)]
    root = tmp_path / "out"
    token, keys = lease_of(ledger, inputs)
    assert ledger.claim(GROUP, token, "jr_other")
    result = ingest_job.main(batch_argv(root, inputs, token, keys, "jr_late"), spark=spark,
                             ledger_client=ledger.client)
    assert result["fenced"] and not (root / "processed").exists()
    assert [f.file_id for f in ledger.load_group(GROUP).files] == ["id1", "id2"]
