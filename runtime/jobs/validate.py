"""Typing raw rows against the declared schema, and saying for each rejected row what was wrong.

Pure DataFrame -> DataFrame functions: every value is converted with ``try_cast`` (null instead of an
exception, whatever ``spark.sql.ansi.enabled`` says), and a row is rejected when a non-blank value did
not convert, so a bad value is never silently turned into a null. Conversions Spark accepts too readily
are tightened: dates must be ``yyyy-MM-dd`` (Spark's cast takes ``2024`` as 2024-01-01), timestamps must
start with such a date, decimals must not lose digits (Spark rounds ``123.456`` into ``decimal(12,2)``
without a word), and a number beyond a float's range must not become Infinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from landing_pipeline.runtime.jobs.readers import Format, quote
from landing_pipeline.runtime.jobs.schema import RAW_RECORD, REASON, ROW_ORDER, Column

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn
    from pyspark.sql import DataFrame

VALUE_PREVIEW = 60
"""Characters of a rejected value quoted in ``_reason``; the whole value stays in its column."""
_TYPED_PREFIX = "__typed_"
_PROBLEMS = "__problems"


@dataclass(frozen=True)
class Validated:
    """All rows, raw and typed side by side, with ``_reason`` set on the rows to quarantine."""

    frame: DataFrame
    outputs: tuple[tuple[str, str], ...]
    """(output column name, column of ``frame`` holding its typed value), in output order."""
    raw_columns: tuple[str, ...]
    """Columns of ``frame`` holding the values as read, all of the file's: what a quarantined row keeps."""
    missing_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]


def validate(frame: DataFrame, schema: tuple[Column, ...], merge_keys: tuple[str, ...],
             fmt: Format, file_columns: tuple[str, ...] | None) -> Validated:
    """Add typed columns and ``_reason``. ``file_columns`` are the file's own column names if known.

    Without a schema the file's columns pass through as read; only unparsable records and empty merge
    keys are rejected. With one, the output has exactly the declared columns, in declared order.
    """
    from pyspark.sql import functions as F

    present = {name.lower(): name for name in frame.columns if name not in (RAW_RECORD, ROW_ORDER)}
    targets: list[tuple[str, Column | None]] = (
        [(column.name, column) for column in schema] if schema else [(name, None) for name in present.values()])
    reasons: list[SparkColumn] = []
    typed: list[SparkColumn] = []
    outputs: list[tuple[str, str]] = []
    missing: list[str] = []
    for index, (name, column) in enumerate(targets):
        typed_name = f"{_TYPED_PREFIX}{index}"
        outputs.append((name, typed_name))
        source = present.get(name.lower())
        if source is None:
            missing.append(name)
            typed.append(F.lit(None).cast(column.sql_type if column else "string").alias(typed_name))
            continue
        typed.append((typed_value(frame, source, column) if column else F.col(quote(source))).alias(typed_name))
        reason = problem(frame, source, column, F.col(typed_name)) if column else None
        if reason is not None:
            reasons.append(reason)
    if missing and file_columns is not None:
        # Known from the header or footer: every row lacks them. (A JSON line without a key is a null.)
        reasons.insert(0, F.lit(f"column(s) missing from the file: {', '.join(missing)}"))
    for key in merge_keys:
        source = present.get(key.lower())
        blank = F.lit(True) if source is None else _blank(F.col(quote(source)))
        reasons.append(F.when(blank, F.lit(f"merge key {key}: empty (every row needs its key)")))
    declared = {column.name.lower() for column in schema}
    ignored = tuple(name for name in (file_columns or ()) if schema and name.lower() not in declared)
    # Every column of the file is kept, declared or not: a quarantined row loses nothing, and a short or
    # long CSV row is flagged whichever columns are declared (Spark skips columns no query needs).
    raw_columns = tuple(present.values())
    kept = [*(F.col(quote(name)) for name in raw_columns), F.col(RAW_RECORD), F.col(ROW_ORDER)]
    # Three selects, not one: each conversion and the joined reasons are then computed once per row and
    # referenced after. (In one select the same cast inside a CASE WHEN branch is evaluated again: Spark
    # only shares subexpressions that are always evaluated, and keeps projects apart rather than repeat
    # an expensive expression.)
    converted = frame.select(*kept, *typed)
    joined = converted.select(*kept, *(F.col(name) for _, name in outputs),
                              (F.concat_ws("; ", *reasons) if reasons else F.lit("")).alias(_PROBLEMS))
    # An unparsable record's columns are meaningless, so its reason is that alone.
    reason_column = (F.when(F.col(RAW_RECORD).isNotNull(), F.lit(_malformed_message(fmt, file_columns)))
                     .when(F.col(_PROBLEMS) != "", F.col(_PROBLEMS)))
    result = joined.select(*kept, *(F.col(name) for _, name in outputs), reason_column.alias(REASON))
    return Validated(result, tuple(outputs), raw_columns, tuple(missing), ignored)


