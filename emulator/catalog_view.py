"""The feeds' catalog tables read back the way a query engine reads them: through the catalog, not the job.

For each table of the pipeline's database: its columns, its partitions (one per group) and, per partition, the
Parquet objects under the partition's location read with the table's columns. A table whose location or schema
did not match what the job wrote shows it here: rows missing, or a column the files lack (``missing``) or have
but the table does not (``unlisted``). This is the demo's proof that a user could query a feed in Athena after
its first run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PartitionView:
    value: str
    location: str
    files: int
    rows: int


@dataclass
class TableView:
    name: str
    location: str
    columns: list[str]
    partitions: list[PartitionView] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)    # in the table, in no file read
    unlisted: list[str] = field(default_factory=list)   # in a file, not in the table
    mistyped: list[str] = field(default_factory=list)   # "column: table type vs file type"

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.name, "location": self.location, "columns": self.columns, "rows": self.rows,
                "partitions": [vars(p) for p in self.partitions], "missing": self.missing,
                "unlisted": self.unlisted, "mistyped": self.mistyped}


def read_tables(glue: Any, s3: Any, database: str) -> list[TableView]:
    """Every table of ``database`` with its partitions' rows (empty without a database)."""
    if not database:
        return []
    views = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            views.append(_read_table(glue, s3, database, table))
    return sorted(views, key=lambda v: v.name)


def _read_table(glue: Any, s3: Any, database: str, table: dict[str, Any]) -> TableView:
    descriptor = table["StorageDescriptor"]
    columns = [c["Name"] for c in descriptor["Columns"]]
    types = {c["Name"]: c["Type"] for c in descriptor["Columns"]}
    view = TableView(table["Name"], descriptor.get("Location", ""), columns)
    seen: dict[str, str] = {}
    for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table["Name"]):
        for partition in page["Partitions"]:
            location = partition["StorageDescriptor"]["Location"]
            files, rows, names = _read_parquet(s3, location, columns)
            seen.update(names)
            view.partitions.append(PartitionView(partition["Values"][0], location, files, rows))
    view.partitions.sort(key=lambda p: p.value)
    if seen:   # some file was read: judge the columns against it
        view.missing = [c for c in columns if c not in seen]
        view.unlisted = sorted(set(seen) - set(columns))
        view.mistyped = [f"{c}: {types[c]} vs {seen[c]}" for c in columns if c in seen and seen[c] != types[c]]
    return view


def _read_parquet(s3: Any, location: str, columns: list[str]) -> tuple[int, int, dict[str, str]]:
    """Files and rows under ``location``, and each column the files have with its type as the catalog spells it."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # (the local extra's; no stubs)

    bucket, _, prefix = location[len("s3://"):].partition("/")
    files = rows = 0
    names: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".parquet"):
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            schema = pq.read_schema(io.BytesIO(body))
            file_columns = schema.names
            names.update({f.name: _catalog_type(f.type) for f in schema})
            present = [c for c in columns if c in file_columns]
            rows += pq.read_table(io.BytesIO(body), columns=present).num_rows
            files += 1
    return files, rows, names


def _catalog_type(arrow_type: Any) -> str:
    """An Arrow type as Hive/Glue spells it (what Athena compares a table's column against)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    named = {pa.string(): "string", pa.large_string(): "string", pa.float64(): "double", pa.float32(): "float",
             pa.int32(): "int", pa.int64(): "bigint", pa.bool_(): "boolean", pa.date32(): "date"}
    return named.get(arrow_type, str(arrow_type))
