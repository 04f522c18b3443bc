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


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


class SparkExecutor:
    def __init__(self, aws: InProcessAWS, job_name: str, stop: threading.Event, workdir: Path | None = None):
        self.aws, self.job_name, self.stop = aws, job_name, stop
        self.s3 = aws.client("s3")
        self._workdir = Path(workdir or tempfile.mkdtemp(prefix="landing-glue-"))
        self._spark: Any = None
        self._module: ModuleType | None = None
        self._lock = threading.Lock()
        self.spark_start_s: float | None = None

    # -- one shared session, one loaded script ------------------------------------------------------
    def session(self) -> Any:
        with self._lock:
            if self._spark is None:
                started = time.monotonic()
                from pyspark.sql import SparkSession

                self._spark = (SparkSession.builder.master("local[2]").appName("landing-emulator")
                               .config("spark.ui.enabled", "false")
                               .config("spark.sql.shuffle.partitions", "4")
                               .config("spark.sql.session.timeZone", "UTC")
                               .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
                               .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
                               .getOrCreate())
                self._spark.sparkContext.setLogLevel("ERROR")
                self.spark_start_s = time.monotonic() - started
            return self._spark

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
            return self._module

    def close(self) -> None:
        with self._lock:
            if self._spark is not None:
                self._spark.stop()
                self._spark = None
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- a run ----------------------------------------------------------------------------------------
    def execute(self, request: RunRequest, forced: str | None) -> RunOutcome:
        if forced == "TIMEOUT":
            self.aws.clock.sleep(request.timeout_s, self.stop)
            return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        started = self.aws.clock.now()
        root = self._workdir / request.run_id
        try:
            argv, staged = self._stage(request, root)
            if forced == "FAILED":
                return RunOutcome("FAILED", "injected failure (fault fail-run)")
            self.script().main(argv, spark=self.session())
            self._upload(request, root, staged)
        except _InputMissing as exc:
            return RunOutcome("FAILED", str(exc))
        except Exception as exc:
            return RunOutcome("FAILED", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if self.aws.clock.now() - started > request.timeout_s:
            return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        return RunOutcome("SUCCEEDED")

    def _local(self, root: Path, uri: str) -> Path:
        bucket, key = split_s3(uri)
        return root / bucket / key

    def _stage(self, request: RunRequest, root: Path) -> tuple[list[str], dict[Path, str]]:
        """Download the input version and the group's snapshot; the argv with file:// paths; staged files' hashes."""
        args = dict(request.arguments)
        staged: dict[Path, str] = {}
        input_uri = args.get("--input_uri", "")
        if input_uri.startswith("s3://"):
            bucket, key = split_s3(input_uri)
            get: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if args.get("--source_version") and args["--source_version"] != "null":
                get["VersionId"] = args["--source_version"]
            try:
                body = self.s3.get_object(**get)["Body"].read()
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                raise _InputMissing(f"input {input_uri} (version {get.get('VersionId', 'latest')}) cannot be read: "
                                    f"{code}") from None
            target = self._local(root, input_uri)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        snapshot = args.get("--snapshot_uri", "")
        if snapshot.startswith("s3://"):
            bucket, prefix = split_s3(snapshot)
            self._local(root, snapshot).mkdir(parents=True, exist_ok=True)
            for item in self._list(bucket, prefix):
                target = root / bucket / item
                target.parent.mkdir(parents=True, exist_ok=True)
                data = self.s3.get_object(Bucket=bucket, Key=item)["Body"].read()
                target.write_bytes(data)
                staged[target] = hashlib.sha256(data).hexdigest()
        if input_uri.startswith("s3://"):
            staged[self._local(root, input_uri)] = ""
        argv = ["--JOB_NAME", request.job_name, "--JOB_RUN_ID", request.run_id]
        for name, value in args.items():
            if name in ("--JOB_NAME", "--JOB_RUN_ID"):
                continue
            if value.startswith("s3://"):
                local = self._local(root, value)
                value = local.as_uri() + ("/" if value.endswith("/") else "")
            argv += [name, value]
        return argv, staged

    def _upload(self, request: RunRequest, root: Path, staged: dict[Path, str]) -> None:
        produced: dict[tuple[str, str], Path] = {}
        for path in root.rglob("*"):
            if not path.is_file() or path.name.endswith(".crc") or "_script" in path.parts:
                continue
            if path in staged and (not staged[path] or staged[path] == _sha256(path)):
                continue  # the input, or a snapshot file the run did not change
            bucket, _, key = path.relative_to(root).as_posix().partition("/")
            produced[(bucket, key)] = path
        for name in REPLACED_PREFIXES:
            uri = request.arguments.get(name, "")
            if uri.startswith("s3://"):
                bucket, prefix = split_s3(uri)
                for old in self._list(bucket, prefix):
                    if (bucket, old) not in produced:
                        self.s3.delete_object(Bucket=bucket, Key=old)
        for path in staged:
            if staged[path] and not path.exists():  # the job removed a snapshot file
                bucket, _, key = path.relative_to(root).as_posix().partition("/")
                self.s3.delete_object(Bucket=bucket, Key=key)
        pointers = [(bk, p) for bk, p in produced.items() if bk[1].endswith("_current.json")]
        for (bucket, key), path in sorted(produced.items()):
            if (bucket, key) not in dict(pointers):
                self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        for (bucket, key), path in pointers:  # the snapshot pointer last, as the job writes it on S3
            self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def _list(self, bucket: str, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents") or []]
        return keys


class _InputMissing(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
