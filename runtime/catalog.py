"""The Glue Data Catalog of a pipeline with feeds: one database, per feed a table over its processed output and,
with merge keys, one over its snapshot; partitions registered as runs finish.

Layout. A feed's files are written under the feed's table (``processed/<table>/<group>/<file_id>/`` and
``snapshots/<table>/<group>/v000001/ ...``), so a table's location holds that feed's files and nothing else
(Athena reads every object under a table's or partition's location).

Partitions, not projection. Both tables are partitioned by the group's folder (``landing_group``): the processed
table's partition of a group is ``processed/<table>/<group>/``, the snapshot table's is the group's *current*
version folder, moved to each new version as it is published. Projection could not express the second (the
current version is named by a pointer object, not by a pattern), and Glue ETL, EMR and Redshift Spectrum do not
read Athena's projection settings; registered partitions work for every reader. They are registered by whoever
settles a run (the completion handler, the reconciler), every time, idempotently: a retried event or a second
settle repeats the same calls and changes nothing.

Pure builders (the component creates the tables from the same ``table_input``) and one thin ``sync_group`` that
makes the calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from landing_pipeline.runtime.context import aws_error_code
from landing_pipeline.runtime.feeds import Feed
from landing_pipeline.runtime.paths import path_component

PARTITION_KEY = "landing_group"
"""The partition column: the group's folder name (``runtime/paths.py``); the group itself is the ``_group``
column. Not ``_group``: a partition column may not repeat a column of the files."""
SNAPSHOT_SUFFIX = "_snapshot"
LINEAGE_TYPES = (("_source_key", "string"), ("_source_version", "string"), ("_group", "string"),
                 ("_run_id", "string"), ("_ingested_at", "timestamp"))
"""The job's lineage columns and their types (``runtime/jobs/schema.LINEAGE_COLUMNS``), after the declared ones."""
PARQUET_STORAGE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                  "Parameters": {"serialization.format": "1"}},
}
_UNSAFE_NAME = re.compile(r"[^a-z0-9_]+")


def database_name(project: str, stack: str, pipeline: str) -> str:
    """One database per pipeline, named after where it is deployed: Glue allows lowercase letters, digits and
    '_' (255 at most), unique per account and region like the stack itself."""
    raw = f"{project}_{stack}_{pipeline}".lower()
    return _UNSAFE_NAME.sub("_", raw).strip("_")[:255] or "landing"


def snapshot_table(feed: Feed) -> str:
    return f"{feed.table_name}{SNAPSHOT_SUFFIX}"


def processed_root(output_bucket: str, output_prefix: str, feed: Feed) -> str:
    return f"s3://{output_bucket}/{output_prefix}{feed.table_name}/"


def hive_type(kind: str) -> str:
    """A declared column type as the catalog spells it (the job writes Spark's types of the same names)."""
    kind = kind.strip().lower().replace(" ", "")
    return {"int": "int", "float": "float"}.get(kind, kind)


def columns(feed: Feed) -> list[dict[str, str]]:
    """The table's columns: the declared schema in order, then the lineage columns. Without a schema, only the
    lineage columns: ``widen`` adds the files' own columns as runs report them."""
    declared = [{"Name": name.strip(), "Type": hive_type(kind)}
                for name, _, kind in (column.partition(":") for column in feed.schema)]
    return declared + [{"Name": name, "Type": kind} for name, kind in LINEAGE_TYPES]


@dataclass(frozen=True)
class TableSpec:
    """One catalog table the pipeline owns: its name, where its files are, its columns."""

    name: str
    path: str          # in the output bucket, e.g. "processed/orders/"
    columns: tuple[tuple[str, str], ...]
    description: str
    snapshot: bool = False

    def location(self, output_bucket: str) -> str:
        return f"s3://{output_bucket}/{self.path}"


def feed_tables(feeds: Sequence[Feed], output_prefix: str) -> list[TableSpec]:
    """Every table of the stack, in feed order: each feed's, then its snapshot's when it merges."""
    tables = []
    for feed in feeds:
        cols = tuple((c["Name"], c["Type"]) for c in columns(feed))
        schema_note = "" if feed.schema else " (no schema declared: columns follow the files)"
        tables.append(TableSpec(feed.table_name, f"{output_prefix}{feed.table_name}/", cols,
                                f"Processed rows of feed {feed.name!r}, one partition per group{schema_note}"))
        if feed.merge_keys:
            tables.append(TableSpec(snapshot_table(feed), f"snapshots/{feed.table_name}/", cols,
                                    f"Latest row per {', '.join(feed.merge_keys)} of feed {feed.name!r}: each "
                                    "group's partition is its current snapshot version", snapshot=True))
    return tables


TABLE_PARAMETERS = {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"}


def table_input(table: TableSpec, output_bucket: str) -> dict[str, Any]:
    """The table as Glue's ``TableInput`` (CreateTable; the component declares the same values)."""
    return {
        "Name": table.name, "Description": table.description, "TableType": "EXTERNAL_TABLE",
        "Parameters": dict(TABLE_PARAMETERS),
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in table.columns],
                              "Location": table.location(output_bucket), **PARQUET_STORAGE},
    }


