"""The Glue job's arguments and output locations, built in one pure function.

The dispatcher starts runs with these arguments, the completion handler records
the output location from them, the crash recovery finds a run again by them,
and the emulator and the job read them: one builder keeps all of them in step
with the table in docs/interfaces.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from landing_pipeline.runtime.contract import (
    ATTEMPT_ARG,
    BATCH_ARG,
    BATCH_URI_ARG,
    FEED_ARG,
    FILE_ID_ARG,
    FORMAT_ARG,
    GROUP_ARG,
    INPUT_URI_ARG,
    MANIFEST_URI_ARG,
    MERGE_KEYS_ARG,
    OUTPUT_URI_ARG,
    QUARANTINE_URI_ARG,
    RUN_MANIFEST_URI_ARG,
    SCHEMA_ARG,
    SNAPSHOT_URI_ARG,
    SOURCE_KEY_ARG,
    SOURCE_VERSION_ARG,
)
from landing_pipeline.runtime.paths import path_component
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.values import Frozen


class JobInput(Frozen):
    """The file a run processes (what the ordered queue's message carries)."""

    _fields = __slots__ = ("bucket", "key", "version_id", "group", "file_id")
    bucket: str
    key: str
    version_id: str | None
    group: str
    file_id: str

    def __init__(self, bucket: str, key: str, version_id: str | None, group: str, file_id: str) -> None:
        self._init(bucket, key, version_id, group, file_id)


def output_uri(spec: PipelineSpec, output_bucket: str, group: str, file_id: str, table: str = "") -> str:
    """``processed/<group>/<file_id>/``; a feed's files under its table, ``processed/<table>/<group>/...``, so
    the catalog table's location holds that feed's files only (runtime/catalog.py)."""
    nested = f"{table}/" if table else ""
    return f"s3://{output_bucket}/{spec.output_prefix}{nested}{path_component(group)}/{file_id}/"


def job_arguments(spec: PipelineSpec, file: JobInput, *, attempt: int, output_bucket: str) -> dict[str, str]:
    """Every argument of one run. Paths are unique to the file version, so a rerun replaces only its own
    output; the snapshot path is per group, which is why runs of one group must never overlap."""
    group, file_id = file.group, file.file_id
    folder = path_component(group)  # the group as a folder no reader globs (runtime/paths.py)
    feed = None   # None: the stack-wide settings apply
    if spec.feeds:
        from landing_pipeline.runtime.feeds import feed_of_key  # only stacks with feeds import the module

        feed = feed_of_key(spec.feeds, group, file.key)
    # a feed's own schema and merge keys are the whole of them: one that declares none reads its files unmerged
    schema, merge_keys = (feed.schema, feed.merge_keys) if feed is not None else (spec.schema, spec.merge_keys)
    table = feed.table_name if feed is not None else ""
    nested = f"{table}/" if table else ""
    arguments = {
        INPUT_URI_ARG: f"s3://{file.bucket}/{file.key}",
        SOURCE_KEY_ARG: file.key,
        SOURCE_VERSION_ARG: file.version_id or "",
        GROUP_ARG: group,
        FILE_ID_ARG: file_id,
        ATTEMPT_ARG: str(attempt),
        OUTPUT_URI_ARG: output_uri(spec, output_bucket, group, file_id, table),
        QUARANTINE_URI_ARG: f"s3://{output_bucket}/{spec.quarantine_prefix}{folder}/{file_id}/",
        MANIFEST_URI_ARG: f"s3://{output_bucket}/manifests/{folder}/{file_id}.json",
        SNAPSHOT_URI_ARG: f"s3://{output_bucket}/snapshots/{nested}{folder}/",
        MERGE_KEYS_ARG: ",".join(merge_keys),
        SCHEMA_ARG: json.dumps(list(schema)),
    }
    if feed is not None:
        arguments[FEED_ARG] = feed.name
        if feed.format != "auto":
            arguments[FORMAT_ARG] = feed.format
    return arguments


def run_matches(arguments: Mapping[str, str] | None, file_id: str, attempt: int) -> bool:
    """Whether a Glue run was started for attempt ``attempt`` of ``file_id`` (how a lost run is found)."""
    if not arguments:
        return False
    return arguments.get(FILE_ID_ARG) == file_id and arguments.get(ATTEMPT_ARG) == str(attempt)


BATCH_ARG_MAX_CHARS = 4096
"""Longest ``--batch`` value passed inline. Glue documents no limit on one argument's length that we could find;
a batch of 25 files with long keys runs to 15,000 characters, so past this the list goes to an object in the
output bucket (``--batch_uri``) and the arguments stay small (they are logged, and listed by GetJobRuns)."""


class BatchFile(Frozen):
    """One file of a run: what it is, its run number (attempts + 1) and its ledger sort key."""

    _fields = __slots__ = ("file", "attempt", "sort_key")
    file: JobInput
    attempt: int
    sort_key: str

    def __init__(self, file: JobInput, attempt: int, sort_key: str) -> None:
        self._init(file, attempt, sort_key)


class BatchObject(Frozen):
    """The batch list to write before StartJobRun when it is too long for ``--batch``."""

    _fields = __slots__ = ("uri", "document")
    uri: str
    document: dict[str, Any]

    def __init__(self, uri: str, document: dict[str, Any]) -> None:
        self._init(uri, document)


RUNS_PREFIX = "runs/"
"""The output bucket's prefix for batch lists (written by the dispatcher) and run manifests (by the job): a prefix
of its own, so the functions may write there and nowhere else in the bucket."""


def run_folder(output_bucket: str, group: str) -> str:
    """Where a group's batch lists and run manifests go."""
    return f"s3://{output_bucket}/{RUNS_PREFIX}{path_component(group)}/"


def run_arguments(spec: PipelineSpec, files: Sequence[BatchFile], *, output_bucket: str,
                  token: str) -> tuple[dict[str, str], BatchObject | None]:
    """The arguments of a run of ``files`` (head first). One file: exactly ``job_arguments`` of it. More: the
    head's file arguments too (so a run is still found and shown by its first file), then the batch list, inline
    or as an object to write first (returned), and where the job writes its per-file results."""
    head = files[0]
    arguments = job_arguments(spec, head.file, attempt=head.attempt, output_bucket=output_bucket)
    if len(files) == 1:
        return arguments, None
    entries = [batch_entry(spec, f, output_bucket) for f in files]
    folder = run_folder(output_bucket, head.file.group)
    arguments[RUN_MANIFEST_URI_ARG] = f"{folder}{token}.json"
    text = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    if len(text) <= BATCH_ARG_MAX_CHARS:
        arguments[BATCH_ARG] = text
        return arguments, None
    uri = f"{folder}{token}.batch.json"
    arguments[BATCH_URI_ARG] = uri
    return arguments, BatchObject(uri, {"files": entries})


def batch_entry(spec: PipelineSpec, f: BatchFile, output_bucket: str) -> dict[str, str]:
    one = job_arguments(spec, f.file, attempt=f.attempt, output_bucket=output_bucket)
    return {"file_id": f.file.file_id, "sort_key": f.sort_key, "input_uri": one[INPUT_URI_ARG],
            "source_key": one[SOURCE_KEY_ARG], "source_version": one[SOURCE_VERSION_ARG], "attempt": str(f.attempt),
            "output_uri": one[OUTPUT_URI_ARG], "quarantine_uri": one[QUARANTINE_URI_ARG],
            "manifest_uri": one[MANIFEST_URI_ARG]}


def batch_file_ids(arguments: Mapping[str, str] | None) -> list[str]:
    """The file ids an inline ``--batch`` names, head first (the head alone for a one-file run)."""
    if not arguments:
        return []
    text = arguments.get(BATCH_ARG)
    if text:
        try:
            return [str(entry["file_id"]) for entry in json.loads(text)]
        except (ValueError, KeyError, TypeError):
            return []
    return [arguments[FILE_ID_ARG]] if arguments.get(FILE_ID_ARG) else []
