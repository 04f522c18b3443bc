"""The declared schema and merge keys the job receives as text, parsed and checked before Spark starts.

The spec validates the same settings at deploy time, but a job can also be started by hand or by
another tool, so the job re-checks what it is given and fails before reading anything, naming the
argument and the fix. Pure Python: tested without Spark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.spec import SCHEMA_TYPES

COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
MAX_DECIMAL_PRECISION = 38
"""Spark's DecimalType limit."""

REASON = "_reason"
RAW_RECORD = "_raw_record"
ROW_ORDER = "_row"
LINEAGE_COLUMNS = ("_source_key", "_source_version", "_group", "_run_id", "_ingested_at")
RESERVED_COLUMNS = frozenset({REASON, RAW_RECORD, ROW_ORDER, *LINEAGE_COLUMNS})
"""Names the job adds itself; a declared column with one of them would be silently shadowed."""


class JobArgumentError(InputError):
    """An argument the job cannot run with; the message names the argument and the fix."""


@dataclass(frozen=True)
class Column:
    """One declared column: ``name:type``."""

    name: str
    kind: str
    precision: int = 0
    scale: int = 0

    @property
    def sql_type(self) -> str:
        """The type as Spark SQL spells it (also what ``try_cast`` takes)."""
        return f"decimal({self.precision},{self.scale})" if self.kind == "decimal" else self.kind

    def __str__(self) -> str:
        return f"{self.name}:{self.sql_type}"


def parse_column(text: str) -> Column:
    name, sep, kind = (part.strip() for part in text.partition(":"))
    kind = kind.lower()
    if not sep or not COLUMN_NAME.match(name):
        raise JobArgumentError(f"--schema: column {text!r} is not 'name:type' with a name like order_id")
    if name in RESERVED_COLUMNS:
        raise JobArgumentError(f"--schema: column name {name!r} is reserved for the job's own columns "
                               f"({', '.join(sorted(RESERVED_COLUMNS))}); rename the column")
    if kind in SCHEMA_TYPES:
        return Column(name, kind)
    match = _DECIMAL.match(kind)
    if not match:
        raise JobArgumentError(f"--schema: column {name!r} has unknown type {kind!r}; "
                               f"use one of {', '.join(SCHEMA_TYPES)} or decimal(p,s)")
    precision, scale = int(match.group(1)), int(match.group(2))
    if not 1 <= precision <= MAX_DECIMAL_PRECISION or scale > precision:
        raise JobArgumentError(f"--schema: column {name!r} has {kind!r}; precision must be 1..38 and "
                               "scale at most the precision, e.g. decimal(12,2)")
    return Column(name, "decimal", precision, scale)


def parse_schema(text: str) -> tuple[Column, ...]:
    """``--schema`` is a JSON list of ``name:type`` strings; empty text or ``[]`` means no schema."""
    if not text.strip():
        return ()
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobArgumentError(f"--schema: not JSON ({exc.msg}); pass a JSON list such as "
                               '\'["order_id:bigint", "amount:decimal(12,2)"]\' or [] for none') from exc
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise JobArgumentError('--schema: must be a JSON list of "name:type" strings, e.g. ["order_id:bigint"]')
    columns = tuple(parse_column(item) for item in items)
    seen: set[str] = set()
    for column in columns:
        # Spark resolves names case-insensitively, so "ID" and "id" would be one column.
        folded = column.name.lower()
        if folded in seen:
            raise JobArgumentError(f"--schema: column {column.name!r} is declared twice (names are "
                                   "case-insensitive); declare each column once")
        seen.add(folded)
    return columns


def parse_merge_keys(text: str, schema: tuple[Column, ...]) -> tuple[str, ...]:
    """``--merge_keys`` is comma-separated; with a declared schema every key must be one of its columns."""
    keys = tuple(key.strip() for key in text.split(",") if key.strip())
    for key in keys:
        if not COLUMN_NAME.match(key):
            raise JobArgumentError(f"--merge_keys: {key!r} is not a column name; pass e.g. order_id,line_no")
    if len({key.lower() for key in keys}) != len(keys):
        raise JobArgumentError(f"--merge_keys: a key is listed twice in {text!r}; list each key once")
    declared = {column.name.lower() for column in schema}
    missing = [key for key in keys if declared and key.lower() not in declared]
    if missing:
        raise JobArgumentError(f"--merge_keys: {', '.join(missing)} not in --schema; add the column to the "
                               "schema or correct the key")
    if schema:
        # Use the declared spelling, so the snapshot's key columns match the output's exactly.
        by_name = {column.name.lower(): column.name for column in schema}
        keys = tuple(by_name[key.lower()] for key in keys)
    return keys
