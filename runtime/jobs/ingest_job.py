"""The Glue 5.0 job that ingests one landed file; the same script runs in local PySpark.

Started by the dispatcher with the arguments in docs/interfaces.md ("Glue job"). It reads the file (CSV
with header, JSON lines or Parquet, by extension), validates it against the optional schema, writes the
good rows as Parquet with lineage columns to a folder unique to the file version and the rejected rows,
with their reason, to the quarantine folder (both replaced on a rerun), optionally merges the file into
its group's snapshot, and writes the manifest last, as the mark of a complete run.

On Glue the helper modules come from ``--extra-py-files`` (a zip with ``landing_pipeline/runtime/``); the
emulator calls ``main(argv, spark)`` with its own shared session. A file whose rows are all malformed
still succeeds (rows_out 0, everything in quarantine): it was read and nothing was lost. A file that cannot be read
at all fails the run with a message naming the file and the format.

Every path is read literally, whatever characters the key has (``readers.py`` says why Spark's
``__globPaths__`` switch and not escaping or a staged copy), and the job writes only into folders the
pipeline named (``runtime/paths.py``). A run calls its input deleted (``input deleted:``, which makes the
file DEAD at once) only after checking the key itself, never because Spark reported some path missing.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a script (Glue, the emulator, a shell): find the runtime package
    try:
        import landing_pipeline.runtime.jobs  # noqa: F401
    except ImportError:
        _checkout = Path(__file__).resolve().parent.parent.parent
        if not (_checkout / "landing_pipeline" / "__init__.py").is_file():
            raise ImportError(
                "the ingest job's modules (package landing_pipeline.runtime.jobs) are not importable: on Glue, "
                "set the job argument --extra-py-files to a zip holding landing_pipeline/runtime/ (docs/job.md); "
                "elsewhere, pip install the landing-pipeline package"
            ) from None
        sys.path.insert(0, str(_checkout))  # a checkout: landing_pipeline/__init__.py maps runtime/ beneath it

from landing_pipeline.runtime.jobs.arguments import JobArgs, parse_args
from landing_pipeline.runtime.jobs.batch_run import is_batch, run_batch
from landing_pipeline.runtime.jobs.failures import IngestError, spark_failures
from landing_pipeline.runtime.jobs.fencing import Fence, fence_for
from landing_pipeline.runtime.jobs.readers import (
    FEED_FORMATS,
    delete_folder,
    detect_format,
    literal_reader,
    read_raw,
)
from landing_pipeline.runtime.jobs.schema import LINEAGE_COLUMNS, REASON, ROW_ORDER
from landing_pipeline.runtime.jobs.snapshot import SnapshotError, SnapshotResult, apply_file
from landing_pipeline.runtime.jobs.storage import JsonStore, StorageError, local_input
from landing_pipeline.runtime.jobs.validate import Validated, bad_rows, good_rows, validate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation, SparkSession

MANIFEST_VERSION = 1
QUARANTINE_SAMPLE = 5
SESSION_SETTINGS = {
    # An impossible date must become a null the job can flag, not a SparkUpgradeException that kills it.
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Glue runs in UTC; a local JVM in another zone would read zone-less timestamps differently.
    "spark.sql.session.timeZone": "UTC",
    # Parse every CSV field whatever a query needs, so that a record with too few or too many fields is
    # malformed in every pass over the file (with pruning, only in a query that reads the odd column).
    "spark.sql.csv.parser.columnPruning.enabled": "false",
}


def main(argv: list[str], spark: SparkSession | None = None, store: JsonStore | None = None,
         ledger_client: Any | None = None) -> dict[str, Any]:
    """Ingest one file and return its manifest, or a batch of files and return the run manifest (per-file
    results). Pass ``spark`` to reuse a session (it is left running).

    A run started with a lease token claims the lease first (runtime/jobs/fencing.py) and, if another run
    owns it, returns ``{"fenced": True, ...}`` having touched nothing: no session, no read, no write."""
    args = parse_args(argv)
    fence = fence_for(args, ledger_client)
    if fence is not None and not fence.claim():
        print(f"fenced: the lease {args.run_token} of group {args.group!r} is claimed by another run or ended; "
              "this run touches no data")
        return {"fenced": True, "run_id": args.run_id, "run_token": args.run_token, "file_id": args.file_id}
    session = spark if spark is not None else _new_session()
    try:
        if is_batch(args):   # several files, one session: each committed as it is done (runtime/jobs/batch_run.py)
            return run_batch(session, args, store or JsonStore(), fence, run)
        manifest = run(session, args, store or JsonStore())
    finally:
        if spark is None and not _on_glue():
            session.stop()
    return _committed(manifest, fence, args)


def _committed(manifest: dict[str, Any], fence: Fence | None, args: JobArgs) -> dict[str, Any]:
    """The files are done in the ledger only if this run still owns the lease (its claim stands)."""
    if fence is None:
        return manifest
    committed = fence.commit(args.output_uri)
    if not committed:
        print(f"fenced at commit: the lease {args.run_token} is no longer this run's; the ledger is left as it is")
    return {**manifest, "fenced": not committed}


def run(spark: SparkSession, args: JobArgs, store: JsonStore) -> dict[str, Any]:
    """One pass over the file writes the good rows and counts everything; the file is read again only to
    write rejected rows (when there are any) and to merge (with merge keys)."""
    started = time.monotonic()
    ingested_at = datetime.now(UTC).replace(microsecond=0)
    for key, value in SESSION_SETTINGS.items():
        spark.conf.set(key, value)
    fmt = detect_format(args.input_uri, args.source_key) if args.format == "auto" else FEED_FORMATS[args.format]
    _check_version(store, args)
    with spark_failures(args.input_uri, fmt, input_gone=_gone_check(store, args)):
        raw = read_raw(spark, local_input(args.input_uri), fmt, args.schema)
        validated = validate(raw.frame, args.schema, args.merge_keys, fmt, raw.file_columns)

    counted, counts = _counted(validated, "all")
    good = _with_lineage(good_rows(counted), args, ingested_at).drop(ROW_ORDER)
    with spark_failures(args.input_uri, fmt, args.output_uri, input_gone=_gone_check(store, args)):
        good.write.mode("overwrite").parquet(args.output_uri)  # a write never globs: the URI as it is
    totals = _totals(counts)
    sample = _write_quarantine(spark, store, validated, args, fmt, ingested_at, totals)
    snapshot = _merge(spark, store, validated, args, fmt, ingested_at, totals) if args.merge_keys else None
    if snapshot is None:
        _check_version(store, args)  # still the version this run was started for, after every pass
    manifest = _manifest(args, fmt, validated, good, totals, sample, snapshot, ingested_at, started)
    store.write(args.manifest_uri, manifest)
    return manifest


def _write_quarantine(spark: SparkSession, store: JsonStore, validated: Validated, args: JobArgs, fmt: str,
                      ingested_at: datetime, totals: tuple[int, int]) -> list[str]:
    """Write the rejected rows (a second pass, only when there are any); a few of their reasons."""
    if not totals[1]:
        # Nothing to quarantine: remove what an earlier attempt may have left, without reading the file again.
        with spark_failures(args.input_uri, fmt, args.quarantine_uri):
            delete_folder(spark, args.quarantine_uri)
        return []
    counted, again = _counted(validated, "quarantine")
    bad = _with_lineage(bad_rows(counted), args, ingested_at)
    with spark_failures(args.input_uri, fmt, args.quarantine_uri, input_gone=_gone_check(store, args)):
        bad.write.mode("overwrite").parquet(args.quarantine_uri)
    _same_file(args, totals, _totals(again))
    written = literal_reader(spark).parquet(args.quarantine_uri)
    return [row[REASON] for row in written.select(REASON).limit(QUARANTINE_SAMPLE).collect()]


def _merge(spark: SparkSession, store: JsonStore, validated: Validated, args: JobArgs, fmt: str,
           ingested_at: datetime, totals: tuple[int, int]) -> SnapshotResult:
    """Apply the good rows, in file order, to the group's snapshot (another pass over the file)."""
    counted, merged = _counted(validated, "merge")
    rows = _with_lineage(good_rows(counted), args, ingested_at)

    def still_the_same_file() -> None:
        _same_file(args, totals, _totals(merged))
        _check_version(store, args)

    try:
        with spark_failures(args.input_uri, fmt, args.snapshot_uri, input_gone=_gone_check(store, args)):
            return apply_file(spark, store, args.snapshot_uri, rows, args.merge_keys, _provenance(args),
                              before_publish=still_the_same_file)
    except SnapshotError as exc:
        raise IngestError(f"snapshot {args.snapshot_uri}: {exc}") from exc


