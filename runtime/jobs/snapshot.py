"""Applying a file to its group's snapshot: last row per key wins, and the new version is published atomically.

Layout under ``--snapshot_uri``: immutable version folders ``v000001/``, ``v000002/`` ... (Parquet) and a
pointer ``_current.json`` naming the current one. A run reads the pointer, merges the file into the
version it names, writes the next version folder, and only then replaces the pointer (one PUT), so a
reader following the pointer always finds a complete version. Runs of one group must not overlap: two
runs that read the same pointer both build "the next version" from it, and whichever writes last
erases the other file's rows (a lost update) - the ordered queue's hold is what prevents that.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime.errors import OperationalError
from landing_pipeline.runtime.jobs.readers import literal_reader, path_exists, quote
from landing_pipeline.runtime.jobs.schema import ROW_ORDER
from landing_pipeline.runtime.jobs.storage import JsonStore, join

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

POINTER = "_current.json"
_BATCH = "__merge_batch"


class SnapshotError(OperationalError):
    """The snapshot cannot be advanced; the message says why and what to do."""


def version_folder(snapshot_uri: str, version: int) -> str:
    return join(snapshot_uri, f"v{version:06d}/")


def pointer_uri(snapshot_uri: str) -> str:
    return join(snapshot_uri, POINTER)


def merge(snapshot: DataFrame | None, new_rows: DataFrame, keys: tuple[str, ...]) -> DataFrame:
    """The snapshot with the file applied: for each key, the file's last row (in file order) if the file
    has the key, else the snapshot's row. ``new_rows`` carries ``_row`` (its position in the file)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    incoming = new_rows.withColumn(_BATCH, F.lit(1))
    if snapshot is not None:
        existing = snapshot.withColumn(ROW_ORDER, F.lit(0).cast("bigint")).withColumn(_BATCH, F.lit(0))
        try:
            combined = existing.unionByName(incoming, allowMissingColumns=True)
        except Exception as exc:  # AnalysisException: the column types changed between files
            raise SnapshotError(
                f"the file's columns do not fit the snapshot's ({_first_line(exc)}); declare a schema so "
                "every file of the group has the same column types") from exc
    else:
        combined = incoming
    latest = Window.partitionBy(*(F.col(quote(key)) for key in keys)).orderBy(
        F.col(_BATCH).desc(), F.col(ROW_ORDER).desc())
    return (combined.withColumn("__rank", F.row_number().over(latest))
            .filter(F.col("__rank") == 1)
            .drop("__rank", _BATCH, ROW_ORDER))


@dataclass(frozen=True)
class SnapshotResult:
    version: int
    path: str
    pointer_uri: str
    base_version: int | None
    rows: int

    def as_manifest(self) -> dict[str, Any]:
        return {"version": self.version, "path": self.path, "pointer_uri": self.pointer_uri,
                "base_version": self.base_version, "rows": self.rows}


def apply_file(spark: SparkSession, store: JsonStore, snapshot_uri: str, new_rows: DataFrame,
               keys: tuple[str, ...], provenance: dict[str, Any],
               before_publish: Callable[[], None] | None = None) -> SnapshotResult:
    """Merge ``new_rows`` into the current version, write the next version, then move the pointer.

    ``before_publish`` runs after the version is written and may raise to leave the pointer unmoved.
    """
    current = store.read(pointer_uri(snapshot_uri))
    base = _base_of(current, provenance.get("file_id", ""))
    base_frame = _read_version(spark, snapshot_uri, base) if base else None
    version = int(current["version"]) + 1 if current else 1
    folder = version_folder(snapshot_uri, version)
    # Overwrite: a crashed attempt may have left this folder without ever moving the pointer to it.
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    written = Observation(f"snapshot-rows-{uuid.uuid4().hex}")  # counted while writing, not by reading back
    merged = merge(base_frame, new_rows, keys).observe(written, F.count(F.lit(1)).alias("rows"))
    merged.write.mode("overwrite").parquet(folder)
    if before_publish is not None:
        before_publish()
    rows = int(written.get["rows"])
    now_current = store.read(pointer_uri(snapshot_uri))
    if now_current != current:
        raise SnapshotError(
            f"the pointer {pointer_uri(snapshot_uri)} moved while this run was merging (from version "
            f"{_version(current)} to {_version(now_current)}): another run of the same group ran at the same "
            "time, so one file's rows may be missing from the snapshot. Runs of a group must not overlap; "
            "check the dispatcher's hold, then rerun the group's files in order")
    pointer = {
        "version": version, "path": folder, "rows": rows,
        "base_version": int(base["version"]) if base else None, "base_path": base["path"] if base else None,
        "merge_keys": list(keys), "written_at": datetime.now(UTC).isoformat(), **provenance,
    }
    store.write(pointer_uri(snapshot_uri), pointer)
    return SnapshotResult(version, folder, pointer_uri(snapshot_uri), pointer["base_version"], rows)


def _base_of(current: dict[str, Any] | None, file_id: str) -> dict[str, Any] | None:
    """The version to merge into. A rerun of the file that produced the current version (its run was
    reported failed after the pointer moved) merges into that version's base, so the file is not
    applied on top of itself and the lineage names one run."""
    if current is None:
        return None
    if file_id and current.get("file_id") == file_id:
        if current.get("base_version") is None:
            return None
        return {"version": current["base_version"], "path": current["base_path"]}
    return current


def _read_version(spark: SparkSession, snapshot_uri: str, base: dict[str, Any]) -> DataFrame:
    """The version folder the pointer names; a missing one is the snapshot's problem, not the input's."""
    path = str(base["path"])
    if not path_exists(spark, path):
        raise SnapshotError(
            f"version {base['version']} of the snapshot, which {pointer_uri(snapshot_uri)} names as the one to "
            f"merge into, is missing ({path} does not exist): restore that folder, or point the pointer at the "
            "latest version that exists, then rerun this file; the file itself is fine")
    return literal_reader(spark).parquet(path)


def _version(pointer: dict[str, Any] | None) -> str:
    return "none" if pointer is None else str(pointer.get("version"))


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
