"""The Glue job's arguments and output locations, built in one pure function.

The dispatcher starts runs with these arguments, the completion handler records
the output location from them, the crash recovery finds a run again by them,
and the emulator and the job read them: one builder keeps all of them in step
with the table in docs/interfaces.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from landing_pipeline.runtime.contract import (
    ATTEMPT_ARG,
    FILE_ID_ARG,
    GROUP_ARG,
    INPUT_URI_ARG,
    MANIFEST_URI_ARG,
    MERGE_KEYS_ARG,
    OUTPUT_URI_ARG,
    QUARANTINE_URI_ARG,
    SCHEMA_ARG,
    SNAPSHOT_URI_ARG,
    SOURCE_KEY_ARG,
    SOURCE_VERSION_ARG,
)
from landing_pipeline.runtime.paths import path_component
from landing_pipeline.runtime.spec import PipelineSpec


@dataclass(frozen=True)
class JobInput:
    """The file a run processes (what the ordered queue's message carries)."""

    bucket: str
    key: str
    version_id: str | None
    group: str
    file_id: str


def output_uri(spec: PipelineSpec, output_bucket: str, group: str, file_id: str) -> str:
    return f"s3://{output_bucket}/{spec.output_prefix}{path_component(group)}/{file_id}/"


def job_arguments(spec: PipelineSpec, file: JobInput, *, attempt: int, output_bucket: str) -> dict[str, str]:
    """Every argument of one run. Paths are unique to the file version, so a rerun replaces only its own
    output; the snapshot path is per group, which is why runs of one group must never overlap."""
    group, file_id = file.group, file.file_id
    folder = path_component(group)  # the group as a folder no reader globs (runtime/paths.py)
    return {
        INPUT_URI_ARG: f"s3://{file.bucket}/{file.key}",
        SOURCE_KEY_ARG: file.key,
        SOURCE_VERSION_ARG: file.version_id or "",
        GROUP_ARG: group,
        FILE_ID_ARG: file_id,
        ATTEMPT_ARG: str(attempt),
        OUTPUT_URI_ARG: output_uri(spec, output_bucket, group, file_id),
        QUARANTINE_URI_ARG: f"s3://{output_bucket}/{spec.quarantine_prefix}{folder}/{file_id}/",
        MANIFEST_URI_ARG: f"s3://{output_bucket}/manifests/{folder}/{file_id}.json",
        SNAPSHOT_URI_ARG: f"s3://{output_bucket}/snapshots/{folder}/",
        MERGE_KEYS_ARG: ",".join(spec.merge_keys),
        SCHEMA_ARG: json.dumps(list(spec.schema)),
    }


def run_matches(arguments: Mapping[str, str] | None, file_id: str, attempt: int) -> bool:
    """Whether a Glue run was started for attempt ``attempt`` of ``file_id`` (how a lost run is found)."""
    if not arguments:
        return False
    return arguments.get(FILE_ID_ARG) == file_id and arguments.get(ATTEMPT_ARG) == str(attempt)