def good_rows(validated: Validated) -> DataFrame:
    """Rows without a reason, as typed output columns (plus ``_row`` for the merge)."""
    from pyspark.sql import functions as F

    return (validated.frame.filter(F.col(REASON).isNull())
            .select(*(F.col(typed).alias(name) for name, typed in validated.outputs), ROW_ORDER))


def bad_rows(validated: Validated) -> DataFrame:
    """Rejected rows as they were read, with the original record if unparsable, and the reason."""
    from pyspark.sql import functions as F

    return (validated.frame.filter(F.col(REASON).isNotNull())
            .select(*(F.col(quote(name)) for name in validated.raw_columns), RAW_RECORD, REASON))


def typed_value(frame: DataFrame, source: str, column: Column) -> SparkColumn:
    """The value of ``source`` as the declared type; null when it does not convert."""
    from pyspark.sql import functions as F

    raw = F.col(quote(source))
    source_type = frame.schema[source].dataType.simpleString()
    if source_type == column.sql_type:
        return raw
    if column.kind == "string":
        return raw.cast("string")
    if source_type == "string" and column.kind in ("date", "timestamp"):
        trimmed = F.trim(raw)
        shaped = (F.length(trimmed) == 10) if column.kind == "date" else (F.length(trimmed) >= 10)
        shaped = shaped & (F.substring(trimmed, 5, 1) == "-") & (F.substring(trimmed, 8, 1) == "-")
        return F.when(shaped, _try_cast(f"trim({quote(source)})", column.sql_type))
    return _try_cast(quote(source), column.sql_type)


def problem(frame: DataFrame, source: str, column: Column, typed: SparkColumn) -> SparkColumn | None:
    """What is wrong with ``source``'s value given its converted value ``typed``; null when nothing is."""
    from pyspark.sql import functions as F

    raw = F.col(quote(source))
    source_type = frame.schema[source].dataType.simpleString()
    if source_type == column.sql_type or column.kind == "string":
        return None
    text = raw if source_type == "string" else raw.cast("string")
    failed = raw.isNotNull() & typed.isNull() & ~_blank(raw)
    preview = F.concat(F.lit(f"{column.name}: '"), F.substring(text, 1, VALUE_PREVIEW), F.lit("' "))
    reason = F.when(failed, F.concat(preview, _what_is_wrong(source, column, source_type)))
    if column.kind in ("double", "float") and source_type == "string":
        # A value beyond the type's range converts to Infinity without complaint; only "Infinity" may.
        overflow = (F.abs(typed) == F.lit(float("inf"))) & ~F.lower(raw).contains("inf")
        reason = reason.when(overflow, F.concat(preview, F.lit(f"is out of range for {column.kind}")))
    if column.kind == "decimal":
        # Compare with a conversion that keeps every digit: a difference means the value was rounded.
        wide = _try_cast(quote(source), f"decimal(38,{38 - (column.precision - column.scale)})")
        rounded = typed.isNotNull() & (wide != typed)
        reason = reason.when(rounded, F.concat(preview, F.lit(f"has more than {column.scale} decimal places")))
    return reason


def _what_is_wrong(source: str, column: Column, source_type: str) -> SparkColumn:
    from pyspark.sql import functions as F

    kind, target = column.kind, column.sql_type
    if source_type != "string":
        return F.lit(f"cannot be converted from {source_type} to {target}")
    if kind in ("int", "bigint"):
        return (F.when(F.trim(F.col(quote(source))).rlike(r"^[+-]?[0-9]+$"), F.lit(f"is out of range for {kind}"))
                .otherwise(F.lit(f"is not a whole number ({kind})")))
    if kind == "decimal":
        return (F.when(_try_cast(quote(source), "double").isNotNull(), F.lit(f"is out of range for {target}"))
                .otherwise(F.lit(f"is not a number ({target})")))
    messages = {
        "double": "is not a number (double)",
        "float": "is not a number (float)",
        "boolean": "is not a boolean (true/false, yes/no, 1/0)",
        "date": "is not a valid date (yyyy-MM-dd)",
        "timestamp": "is not a valid timestamp (yyyy-MM-dd[ HH:mm:ss[.fff]][zone])",
    }
    return F.lit(messages[kind])


def _try_cast(sql: str, sql_type: str) -> SparkColumn:
    """``try_cast`` of a SQL expression: null when the value does not convert, even under ANSI mode.

    (``Column.try_cast`` only arrives in Spark 4; the SQL function is in 3.5.)
    """
    from pyspark.sql import functions as F

    return F.expr(f"try_cast({sql} AS {sql_type})")


def _blank(value: SparkColumn) -> SparkColumn:
    from pyspark.sql import functions as F

    return value.isNull() | (F.trim(value.cast("string")) == "")


def _malformed_message(fmt: Format, file_columns: tuple[str, ...] | None) -> str:
    if fmt == "csv":
        return (f"malformed CSV record: not {len(file_columns or ())} fields as in the header, or broken "
                "quoting (the line is kept in _raw_record)")
    return "malformed JSON line: not a JSON object (the line is kept in _raw_record)"
