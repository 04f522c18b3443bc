"""Every legal S3 key processes: glob characters, backslashes, spaces and unicode in the key, with the folders
the dispatcher really builds (runtime/job_args.py); and only an input that is really gone is called deleted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from landing_pipeline.runtime.contract import INPUT_DELETED
from landing_pipeline.runtime.decide import missing_object
from landing_pipeline.runtime.grouping import group_for_key
from landing_pipeline.runtime.job_args import JobInput, job_arguments
from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.storage import JsonStore
from landing_pipeline.runtime.paths import is_plain, path_component
from landing_pipeline.runtime.spec import PipelineSpec
from tests.jobs.helpers import read_parquet, write_text

AWKWARD_KEYS = ["orders?_1.csv", "orders[1].csv", "orders{a,b}.csv", "weird\\key.csv", "space and ü.csv"]
SPEC = PipelineSpec(merge_keys=("id",), schema=("id:int", "name:string"))
FIRST = "id,name\n1,a\n2,b\nx,c\n"  # two good rows and one rejected: output, quarantine and snapshot are all used
SECOND = "id,name\n2,bb\n3,c\n"


def _argv(root: Path, key: str, file_id: str) -> tuple[list[str], dict[str, str]]:
    """The dispatcher's arguments for ``key`` with ``s3://`` mapped onto ``root`` (bucket = first folder)."""
    file = JobInput(bucket="landing", key=key, version_id="v1", group=group_for_key(key, SPEC), file_id=file_id)
    arguments = job_arguments(SPEC, file, attempt=1, output_bucket="out")
    local = {name: value.replace("s3://", f"file://{root}/", 1) for name, value in arguments.items()}
    argv = ["--JOB_RUN_ID", f"jr_{file_id}"]
    for name, value in local.items():
        argv += [name, value]
    return argv, local


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


@pytest.mark.spark
def test_keys_with_glob_characters_backslashes_spaces_and_unicode_process_in_full(spark: Any, tmp_path: Path) -> None:
    for key in AWKWARD_KEYS:
        write_text(tmp_path / "landing" / key, FIRST)
        argv, paths = _argv(tmp_path, key, "f1")
        manifest = ingest_job.main(argv, spark=spark)
        assert (manifest["rows_out"], manifest["rows_quarantined"]) == (2, 1), key
        good = read_parquet(_local(paths["--output_uri"]))
        assert [(row["id"], row["_source_key"]) for row in good] == [(1, key), (2, key)], key
        assert [row["id"] for row in read_parquet(_local(paths["--quarantine_uri"]))] == ["x"], key

        write_text(tmp_path / "landing" / key, SECOND)  # the next version of the key merges into the snapshot
        argv, paths = _argv(tmp_path, key, "f2")
        manifest = ingest_job.main(argv, spark=spark)
        assert manifest["snapshot"]["version"] == 2 and manifest["snapshot"]["rows"] == 3, key
        snapshot = read_parquet(_local(manifest["snapshot"]["path"]))
        assert sorted((row["id"], row["name"]) for row in snapshot) == [(1, "a"), (2, "bb"), (3, "c")], key
    written = [path.relative_to(tmp_path / "out").as_posix() for path in (tmp_path / "out").rglob("*")]
    assert written and not [path for path in written if "\\" in path]  # no escaped folder anywhere
    for group in {group_for_key(key, SPEC) for key in AWKWARD_KEYS}:
        assert (tmp_path / "out" / "processed" / path_component(group) / "f1").is_dir()


def test_group_folders_are_plain_or_a_readable_part_and_a_hash() -> None:
    assert path_component("orders_20250915") == "orders_20250915"  # existing layouts stay where they were
    assert path_component("landing/eu/orders") == "landing/eu/orders"  # ordering scope 'folder' still nests
    for group in ["orders?_1", "orders[1]", "orders{a,b}", "weird\\key", "a:b", "50%off", "..", "_hidden", "x" * 200]:
        folder = path_component(group)
        assert is_plain(folder) and not set(folder) & set("?*[]{}\\:%#"), group
        assert len(folder) <= 100
    assert path_component("orders?_1").startswith("orders__1~")
    assert path_component("orders?1") != path_component("orders*1")  # the hash keeps look-alikes apart


@pytest.mark.spark
def test_an_input_deleted_before_its_run_is_reported_deleted(spark: Any, tmp_path: Path) -> None:
    argv, _ = _argv(tmp_path, "orders?_9.csv", "f1")  # never written: gone before the run
    with pytest.raises(ingest_job.IngestError) as caught:
        ingest_job.main(argv, spark=spark)
    assert str(caught.value).startswith(f"{INPUT_DELETED} file://{tmp_path}/landing/orders?_9.csv was deleted")
    assert missing_object(f"IngestError: {caught.value}")


@pytest.mark.spark
def test_a_missing_snapshot_version_is_not_taken_for_a_deleted_input(spark: Any, tmp_path: Path) -> None:
    key = "orders_7.csv"
    write_text(tmp_path / "landing" / key, FIRST)
    argv, _ = _argv(tmp_path, key, "f1")
    first = ingest_job.main(argv, spark=spark)
    shutil.rmtree(_local(first["snapshot"]["path"]))  # the version the pointer names is gone; the file is not
    argv, _ = _argv(tmp_path, key, "f2")
    with pytest.raises(ingest_job.IngestError, match=r"version 1 of the snapshot, .* is missing") as caught:
        ingest_job.main(argv, spark=spark)
    assert not missing_object(f"IngestError: {caught.value}")  # retried as what it is, not DEAD as "deleted"
    assert INPUT_DELETED not in str(caught.value)


def test_on_s3_the_job_asks_head_object_before_calling_an_input_deleted() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="landing")
        s3.put_bucket_versioning(Bucket="landing", VersioningConfiguration={"Status": "Enabled"})
        version = s3.put_object(Bucket="landing", Key="in/orders?[1].csv", Body=b"id\n1\n")["VersionId"]
        store = JsonStore(s3_client=s3)
        uri = "s3://landing/in/orders?[1].csv"
        assert store.input_gone(uri, version) is None and store.version_problem(uri, version) is None
        s3.delete_object(Bucket="landing", Key="in/orders?[1].csv")  # a delete marker: unreadable by path
        for message in (store.input_gone(uri, version), store.version_problem(uri, version)):
            assert message is not None and message.startswith(f"{INPUT_DELETED} {uri} was deleted before")
            assert missing_object(f"IngestError: {message}")
