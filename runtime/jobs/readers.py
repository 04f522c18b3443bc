"""Reading the landed file into a DataFrame of raw values, whatever its format.

Every format comes out the same shape: the file's columns (CSV and JSON with a schema: as text, so that
validation sees exactly what was written and can say what was wrong with it), ``_raw_record`` holding
the original line when the parser could not make a row of it, and ``_row``, the row's position in the
file, which the snapshot merge needs for "last row per key wins, in file order".

Every read names one path literally. A landed key may hold any of Hadoop's glob characters
(``? * [ ] { } \\``), and Spark expands a path as a pattern unless its data source option
``__globPaths__`` is ``false`` (``DataSource.GLOB_PATHS_KEY`` in Spark 3.1 to 4.x, the switch Spark itself
uses to re-read files it has already listed). That switch is used rather than escaping or copying:

- escaping is not symmetric: a write never globs, so an escaped output folder is created *with* the
  backslashes in its name (``processed/orders\\?_g/``), and a read of it, escaped again, finds nothing
  (``PATH_NOT_FOUND``, which the completion path used to take for a deleted input). Escaping also makes
  Hadoop list the key's whole parent prefix to match the pattern, on every read;
- copying the exact version to a staging key first (``CopyObject`` with ``VersionId``) would also pin the
  version, but costs a copy of every file (multipart above 5 GB), write access to a prefix the job role
  does not have, and leaves the copy behind when a run is killed. The version is already guarded: the
  job checks it with ``HeadObject`` before the first and after the last pass, and compares every pass's
  counts (docs/job.md, "Versions").

With globbing off, a read is a ``getFileStatus`` of that one path: every character S3 allows reaches the
filesystem as written, and a missing path is reported as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from landing_pipeline.runtime.jobs.schema import RAW_RECORD, ROW_ORDER, Column, JobArgumentError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader, SparkSession

Format = Literal["csv", "json", "parquet"]

EXTENSIONS: dict[str, Format] = {
    ".csv": "csv", ".csv.gz": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".json.gz": "json", ".jsonl.gz": "json", ".ndjson.gz": "json",
    ".parquet": "parquet", ".snappy.parquet": "parquet",
}
NO_GLOB = {"__globPaths__": "false"}
"""The data source option that makes Spark take a path literally (see the module docstring)."""


FEED_FORMATS: dict[str, Format] = {"csv": "csv", "jsonl": "json", "parquet": "parquet"}
"""A feed's ``format`` (``--format``) as the reader's."""


class UnsupportedFormat(JobArgumentError):
    """The file's name does not say which format it is in."""


def detect_format(*names: str) -> Format:
    """The format named by the first of ``names`` that has a known extension (case-insensitive).

    The input URI comes first; the source key is the fallback for a copy staged under another name.
    """
    for name in names:
        lowered = name.lower()
        for extension in sorted(EXTENSIONS, key=len, reverse=True):
            if lowered.endswith(extension):
                return EXTENSIONS[extension]
    raise UnsupportedFormat(
        f"cannot tell the format of {names[0]!r} from its extension; supported: "
        f"{', '.join(EXTENSIONS)}. Rename the file, or narrow keySuffixes in the stack so such files "
        "are not sent to the job")


def literal_reader(spark: SparkSession) -> DataFrameReader:
    """``spark.read`` for a path taken as written: no glob, whatever characters the key has."""
    return spark.read.options(**NO_GLOB)


@dataclass(frozen=True)
class RawFile:
    frame: DataFrame
    file_columns: tuple[str, ...] | None
    """The file's own column names when known without a scan (CSV header, Parquet footer); None for JSON."""


def read_raw(spark: SparkSession, uri: str, fmt: Format, schema: tuple[Column, ...]) -> RawFile:
    """Lazily read ``uri``; nothing is parsed until an action runs (unreadable files fail there)."""
    if fmt == "csv":
        raw = _read_csv(spark, uri)
    elif fmt == "json":
        raw = _read_json(spark, uri, schema)
    else:
        frame = literal_reader(spark).parquet(uri)
        raw = RawFile(_with_raw_record(frame), tuple(frame.columns))
    from pyspark.sql import functions as F

    # Partitions of one file are its byte ranges in order, so this id grows with the position in the file.
    return RawFile(raw.frame.withColumn(ROW_ORDER, F.monotonically_increasing_id()), raw.file_columns)


def _read_csv(spark: SparkSession, path: str) -> RawFile:
    # The header is read first (one line) so that every column, however named, can be read as text with
    # the malformed-record column beside it; inferring types would hide the values that did not fit.
    header = [name.lstrip("\ufeff") for name in literal_reader(spark).option("header", True).csv(path).columns]
    ddl = _string_ddl([*header, RAW_RECORD])
    frame = (literal_reader(spark).schema(ddl)
             .option("header", True)
             .option("mode", "PERMISSIVE")
             .option("columnNameOfCorruptRecord", RAW_RECORD)
             .csv(path))
    return RawFile(frame, tuple(header))


def _read_json(spark: SparkSession, path: str, schema: tuple[Column, ...]) -> RawFile:
    reader = literal_reader(spark).option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", RAW_RECORD)
    if schema:
        # Declared fields as text: a JSON number or boolean comes back as its text, an object as JSON.
        frame = reader.schema(_string_ddl([*(column.name for column in schema), RAW_RECORD])).json(path)
    else:
        frame = _with_raw_record(reader.json(path))
    return RawFile(frame, None)


def _with_raw_record(frame: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    if RAW_RECORD in frame.columns:
        return frame
    return frame.withColumn(RAW_RECORD, F.lit(None).cast("string"))


def _string_ddl(names: list[str]) -> str:
    return ", ".join(f"{quote(name)} STRING" for name in names)


def delete_folder(spark: SparkSession, uri: str) -> None:
    """Remove a folder and everything in it through Spark's own filesystem (S3 on Glue, local disk here)."""
    path, filesystem = _hadoop_path(spark, uri)
    filesystem.delete(path, True)


def path_exists(spark: SparkSession, uri: str) -> bool:
    """Whether ``uri`` (taken literally, like every read here) exists on Spark's own filesystem."""
    path, filesystem = _hadoop_path(spark, uri)
    return bool(filesystem.exists(path))


def _hadoop_path(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("the Spark session has no JVM gateway (Spark Connect?); the job needs classic Spark")
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def quote(name: str) -> str:
    """A column name as a Spark SQL identifier, whatever characters the file used."""
    return "`" + name.replace("`", "``") + "`"
