"""The real Glue job script, run on local PySpark against files staged from (emulated) S3.

pip's PySpark has no S3 filesystem, so each run works on local copies: the
landed object version and the group's current snapshot are downloaded to a
temporary folder, every ``s3://`` argument is rewritten to the matching
``file://`` path, the job's ``main(argv, spark)`` runs, and what it wrote
(Parquet output, quarantine, manifest, snapshot) is uploaded back. The output
and quarantine prefixes are replaced, as the job's overwrite does on S3. The
script is the one the stack deployed (the Glue job's ``ScriptLocation``), so the
demo runs the very file Glue would. One Spark session serves every run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from emulator.aws import InProcessAWS
from emulator.glue_engine import RunOutcome, RunRequest

REPLACED_PREFIXES = ("--output_uri", "--quarantine_uri")
_session: Any = None
_session_lock = threading.Lock()
_session_start_s: float | None = None


def shared_session(log_dir: Path | None = None) -> Any:
    """The one local SparkSession every run shares, started on first use (``local[2]``, UI and progress bars off).

    The JVM writes its start-up warnings and log lines to the stderr it inherits; it is started with stderr
    pointing at ``spark-jvm.log`` (in ``log_dir``, else a temporary folder) so they do not tear through the
    demo's display, and keeps writing there.
    """
    global _session, _session_start_s
    with _session_lock:
        if _session is None:
            import os

            from pyspark.sql import SparkSession

            started = time.monotonic()
            folder = log_dir or Path(tempfile.mkdtemp(prefix="landing-spark-"))
            folder.mkdir(parents=True, exist_ok=True)
            saved = os.dup(2)
            with open(folder / "spark-jvm.log", "ab") as log:
                os.dup2(log.fileno(), 2)
                try:
                    _session = (SparkSession.builder.master("local[2]").appName("landing-emulator")
                                .config("spark.ui.enabled", "false")
                                .config("spark.ui.showConsoleProgress", "false")
                                .config("spark.sql.shuffle.partitions", "2")
                                .config("spark.sql.session.timeZone", "UTC")
                                .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
                                .getOrCreate())
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
            _session.sparkContext.setLogLevel("ERROR")
            _session_start_s = time.monotonic() - started
        return _session


def stop_shared_session() -> None:
    global _session
    with _session_lock:
        if _session is not None:
            _session.stop()
            _session = None


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


class SparkExecutor:
    def __init__(self, aws: InProcessAWS, job_name: str, stop: threading.Event, workdir: Path | None = None):
        self.aws, self.job_name, self.stop = aws, job_name, stop
        self.s3 = aws.client("s3")
        self._workdir = Path(workdir or tempfile.mkdtemp(prefix="landing-glue-"))
        self._module: ModuleType | None = None
        self._lock = threading.Lock()
        self.spark_start_s: float | None = None
        self.notes: list[str] = []
        """What the demo should tell the user about the deployed job (things the emulator had to paper over)."""

    # -- one shared session, one loaded script ------------------------------------------------------
    def session(self) -> Any:
        spark = shared_session(self._workdir)
        self.spark_start_s = _session_start_s
        return spark

    def script(self) -> ModuleType:
        """The job script the stack deployed, loaded from the job's ScriptLocation in emulated S3."""
        with self._lock:
            if self._module is None:
                job = self.aws.client("glue").get_job(JobName=self.job_name)["Job"]
                location = job["Command"]["ScriptLocation"]
                bucket, key = split_s3(location)
                source = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                path = self._workdir / "_script" / Path(key).name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(source)
                spec = importlib.util.spec_from_file_location(f"landing_glue_script_{path.stem}", path)
                if spec is None or spec.loader is None:
                    raise RuntimeError(f"cannot load the job script {location}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                if not callable(getattr(module, "main", None)):
                    raise RuntimeError(f"the job script {location} has no main(argv, spark=None)")
                self._module = module
                self._check_helper_modules(job.get("DefaultArguments") or {})
            return self._module

    def _check_helper_modules(self, arguments: dict[str, str]) -> None:
        """On Glue the script imports ``runtime.jobs`` from the zip named by ``--extra-py-files``; here the package
        is importable from the checkout, which would hide a job deployed without it. Say so instead."""
        location = arguments.get("--extra-py-files", "")
        if not location:
            self.notes.append("the deployed Glue job has no --extra-py-files: on AWS its script cannot import "
                              "runtime.jobs (docs/interfaces.md, 'Helper modules'); the emulator ran it with the "
                              "local package")
            return
        for uri in location.split(","):
            if uri.startswith("s3://"):
                bucket, key = split_s3(uri)
                try:
                    self.s3.head_object(Bucket=bucket, Key=key)
                except Exception:
                    self.notes.append(f"--extra-py-files names {uri}, which the stack did not upload: on AWS the "
                                      "job would fail at import")

    def close(self) -> None:
        stop_shared_session()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- a run ----------------------------------------------------------------------------------------
    def execute(self, request: RunRequest, forced: str | None) -> RunOutcome:
        if forced == "TIMEOUT":
            self.aws.clock.sleep(request.timeout_s, self.stop)
            return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        root = self._workdir / request.run_id
        try:
            staged = _StagedRun(self.s3, root, request)
            argv = staged.stage()
            if forced == "FAILED":
                return RunOutcome("FAILED", "injected failure (fault fail-run)")
            self.script().main(argv, spark=self.session(), store=staged.store())
            staged.sync()  # anything written after the manifest (nothing, normally)
        except _Cancelled:
            return RunOutcome("TIMEOUT", "cancelled at the job timeout")
        except Exception as exc:
            return RunOutcome("FAILED", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return RunOutcome("SUCCEEDED")


class _Cancelled(RuntimeError):
    pass


class _StagedRun:
    """One run's local mirror of the S3 objects it reads and writes.

    ``s3://bucket/key`` <-> ``file://<root>/bucket/key`` (raw, as the job's contract wants). The data the job
    writes with Spark is uploaded when the job writes one of its JSON documents (snapshot pointer, manifest)
    and those documents go straight to emulated S3 through the job's ``store`` hook, so the order on S3 is
    the job's order (data, then pointer, then manifest) and the job's own check that the pointer did not move
    during its merge reads the live pointer, shared with every other run, as on Glue.
    """

    def __init__(self, s3: Any, root: Path, request: RunRequest):
        self.s3, self.root, self.request = s3, root, request
        self.local_prefix = f"file://{root.as_posix()}/"
        self.staged: dict[Path, str] = {}
        self.uploaded: dict[Path, str] = {}
        self.replaced: set[str] = set()

    def local(self, uri: str) -> Path:
        bucket, key = split_s3(uri)
        return self.root / bucket / key

    def to_local_text(self, data: bytes) -> bytes:
        return data.replace(b"s3://", self.local_prefix.encode())

    def to_s3_text(self, data: bytes) -> bytes:
        for local in (self.local_prefix, f"file:{self.root.as_posix()}/"):
            data = data.replace(local.encode(), b"s3://")
        return data

    def stage(self) -> list[str]:
        """Download the input version and the group's snapshot; the job's argv with local URIs."""
        args = dict(self.request.arguments)
        input_uri = args.get("--input_uri", "")
        if input_uri.startswith("s3://"):
            bucket, key = split_s3(input_uri)
            get: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if args.get("--source_version") and args["--source_version"] != "null":
                get["VersionId"] = args["--source_version"]
            try:
                body = self.s3.get_object(**get)["Body"].read()
            except Exception as exc:  # the run fails as Glue's would, naming the error code
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                raise FileNotFoundError(f"input {input_uri} (version {get.get('VersionId', 'latest')}) cannot "
                                        f"be read: {code}") from None
            self._write_staged(self.local(input_uri), body, digest="")
        snapshot = args.get("--snapshot_uri", "")
        if snapshot.startswith("s3://"):
            bucket, prefix = split_s3(snapshot)
            self.local(snapshot).mkdir(parents=True, exist_ok=True)
            for item in _list(self.s3, bucket, prefix):
                if item.endswith(".json"):
                    continue  # pointers are read live from S3 through the store
                data = self.s3.get_object(Bucket=bucket, Key=item)["Body"].read()
                self._write_staged(self.root / bucket / item, data, digest=hashlib.sha256(data).hexdigest())
        argv = ["--JOB_NAME", self.request.job_name, "--JOB_RUN_ID", self.request.run_id]
        for name, value in args.items():
            if name in ("--JOB_NAME", "--JOB_RUN_ID"):
                continue
            if value.startswith("s3://"):
                value = self.local_prefix + value[len("s3://"):]
            argv += [name, value]
        return argv

    def _write_staged(self, path: Path, data: bytes, *, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.staged[path] = digest

    def store(self) -> Any:
        from runtime.jobs.storage import JsonStore

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
            raise _Cancelled()
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
        for name in REPLACED_PREFIXES:
            uri = self.request.arguments.get(name, "")
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


def _list(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents") or []]
    return keys
