"""A feed's ``format`` reaches the job as ``--format``: files are read that way whatever their suffix says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.arguments import parse_args
from landing_pipeline.runtime.jobs.schema import JobArgumentError
from tests.jobs.helpers import JobRun, job_argv, write_text


def test_format_is_auto_by_default_and_a_bad_format_is_refused_naming_the_argument(tmp_path: Path) -> None:
    argv = job_argv(tmp_path / "in.csv", tmp_path, "f1")
    assert parse_args(argv).format == "auto"
    assert parse_args([*argv, "--format", "JSONL"]).format == "jsonl"
    with pytest.raises(JobArgumentError, match="--format: 'xml'"):
        parse_args([*argv, "--format", "xml"])


def test_a_feeds_format_reads_a_file_whose_suffix_says_nothing(spark: Any, tmp_path: Path) -> None:
    source = write_text(tmp_path / "in" / "orders_20250915_101500.txt", "order_id,amount\n1,2.5\n2,3.0\n")
    argv = job_argv(source, tmp_path / "out", "f1", schema=["order_id:bigint", "amount:double"])
    with pytest.raises(JobArgumentError, match="cannot tell the format"):   # auto: the suffix decides
        ingest_job.main(argv, spark=spark)
    ingest_job.main([*argv, "--format", "csv"], spark=spark)
    rows = JobRun(tmp_path / "out", "f1").good()
    assert [(row["order_id"], row["amount"]) for row in rows] == [(1, 2.5), (2, 3.0)]