def partition_input(table_columns: Sequence[dict[str, str]], group: str, location: str) -> dict[str, Any]:
    return {"Values": [path_component(group)],
            "StorageDescriptor": {"Columns": list(table_columns), "Location": location, **PARQUET_STORAGE}}


def group_location(root: str, group: str) -> str:
    return f"{root}{path_component(group)}/"


def widened(existing: Sequence[dict[str, str]], file_schema: Sequence[str]) -> list[dict[str, str]] | None:
    """A schema-less feed's columns after a file with ``file_schema`` (the manifest's ``name:type`` list):
    columns not yet in the table are added before the lineage columns. None: nothing new. A column whose type
    changed keeps the table's type (Parquet readers then fail on that column; the docs say to declare a schema)."""
    have = {c["Name"] for c in existing}
    lineage = {name for name, _ in LINEAGE_TYPES}
    new = [{"Name": name, "Type": hive_type(kind)} for name, _, kind in (c.partition(":") for c in file_schema)
           if name and name not in have and name not in lineage]
    if not new:
        return None
    data = [c for c in existing if c["Name"] not in lineage]
    return data + new + [c for c in existing if c["Name"] in lineage]


def sync_group(glue: Any, s3: Any, *, database: str, feed: Feed, output_bucket: str, output_prefix: str,
               group: str, manifest_keys: Sequence[str] = ()) -> list[str]:
    """Make the catalog show ``group``'s output after a run: its processed partition exists, its snapshot
    partition names the current version, a schema-less feed's table has the columns of the run's files
    (``manifest_keys``: the manifests the run may have written). Idempotent; returns what it changed."""
    changed: list[str] = []
    processed = feed.table_name
    if not feed.schema and manifest_keys:
        changed += _widen(glue, s3, database, processed, output_bucket, manifest_keys)
    table_cols = _columns(glue, database, processed)
    if _ensure_partition(glue, database, processed, table_cols, group,
                         group_location(processed_root(output_bucket, output_prefix, feed), group)):
        changed.append(f"partition {processed}/{path_component(group)}")
    if feed.merge_keys:
        pointer = _read_json(s3, output_bucket,
                             f"snapshots/{feed.table_name}/{path_component(group)}/_current.json")
        if pointer and pointer.get("path"):
            location = _s3_folder(str(pointer["path"]), output_bucket)
            snap = snapshot_table(feed)
            if _ensure_partition(glue, database, snap, _columns(glue, database, snap), group, location):
                changed.append(f"partition {snap}/{path_component(group)} -> v{pointer.get('version')}")
    return changed


def _s3_folder(path: str, bucket: str) -> str:
    """The pointer's ``path`` as an ``s3://`` folder (the job writes it as the URI it was given)."""
    if path.startswith("s3a://"):
        path = "s3://" + path[len("s3a://"):]
    if not path.startswith("s3://"):
        path = f"s3://{bucket}/{path.lstrip('/')}"
    return path if path.endswith("/") else path + "/"


def _columns(glue: Any, database: str, table: str) -> list[dict[str, str]]:
    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    return [{"Name": c["Name"], "Type": c["Type"]} for c in found["StorageDescriptor"]["Columns"]]


def _ensure_partition(glue: Any, database: str, table: str, table_cols: list[dict[str, str]], group: str,
                      location: str) -> bool:
    wanted = partition_input(table_cols, group, location)
    try:
        current = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=wanted["Values"])
    except Exception as exc:
        if aws_error_code(exc) != "EntityNotFoundException":
            raise
        try:
            glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=wanted)
            return True
        except Exception as again:   # a concurrent settle of the same group created it first
            if aws_error_code(again) != "AlreadyExistsException":
                raise
            current = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=wanted["Values"])
    descriptor = current["Partition"].get("StorageDescriptor", {})
    if descriptor.get("Location") == location and descriptor.get("Columns") == table_cols:
        return False
    glue.update_partition(DatabaseName=database, TableName=table, PartitionValueList=wanted["Values"],
                          PartitionInput=wanted)
    return True


def _widen(glue: Any, s3: Any, database: str, table: str, bucket: str, manifest_keys: Sequence[str]) -> list[str]:
    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    cols = [{"Name": c["Name"], "Type": c["Type"]} for c in found["StorageDescriptor"]["Columns"]]
    added: list[str] = []
    for key in manifest_keys:
        manifest = _read_json(s3, bucket, key)
        wider = widened(cols, [str(c) for c in (manifest or {}).get("schema", [])])
        if wider is not None:
            added += [c["Name"] for c in wider if c not in cols]
            cols = wider
    if not added:
        return []
    update = {k: found[k] for k in ("Name", "Description", "TableType", "Parameters", "PartitionKeys") if k in found}
    update["StorageDescriptor"] = {**found["StorageDescriptor"], "Columns": cols}
    glue.update_table(DatabaseName=database, TableInput=update)
    return [f"table {table} + {', '.join(added)}"]


def _read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if aws_error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    value = json.loads(body)
    return value if isinstance(value, dict) else None

