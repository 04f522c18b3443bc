"""Running the job as the dispatcher starts it, and reading what it wrote.

Outputs are read back with pyarrow, not Spark, so the assertions do not depend on the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


@dataclass
class JobRun:
    """Where one run put things, and what it returned."""

    root: Path
    file_id: str
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> Path:
        return self.root / "processed" / self.file_id

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine" / self.file_id

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifests" / f"{self.file_id}.json"

    def good(self) -> list[dict[str, Any]]:
        return read_parquet(self.output)

    def bad(self) -> list[dict[str, Any]]:
        return read_parquet(self.quarantine)


def read_parquet(folder: Path) -> list[dict[str, Any]]:
    """Rows of a Spark output folder in file order (part files by name, rows as written)."""
    parts = sorted(folder.glob("part-*.parquet"))
    return [row for part in parts for row in pq.read_table(part).to_pylist()]


def job_argv(input_path: Path, root: Path, file_id: str, *, schema: Sequence[str] = (), merge_keys: str = "",
             group: str = "orders", attempt: int = 1, run_id: str = "jr_test", source_version: str = "v1",
             source_key: str | None = None) -> list[str]:
    """The arguments the dispatcher passes (docs/interfaces.md), on file:// paths, plus some of Glue's own."""
    return [
        "--JOB_NAME", "ingest-job", "--JOB_RUN_ID", run_id, "--job-bookmark-option", "job-bookmark-disable",
        "--enable-metrics", "true",
        "--input_uri", input_path.as_posix() if input_path.is_absolute() else str(input_path),
        "--source_key", source_key if source_key is not None else input_path.name,
        "--source_version", source_version, "--group", group, "--file_id", file_id, "--attempt", str(attempt),
        "--output_uri", f"file://{root}/processed/{file_id}/",
        "--quarantine_uri", f"file://{root}/quarantine/{file_id}/",
        "--manifest_uri", f"file://{root}/manifests/{file_id}.json",
        "--snapshot_uri", f"file://{root}/snapshots/{group}/",
        "--merge_keys", merge_keys,
        "--schema", json.dumps(list(schema)),
    ]


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
