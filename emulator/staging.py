"""One Glue run's local mirror of the S3 objects it reads and writes (the Spark executor's staging).

The landed object is mirrored under a name made for the local disk, not under its key: an S3 key may be
1,024 bytes in one segment (a file name is at most 255), hold ``..`` or ``//`` segments (which would leave
or collapse the run's folder) or a ``:`` (which Hadoop's local filesystem cannot name a checksum file
for). The job sees ``<root>/_input/<hash of the key><extension>`` and the manifest it writes is mapped back
to the real ``s3://`` URI. Everything the job writes is under folders the pipeline named
(runtime/paths.py), so those mirror their keys as they are.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from landing_pipeline.emulator.glue_engine import RunRequest
from landing_pipeline.runtime.contract import (
    BATCH_ARG,
    BATCH_URI_ARG,
    GLUE_JOB_NAME_ARG,
    GLUE_RUN_ID_ARG,
    INPUT_DELETED,
    INPUT_URI_ARG,
    OUTPUT_URI_ARG,
    QUARANTINE_URI_ARG,
    SNAPSHOT_URI_ARG,
    SOURCE_VERSION_ARG,
)

REPLACED_PREFIXES = (OUTPUT_URI_ARG, QUARANTINE_URI_ARG)
INPUT_FOLDER = "_input"
MISSING_CODES = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")
_EXTENSION = re.compile(r"(\.[A-Za-z0-9]{1,10}){1,3}$")


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


class Cancelled(RuntimeError):
    pass


class StagedRun:
    """One run's local mirror of the S3 objects it reads and writes.

    ``s3://bucket/key`` <-> ``file://<root>/bucket/key`` (raw, as the job's contract wants). The data the job
    writes with Spark is uploaded when the job writes one of its JSON documents (snapshot pointer, manifest)
    and those documents go straight to emulated S3 through the job's ``store`` hook, so the order on S3 is
    the job's order (data, then pointer, then manifest) and the job's own check that the pointer did not move
    during its merge reads the live pointer, shared with every other run, as on Glue.
    """

    def __init__(self, s3: Any, root: Path, request: RunRequest, entries: list[dict[str, str]] | None = None):
        self.s3, self.root, self.request = s3, root, request
        self.entries = list(entries or [])
        """A batch run's files (``--batch`` or the object ``--batch_uri`` names); empty for a run of one file."""
        self.inputs: dict[str, str] = {}
        """Local input URI -> the S3 URI it mirrors, for every file of the run."""
        self.reported: dict[int, str] = {}
        self.local_prefix = f"file://{root.as_posix()}/"
        self.staged: dict[Path, str] = {}
        self.uploaded: dict[Path, str] = {}
        self.replaced: set[str] = set()
        self.input_uri = self.request.arguments.get(INPUT_URI_ARG, "")
        self.local_input = ""
        """The ``file://`` URI the job reads the landed object from (empty when the input is not on S3)."""
        if self.input_uri.startswith("s3://"):
            self.local_input = f"{self.local_prefix}{INPUT_FOLDER}/{local_input_name(self.input_uri)}"

    def local(self, uri: str) -> Path:
        bucket, key = split_s3(uri)
        return self.root / bucket / key

    def to_local_text(self, data: bytes) -> bytes:
        return data.replace(b"s3://", self.local_prefix.encode())

    def to_s3_text(self, data: bytes) -> bytes:
        if self.local_input:  # the input's local name back to its key (JSON-escaped, as in the document)
            data = data.replace(json.dumps(self.local_input)[1:-1].encode(), json.dumps(self.input_uri)[1:-1].encode())
        for local, remote in self.inputs.items():   # the other files of a batch
            data = data.replace(json.dumps(local)[1:-1].encode(), json.dumps(remote)[1:-1].encode())
        for local in (self.local_prefix, f"file:{self.root.as_posix()}/"):
            data = data.replace(local.encode(), b"s3://")
        return data

    def stage(self) -> list[str]:
        """Download the input version and the group's snapshot; the job's argv with local URIs."""
        args = dict(self.request.arguments)
        input_uri = args.get(INPUT_URI_ARG, "")
        if input_uri.startswith("s3://"):
            bucket, key = split_s3(input_uri)
            get: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if args.get(SOURCE_VERSION_ARG) and args[SOURCE_VERSION_ARG] != "null":
                get["VersionId"] = args[SOURCE_VERSION_ARG]
            try:
                body = self.s3.get_object(**get)["Body"].read()
            except Exception as exc:  # the run fails as Glue's would, naming the error code
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                version = get.get("VersionId", "latest")
                if code in MISSING_CODES:  # this GetObject of the key and version is the check of the input
                    raise FileNotFoundError(f"{INPUT_DELETED} {input_uri} (version {version}) was deleted before "
                                            f"this run could read it ({code})") from None
                raise FileNotFoundError(f"input {input_uri} (version {version}) cannot be read: {code}") from None
            self._write_staged(self.root / INPUT_FOLDER / local_input_name(input_uri), body, digest="")
        snapshot = args.get(SNAPSHOT_URI_ARG, "")
        if snapshot.startswith("s3://"):
            bucket, prefix = split_s3(snapshot)
            self.local(snapshot).mkdir(parents=True, exist_ok=True)
            for item in _list(self.s3, bucket, prefix):
                if item.endswith(".json"):
                    continue  # pointers are read live from S3 through the store
                data = self.s3.get_object(Bucket=bucket, Key=item)["Body"].read()
                self._write_staged(self.root / bucket / item, data, digest=hashlib.sha256(data).hexdigest())
        if self.entries:   # a batch: every file's input, the list inline with local URIs
            args.pop(BATCH_URI_ARG, None)
            args[BATCH_ARG] = json.dumps([self._stage_entry(entry) for entry in self.entries])
        argv = [GLUE_JOB_NAME_ARG, self.request.job_name, GLUE_RUN_ID_ARG, self.request.run_id]
        for name, value in args.items():
            if name in (GLUE_JOB_NAME_ARG, GLUE_RUN_ID_ARG, BATCH_ARG):
                if name == BATCH_ARG:
                    argv += [name, value]
                continue
            if name == INPUT_URI_ARG and self.local_input:
                value = self.local_input
            elif value.startswith("s3://"):
                value = self.local_prefix + value[len("s3://"):]
            argv += [name, value]
        return argv

    def _stage_entry(self, entry: dict[str, str]) -> dict[str, str]:
        """One file of a batch, staged: its input downloaded (a version that is gone is left missing, so the job
        fails on that file, with ``input deleted:``, when it reaches it) and its URIs made local."""
        local = dict(entry)
        uri = entry["input_uri"]
        if uri.startswith("s3://"):
            name = f"{self.local_prefix}{INPUT_FOLDER}/{local_input_name(uri)}"
            self.inputs[name] = uri
            bucket, key = split_s3(uri)
            get: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if entry.get("source_version") and entry["source_version"] != "null":
                get["VersionId"] = entry["source_version"]
            try:
                body = self.s3.get_object(**get)["Body"].read()
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                if code not in MISSING_CODES:
                    raise
            else:
                self._write_staged(self.root / INPUT_FOLDER / local_input_name(uri), body, digest="")
            local["input_uri"] = name
        for field_name in ("output_uri", "quarantine_uri", "manifest_uri"):
            if local[field_name].startswith("s3://"):
                local[field_name] = self.local_prefix + local[field_name][len("s3://"):]
        return local

    def replaced_prefixes(self) -> list[str]:
        """The output folders the job replaces: the run's, and each file's of a batch."""
        uris = [self.request.arguments.get(name, "") for name in REPLACED_PREFIXES]
        uris += [entry[field_name] for entry in self.entries for field_name in ("output_uri", "quarantine_uri")]
        return list(dict.fromkeys(uri for uri in uris if uri))

    def progress(self, document: dict[str, Any]) -> None:
        """A batch's run manifest as the job rewrites it (before and after each file): each file's start and end
        go to the run log, stamped with the pipeline clock."""
        report = self.request.progress
        if report is None:
            return
        for f in document.get("files") or []:
            position, status = int(f.get("position", 0)), str(f.get("status", ""))
            seen = self.reported.get(position)
            if seen is None:
                report.started(position, str(f.get("file_id", "")), str(f.get("source_key", "")))
                self.reported[position] = seen = "RUNNING"
            if status != "RUNNING" and seen == "RUNNING":
                report.finished(position, status, str(f.get("error", "")))
                self.reported[position] = status

    def _write_staged(self, path: Path, data: bytes, *, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.staged[path] = digest

    def store(self) -> Any:
        from landing_pipeline.runtime.jobs.storage import JsonStore

        run = self

        class EmulatedS3Store(JsonStore):
            def read(self, uri: str) -> dict[str, Any] | None:
                if not uri.startswith(run.local_prefix):
                    return super().read(uri)
                bucket, _, key = uri[len(run.local_prefix):].partition("/")
                try:
                    body = run.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                except run.s3.exceptions.NoSuchKey:
                    return None
                document = json.loads(run.to_local_text(body))
                return document if isinstance(document, dict) else None

            def write(self, uri: str, document: dict[str, Any]) -> None:
                if document.get("kind") == "batch":
                    run.progress(document)
                if not uri.startswith(run.local_prefix):
                    super().write(uri, document)
                    return
                run.sync()  # the data this document describes is on S3 before the document
                bucket, _, key = uri[len(run.local_prefix):].partition("/")
                body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
                run.s3.put_object(Bucket=bucket, Key=key, Body=run.to_s3_text(body), ContentType="application/json")

        return EmulatedS3Store()

    def sync(self) -> None:
        """Upload what the job wrote since the last sync; output and quarantine prefixes are replaced."""
        if self.request.cancelled.is_set():
            raise Cancelled()
        produced: dict[tuple[str, str], Path] = {}
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.endswith(".crc") or path.name.startswith("."):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path in self.staged and self.staged[path] in ("", digest):
                continue  # the input, or a snapshot file the run did not change
            if self.uploaded.get(path) == digest:
                continue
            bucket, _, key = path.relative_to(self.root).as_posix().partition("/")
            produced[(bucket, key)] = path
            self.uploaded[path] = digest
        for uri in self.replaced_prefixes():
            if uri.startswith("s3://") and uri not in self.replaced:
                bucket, prefix = split_s3(uri)
                fresh = {key for (b, key) in produced if b == bucket}
                for old in _list(self.s3, bucket, prefix):
                    if old not in fresh:
                        self.s3.delete_object(Bucket=bucket, Key=old)
                self.replaced.add(uri)
        for (bucket, key), path in produced.items():
            data = path.read_bytes()
            self.s3.put_object(Bucket=bucket, Key=key, Body=self.to_s3_text(data) if key.endswith(".json") else data)


def local_input_name(input_uri: str) -> str:
    """The landed object's local file name: a hash of its URI and the key's extension (which tells the job the
    format), never the key itself (see the module docstring)."""
    extension = _EXTENSION.search(input_uri.rsplit("/", 1)[-1])
    digest = hashlib.sha256(input_uri.encode("utf-8")).hexdigest()[:32]
    return digest + (extension.group(0).lower() if extension else "")


def _list(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents") or []]
    return keys
