"""The job's arguments (docs/interfaces.md, "Glue job"), read the Glue way on Glue and with argparse elsewhere.

Glue passes every job argument as ``--name value`` plus its own (``--JOB_NAME``, ``--JOB_RUN_ID``,
``--job-bookmark-option``, ``--TempDir``, ``--enable-metrics`` ...), so unknown arguments are ignored,
never an error. ``getResolvedOptions`` treats every listed option as required and refuses the reserved
``JOB_RUN_ID`` as an option (it returns it anyway), so only the always-present arguments go through it;
the optional ones (empty merge keys, no schema) are read leniently by the same parser locally and on Glue.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from landing_pipeline.runtime.contract import (
    ATTEMPT_ARG,
    BATCH_ARG,
    BATCH_FIELDS,
    BATCH_URI_ARG,
    FEED_ARG,
    FILE_ID_ARG,
    FORMAT_ARG,
    GLUE_JOB_NAME_ARG,
    GLUE_RUN_ID_ARG,
    GROUP_ARG,
    INPUT_URI_ARG,
    LEDGER_TABLE_ARG,
    MANIFEST_URI_ARG,
    MERGE_KEYS_ARG,
    OUTPUT_URI_ARG,
    QUARANTINE_URI_ARG,
    RUN_MANIFEST_URI_ARG,
    RUN_TOKEN_ARG,
    SCHEMA_ARG,
    SNAPSHOT_URI_ARG,
    SORT_KEYS_ARG,
    SOURCE_KEY_ARG,
    SOURCE_VERSION_ARG,
)
from landing_pipeline.runtime.jobs.schema import Column, JobArgumentError, parse_merge_keys, parse_schema


def _dest(argument: str) -> str:
    """``--input_uri`` -> ``input_uri``: the contract names the arguments as passed, argparse by destination."""
    return argument.removeprefix("--")


REQUIRED = tuple(_dest(arg) for arg in (INPUT_URI_ARG, OUTPUT_URI_ARG, QUARANTINE_URI_ARG, MANIFEST_URI_ARG))
OPTIONAL = {
    _dest(SOURCE_KEY_ARG): "",
    _dest(SOURCE_VERSION_ARG): "",
    _dest(GROUP_ARG): "",
    _dest(FILE_ID_ARG): "",
    _dest(ATTEMPT_ARG): "1",
    _dest(SNAPSHOT_URI_ARG): "",
    _dest(MERGE_KEYS_ARG): "",
    _dest(SCHEMA_ARG): "[]",
    _dest(GLUE_RUN_ID_ARG): "",
    _dest(GLUE_JOB_NAME_ARG): "",
    _dest(RUN_TOKEN_ARG): "",
    _dest(LEDGER_TABLE_ARG): "",
    _dest(FORMAT_ARG): "auto",
    _dest(FEED_ARG): "",
    _dest(SORT_KEYS_ARG): "[]",
    _dest(BATCH_ARG): "",
    _dest(BATCH_URI_ARG): "",
    _dest(RUN_MANIFEST_URI_ARG): "",
}
_HELP = {
    "input_uri": "the file to ingest: s3://bucket/key on Glue, file:///path or a path locally",
    "output_uri": "folder for the good rows as Parquet (replaced on rerun), unique to the file version",
    "quarantine_uri": "folder for rejected rows with _reason (replaced on rerun)",
    "manifest_uri": "where the run's manifest JSON is written (last, as the mark of a complete run)",
    "source_key": "the landed object's key (lineage; default: the input URI)",
    "source_version": "the landed object's version id (lineage)",
    "group": "the file's group (lineage)",
    "file_id": "the file's dedup id (correlation with the ledger)",
    "attempt": "attempt number, 1-based (recorded in the manifest)",
    "snapshot_uri": "folder of the group's snapshot versions and _current.json pointer (needed with merge keys)",
    "merge_keys": "comma-separated key columns; empty: no snapshot merge",
    "schema": 'JSON list of "name:type"; [] for none',
    "JOB_RUN_ID": "Glue's run id (set by Glue; generated locally when absent)",
    "JOB_NAME": "Glue's job name (set by Glue)",
    "run_token": "the group lease's run token: the run claims the lease with it before touching data (fencing)",
    "ledger_table": "the ledger table the lease lives in (with --run_token)",
    "sort_keys": "JSON list of the ledger sort keys of the files in the lease (committed one by one)",
    "batch": "a batch run's files, head first: JSON list of objects with file_id, sort_key, input_uri, source_key, "
             "source_version, attempt, output_uri, quarantine_uri, manifest_uri (absent: one file, named above)",
    "batch_uri": "a JSON object {\"files\": [...]} holding the batch list, when --batch would be too long",
    "run_manifest_uri": "where a batch run writes its per-file results (after every file)",
    "feed": "the feed the files belong to (recorded in the manifest as feed)",
    "format": "csv, jsonl or parquet: how to read the files (a feed's format); auto: from each file's suffix",
}


@dataclass(frozen=True)
class JobArgs:
    input_uri: str
    output_uri: str
    quarantine_uri: str
    manifest_uri: str
    source_key: str
    source_version: str
    group: str
    file_id: str
    attempt: int
    snapshot_uri: str
    merge_keys: tuple[str, ...]
    schema: tuple[Column, ...]
    run_id: str
    job_name: str
    run_token: str = ""
    ledger_table: str = ""
    sort_keys: tuple[str, ...] = ()
    batch: str = ""
    batch_uri: str = ""
    run_manifest_uri: str = ""
    format: str = "auto"
    feed: str = ""


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting, so a caller such as the emulator gets the message as an exception."""

    def error(self, message: str) -> NoReturn:
        raise JobArgumentError(f"{message}; run with --help for the arguments")


