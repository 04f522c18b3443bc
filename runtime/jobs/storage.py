"""The job's only non-Spark I/O: small JSON objects (manifest, snapshot pointer) on S3 or local disk.

Spark reads and writes the data itself; these few objects are written from the driver so their write
is one atomic step (an S3 PUT replaces the whole object; locally a rename), which the snapshot pointer
relies on. ``s3://`` goes through boto3 (present on Glue), ``file://`` and plain paths through the
local filesystem (pip's pyspark has no S3 filesystem, so locally everything is a file).

URIs are written raw, not percent-encoded: ``s3://bucket/a key+1.csv`` names the key ``a key+1.csv``,
exactly as the dispatcher builds it from the S3 event.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from landing_pipeline.runtime.contract import INPUT_DELETED
from landing_pipeline.runtime.errors import OperationalError


class StorageError(OperationalError):
    """A JSON object could not be read or written; the message names the URI."""


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise StorageError(f"{uri!r} is not s3://bucket/key")
    return bucket, key


def local_path(uri: str) -> Path:
    """``file:///tmp/x``, ``file:/tmp/x`` or ``/tmp/x`` -> ``/tmp/x``."""
    if uri.startswith("file://"):
        return Path(uri[len("file://"):])
    if uri.startswith("file:"):
        return Path(uri[len("file:"):])
    if "://" in uri:
        raise StorageError(f"{uri!r}: unsupported scheme; use s3:// on Glue or file:// (or a plain path) locally")
    return Path(uri)


def local_input(uri: str) -> str:
    """``uri`` itself, or its percent-decoded form when only that names an existing local file.

    URIs are raw by contract, but ``Path.as_uri()`` percent-encodes (``a b.csv`` -> ``a%20b.csv``); a
    local caller that used it still finds its file. S3 URIs are never decoded: ``%20`` is a valid key.
    """
    if is_s3(uri) or "%" not in uri:
        return uri
    path = local_path(uri)
    decoded = Path(unquote(str(path)))
    if not path.exists() and decoded.exists():
        return uri.replace(str(path), str(decoded)) if str(path) in uri else str(decoded)
    return uri


def join(folder_uri: str, name: str) -> str:
    """``s3://b/snapshots/g`` + ``_current.json`` -> ``s3://b/snapshots/g/_current.json``."""
    return folder_uri.rstrip("/") + "/" + name


@dataclass
class JsonStore:
    """Reads and writes small JSON documents by URI. Pass ``s3_client`` to use your own (tests, emulator)."""

    s3_client: Any = None
    _client: Any = field(default=None, init=False, repr=False)

    def _s3(self) -> Any:
        if self.s3_client is not None:
            return self.s3_client
        if self._client is None:
            import boto3  # lazy: only a run that touches s3:// needs it

            self._client = boto3.client("s3")
        return self._client

    def read(self, uri: str) -> dict[str, Any] | None:
        """The document at ``uri``, or None when there is none."""
        try:
            if is_s3(uri):
                bucket, key = split_s3(uri)
                client = self._s3()
                try:
                    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
                except client.exceptions.NoSuchKey:
                    return None
            else:
                path = local_path(uri)
                if not path.exists():
                    return None
                body = path.read_bytes()
            document = json.loads(body)
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot read JSON from {uri}: {exc}") from exc
        if not isinstance(document, dict):
            raise StorageError(f"{uri} does not hold a JSON object")
        return document

    def version_problem(self, uri: str, expected: str) -> str | None:
        """Why ``uri`` does not hold version ``expected`` (None when it does, or when versions do not apply).

        Spark reads an S3 key's current version only; if the landed version was overwritten or deleted
        before the run, reading by path would ingest another version under this one's name.
        """
        if not is_s3(uri) or expected in ("", "null"):
            return None
        bucket, key = split_s3(uri)
        client = self._s3()
        try:
            current = client.head_object(Bucket=bucket, Key=key).get("VersionId") or "null"
        except client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _MISSING_CODES:
                return _deleted(uri, expected)
            raise StorageError(f"cannot check the version of {uri}: {exc}") from exc
        if current != expected:
            return (f"{uri} now holds version {current}, not {expected}: the object was overwritten before this "
                    f"run could read it, and Spark can only read a key's current version. Version {expected} is "
                    "still in the bucket: copy it to a new key to ingest it; the newer version has its own run")
        return None

    def input_gone(self, uri: str, version: str) -> str | None:
        """Why the input at ``uri`` is gone (a message starting with ``input deleted:``), or None when it is there.

        Asked when a read fails on a missing path, which may be another path (a snapshot version): only
        a check of the key itself (HeadObject; locally, the file) tells a deleted input from the rest.
        """
        if not is_s3(uri):
            return None if local_path(local_input(uri)).exists() else _deleted(uri, version)
        bucket, key = split_s3(uri)
        client = self._s3()
        try:
            client.head_object(Bucket=bucket, Key=key)
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in _MISSING_CODES:
                return _deleted(uri, version)
            raise StorageError(f"cannot check whether {uri} still exists: {exc}") from exc
        return None

    def write(self, uri: str, document: dict[str, Any]) -> None:
        """Replace the document at ``uri`` in one step: readers see the old one or the new one, never half."""
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        if is_s3(uri):
            bucket, key = split_s3(uri)
            self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
            return
        path = local_path(uri)
        temp = ""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temp, path)
        except OSError as exc:
            if temp:
                Path(temp).unlink(missing_ok=True)
            raise StorageError(f"cannot write {uri}: {exc}") from exc


_MISSING_CODES = ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def _deleted(uri: str, version: str) -> str:
    which = f"version {version}" if version not in ("", "null") else "it"
    return (f"{INPUT_DELETED} {uri} was deleted before this run could read {which}. If it should still be "
            "ingested, copy the version back (a versioned bucket keeps it) and land it again")
