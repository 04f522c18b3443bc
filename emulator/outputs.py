"""What the demo's runs did to the data: per-file row counts and locations, each group's snapshot, ``--keep``.

A table of statuses says the pipeline ran; a user also wants to see the rows. The job's manifest (written
last by every successful run, see docs/job.md) has the counts and where the rows went; the group's
snapshot pointer names the version its merge published. Both are read from emulated S3 before the
emulator stops, and ``--keep DIR`` copies the output bucket out of it, since moto's buckets vanish with the
process.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNAPSHOT_SAMPLE_ROWS = 5
"""Rows shown per group snapshot (the table of the latest row per merge key can be long)."""


@dataclass
class SnapshotView:
    """A group's current snapshot: its version, row count, merge keys and a few rows in key order."""

    group: str
    version: int | None
    rows: int
    merge_keys: list[str]
    path: str
    columns: list[str] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DataView:
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """file id -> the manifest of its successful run."""
    snapshots: list[SnapshotView] = field(default_factory=list)
    tables: list[Any] = field(default_factory=list)
    """The feeds' catalog tables read back through the catalog (``emulator/catalog_view.TableView``)."""
    kept: Path | None = None
    """Where ``--keep`` copied the output bucket (``s3://<output bucket>/KEY`` -> ``kept/KEY``)."""
    kept_files: int = 0


def collect(s3: Any, bucket: str, *, glue: Any = None, database: str = "") -> DataView:
    """Read every manifest and every group's snapshot pointer (and the version it names) from ``bucket``, and
    with a ``database`` its tables through the catalog."""
    view = DataView()
    if glue is not None and database:
        from landing_pipeline.emulator.catalog_view import read_tables

        view.tables = read_tables(glue, s3, database)
    keys = _keys(s3, bucket)
    for key in keys:
        if key.startswith("manifests/") and key.endswith(".json"):
            manifest = _json(s3, bucket, key)
            if manifest and manifest.get("file_id"):
                view.manifests[str(manifest["file_id"])] = manifest
    for key in keys:
        if key.startswith("snapshots/") and key.endswith("/_current.json"):
            pointer = _json(s3, bucket, key) or {}
            # the folder is the group's path component (readable prefix + digest for awkward names): the
            # pointer's own provenance names the group itself
            group = str(pointer.get("group") or key.split("/")[1])
            view.snapshots.append(_snapshot(s3, bucket, keys, group, pointer))
    view.snapshots.sort(key=lambda snap: snap.group)
    return view


def attach(report: dict[str, Any], data: DataView) -> None:
    """Put each file's rows in / out / quarantined and its output locations (from its manifest) in the report."""
    for file in report["files"]:
        manifest = data.manifests.get(file.get("file_id") or "")
        if manifest is None:
            file["rows"] = None
            continue
        quarantined = int(manifest.get("rows_quarantined") or 0)
        file["rows"] = {"in": manifest.get("rows_in"), "out": manifest.get("rows_out"), "quarantined": quarantined}
        file["output_uri"] = manifest.get("output_uri")
        file["quarantine_uri"] = manifest.get("quarantine_uri") if quarantined else None
        file["manifest_uri"] = manifest.get("manifest_uri")
        file["quarantine_sample"] = list(manifest.get("quarantine_sample") or [])
    table_of = {t.location: t.name for t in data.tables}
    for file in report["files"]:   # the table whose location holds the file's output
        uri = str(file.get("output_uri") or "")
        file["table"] = next((name for location, name in table_of.items() if location and uri.startswith(location)),
                             None)
    if data.tables:
        report["tables"] = [t.as_dict() for t in data.tables]


def keep(s3: Any, bucket: str, folder: Path, extra: list[Path] | None = None) -> int:
    """Copy every object of the output bucket to ``folder/KEY`` (processed/, quarantine/, manifests/,
    snapshots/, scripts/), and ``extra`` files (the JVM log) beside them; the number of files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for key in _keys(s3, bucket):
        target = folder / key
        if key.endswith("/") or not target.resolve().is_relative_to(folder.resolve()):
            continue  # a folder marker, or a key that would escape the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        written += 1
    for path in extra or []:
        if path.exists():
            shutil.copyfile(path, folder / path.name)
            written += 1
    return written


def path_problem(option: str, path: Path, *, folder: bool) -> str | None:
    """Why the demo could not write ``path`` for ``option`` (checked before the run, not after it), or None.

    Tried for real (permission bits say little to root, or on a read-only mount): the folders are created
    (the demo would create them anyway) and a file that did not exist is created and removed again."""
    kind = "folder" if folder else "file"
    if path.exists() and path.is_dir() != folder:
        return (f"{option} {path}: exists and is {'not ' if folder else ''}a folder. Fix: give a {kind} path"
                + (" (it is created if missing)" if folder else ""))
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != path and not existing.is_dir():
        return f"{option} {path}: {existing} is a file, so nothing can be created under it. Fix: give another path"
    try:
        if folder:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".landing-demo-write-test"
            probe.touch()
            probe.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            existed = path.exists()
            with path.open("a", encoding="utf-8"):
                pass
            if not existed:
                path.unlink()
    except OSError as exc:
        return f"{option} {path}: cannot be written ({exc.strerror or exc}). Fix: give a {kind} path you can write to"
    return None


def _snapshot(s3: Any, bucket: str, keys: list[str], group: str, pointer: dict[str, Any]) -> SnapshotView:
    path = str(pointer.get("path") or "")
    merge_keys = [str(k) for k in pointer.get("merge_keys") or []]
    view = SnapshotView(group=group, version=pointer.get("version"), rows=int(pointer.get("rows") or 0),
                        merge_keys=merge_keys, path=path)
    prefix = path[len(f"s3://{bucket}/"):] if path.startswith(f"s3://{bucket}/") else ""
    parts = [k for k in keys if prefix and k.startswith(prefix) and k.endswith(".parquet")]
    if not parts:
        return view
    import pyarrow as pa  # type: ignore[import-untyped]  # (the local extra's; no stubs)
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in parts]
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    rows = table.to_pylist()
    order = [k for k in merge_keys if k in table.column_names]
    rows.sort(key=lambda row: tuple(str(row.get(k)) for k in order))
    view.columns = [c for c in table.column_names if not c.startswith("_")]
    view.sample = [{c: row.get(c) for c in view.columns} for row in rows[:SNAPSHOT_SAMPLE_ROWS]]
    return view


def _keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents") or []]
    return keys


def _json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