def build_parser() -> argparse.ArgumentParser:
    """Every argument is optional to argparse; ``parse_args`` reports all missing required ones at once."""
    parser = _Parser(
        prog="ingest_job.py", allow_abbrev=False,
        description="Ingest one landed file: validate, quarantine bad rows, write Parquet with lineage, "
                    "optionally merge into the group's snapshot, write a manifest.",
        epilog="example: python runtime/jobs/ingest_job.py --input_uri file:///tmp/in/orders_1.csv "
               "--output_uri file:///tmp/out/processed/orders/f1/ --quarantine_uri file:///tmp/out/quarantine/"
               "orders/f1/ --manifest_uri file:///tmp/out/manifests/orders/f1.json "
               "--schema '[\"id:bigint\",\"amount:decimal(12,2)\"]'")
    for name in REQUIRED:
        parser.add_argument(f"--{name}", default="", help=f"(required) {_HELP[name]}")
    for name, default in OPTIONAL.items():
        parser.add_argument(f"--{name}", default=default, help=_HELP[name])
    return parser


def _glue_required(argv: list[str]) -> dict[str, str]:
    """On Glue, read the always-present arguments with Glue's own resolver; locally return nothing."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        return {}
    resolved = getResolvedOptions(["ingest_job.py", *argv], list(REQUIRED))
    return {key: value for key, value in resolved.items() if isinstance(value, str)}


def _attach_values(argv: list[str]) -> list[str]:
    """``--source_key -x.csv`` -> ``--source_key=-x.csv``: argparse would read a value that starts with '-'
    (an S3 key may) as an option, and an empty value as a missing one."""
    known = {f"--{name}" for name in (*REQUIRED, *OPTIONAL)}
    out: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in known and index + 1 < len(argv) and argv[index + 1] not in known:
            out.append(f"{token}={argv[index + 1]}")
            index += 2
        else:
            out.append(token)
            index += 1
    return out


def parse_args(argv: list[str]) -> JobArgs:
    """Parse and check the arguments; raises ``JobArgumentError`` naming the argument and the fix."""
    values = dict(_glue_required(argv))
    # Glue adds arguments of its own (--enable-metrics, --TempDir ...): ignore what is not ours.
    parsed, _unknown = build_parser().parse_known_args(_attach_values(argv))
    for key, value in vars(parsed).items():
        values.setdefault(key, value if value is not None else "")
    missing = [f"--{name}" for name in REQUIRED if not values.get(name)]
    if missing:
        raise JobArgumentError(f"missing {', '.join(missing)}; the dispatcher passes them "
                               "(docs/interfaces.md, 'Glue job'), run with --help for an example")
    try:
        attempt = int(values["attempt"] or "1")
    except ValueError:
        raise JobArgumentError(f"--attempt: {values['attempt']!r} is not a whole number; pass e.g. 1") from None
    if attempt < 1:
        raise JobArgumentError(f"--attempt: {attempt} must be 1 or more")
    schema = parse_schema(values["schema"])
    merge_keys = parse_merge_keys(values["merge_keys"], schema)
    if merge_keys and not values["snapshot_uri"]:
        raise JobArgumentError("--merge_keys is set but --snapshot_uri is empty; pass the group's snapshot "
                               "folder, e.g. s3://<output bucket>/snapshots/<group>/")
    return JobArgs(
        input_uri=values["input_uri"], output_uri=values["output_uri"],
        quarantine_uri=values["quarantine_uri"], manifest_uri=values["manifest_uri"],
        source_key=values["source_key"] or values["input_uri"], source_version=values["source_version"],
        group=values["group"], file_id=values["file_id"], attempt=attempt,
        snapshot_uri=values["snapshot_uri"], merge_keys=merge_keys, schema=schema,
        run_id=values["JOB_RUN_ID"] or local_run_id(), job_name=values["JOB_NAME"],
        run_token=values["run_token"], ledger_table=values["ledger_table"],
        sort_keys=_sort_keys(values["sort_keys"]),
        batch=values["batch"], batch_uri=values["batch_uri"], run_manifest_uri=values["run_manifest_uri"],
        format=_format(values["format"]), feed=values["feed"],
    )


def batch_files(args: JobArgs, document: dict[str, Any] | None = None) -> list[JobArgs]:
    """The run's files as one ``JobArgs`` each, head first: the batch list (``--batch``, or ``document``, the
    object ``--batch_uri`` names), else the one file the arguments name. Each file keeps the run's group,
    snapshot, schema, merge keys, run id and lease, and has its own input, lineage and output folders."""
    import json

    if not args.batch and document is None:
        return [args]
    try:
        entries = json.loads(args.batch) if args.batch else (document or {}).get("files")
    except ValueError:
        raise JobArgumentError(f"--batch: {args.batch[:80]!r} is not a JSON list of files") from None
    if not isinstance(entries, list) or not entries:
        raise JobArgumentError("--batch/--batch_uri: expected a non-empty JSON list of files")
    files: list[JobArgs] = []
    for position, entry in enumerate(entries, 1):
        missing = [name for name in BATCH_FIELDS if not isinstance(entry, dict) or name not in entry]
        if missing:
            raise JobArgumentError(f"--batch: file {position} lacks {', '.join(missing)}")
        try:
            attempt = int(entry["attempt"])
        except (TypeError, ValueError):
            raise JobArgumentError(f"--batch: file {position} has attempt {entry['attempt']!r}") from None
        files.append(dataclasses.replace(
            args, input_uri=str(entry["input_uri"]), source_key=str(entry["source_key"] or entry["input_uri"]),
            source_version=str(entry["source_version"]), file_id=str(entry["file_id"]), attempt=attempt,
            output_uri=str(entry["output_uri"]), quarantine_uri=str(entry["quarantine_uri"]),
            manifest_uri=str(entry["manifest_uri"]), sort_keys=(str(entry["sort_key"]),)))
    return files


def _sort_keys(text: str) -> tuple[str, ...]:
    import json

    try:
        keys = json.loads(text or "[]")
    except ValueError:
        raise JobArgumentError(f"--sort_keys: {text[:80]!r} is not a JSON list of strings") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise JobArgumentError(f"--sort_keys: {text[:80]!r} is not a JSON list of strings")
    return tuple(keys)


def local_run_id() -> str:
    """A run id for runs outside Glue, sortable and recognisably not Glue's ``jr_<hex>``."""
    return f"local_{datetime.now(UTC):%Y%m%dT%H%M%S}_{secrets.token_hex(4)}"


def _format(text: str) -> str:
    """``--format`` as the job reads it: auto, csv, jsonl (JSON lines) or parquet."""
    value = (text or "auto").strip().lower()
    if value not in ("auto", "csv", "jsonl", "parquet"):
        raise JobArgumentError(f"--format: {text!r} is not a format; pass csv, jsonl, parquet or auto")
    return value