def _counted(validated: Validated, phase: str) -> tuple[Validated, Observation]:
    """``validated`` counting its rows and rejects during the next action, without a pass of its own.

    The observation also keeps Spark from pushing the good/bad filter below the validation, where every
    value would be converted twice.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    observation = Observation(f"ingest-{phase}-{uuid.uuid4().hex}")
    frame = validated.frame.observe(observation, F.count(F.lit(1)).alias("rows"), F.count(REASON).alias("bad"))
    return dataclasses.replace(validated, frame=frame), observation


def _totals(observation: Observation) -> tuple[int, int]:
    metrics = observation.get
    return int(metrics["rows"]), int(metrics["bad"])


def _check_version(store: JsonStore, args: JobArgs) -> None:
    """The input is there and holds the version the run is for (a deleted one says ``input deleted:``)."""
    try:
        problem = (store.input_gone(args.input_uri, args.source_version)
                   or store.version_problem(args.input_uri, args.source_version))
    except StorageError as exc:
        raise IngestError(str(exc)) from exc
    if problem:
        raise IngestError(problem)


def _gone_check(store: JsonStore, args: JobArgs) -> Callable[[], str | None]:
    """Asked when a pass fails on a missing path: is it the input that is gone, or something else?"""
    def gone() -> str | None:
        try:
            return store.input_gone(args.input_uri, args.source_version)
        except StorageError:
            return None  # cannot tell: report the failure as it is, not as a deletion
    return gone


def _same_file(args: JobArgs, first: tuple[int, int], again: tuple[int, int]) -> None:
    """Each pass reads the key anew; on S3 a newer version may have replaced the object in between."""
    if first != again:
        raise IngestError(
            f"{args.input_uri} changed while the run was reading it ({first[0]} rows, {first[1]} rejected, then "
            f"{again[0]} and {again[1]}): a newer version was uploaded. Nothing was published for this run; "
            "retry it (the newer version has its own run)")


def _with_lineage(frame: DataFrame, args: JobArgs, ingested_at: datetime) -> DataFrame:
    from pyspark.sql import functions as F

    values: dict[str, Any] = {"_source_key": args.source_key, "_source_version": args.source_version,
                              "_group": args.group, "_run_id": args.run_id}
    columns = [F.lit(values[name]).cast("string").alias(name) for name in LINEAGE_COLUMNS[:-1]]
    return frame.select("*", *columns, F.lit(ingested_at).cast("timestamp").alias(LINEAGE_COLUMNS[-1]))


def _provenance(args: JobArgs) -> dict[str, Any]:
    return {"file_id": args.file_id, "group": args.group, "source_key": args.source_key,
            "source_version": args.source_version, "run_id": args.run_id, "attempt": args.attempt}


def _manifest(args: JobArgs, fmt: str, validated: Validated, good: DataFrame, totals: tuple[int, int],
              sample: list[str], snapshot: SnapshotResult | None, ingested_at: datetime,
              started: float) -> dict[str, Any]:
    rows_in, rows_quarantined = totals
    return {
        "manifest_version": MANIFEST_VERSION,
        "status": "SUCCEEDED",
        "job_name": args.job_name, "run_id": args.run_id, "attempt": args.attempt,
        "file_id": args.file_id, "group": args.group, "feed": args.feed or None,
        "source_key": args.source_key, "source_version": args.source_version,
        "input_uri": args.input_uri, "input_format": fmt,
        "rows_in": rows_in, "rows_out": rows_in - rows_quarantined, "rows_quarantined": rows_quarantined,
        "schema": [f"{field.name}:{field.dataType.simpleString()}" for field in good.schema.fields],
        "declared_schema": [str(column) for column in args.schema],
        "missing_columns": list(validated.missing_columns), "ignored_columns": list(validated.ignored_columns),
        "quarantine_sample": sample,
        "merge_keys": list(args.merge_keys),
        "output_uri": args.output_uri, "quarantine_uri": args.quarantine_uri, "manifest_uri": args.manifest_uri,
        "snapshot_uri": args.snapshot_uri or None, "snapshot": snapshot.as_manifest() if snapshot else None,
        "ingested_at": ingested_at.isoformat(),
        "duration_s": round(time.monotonic() - started, 3),
    }


def _on_glue() -> bool:
    try:
        import awsglue  # noqa: F401
    except ImportError:
        return False
    return True


def _new_session() -> SparkSession:
    """Glue's session on Glue; locally a plain one (no UI, no progress bars in the job's output)."""
    if _on_glue():
        from awsglue.context import GlueContext
        from pyspark.context import SparkContext

        glue_session: SparkSession = GlueContext(SparkContext.getOrCreate()).spark_session
        return glue_session
    from pyspark.sql import SparkSession

    return (SparkSession.builder.appName("landing-ingest")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate())


if __name__ == "__main__":
    import json

    print(json.dumps(main(sys.argv[1:]), indent=2, default=str))
