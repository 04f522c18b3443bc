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

import atexit
import importlib.util
import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.batch_runs import batch_entries
from landing_pipeline.emulator.glue_engine import RunOutcome, RunRequest
from landing_pipeline.emulator.staging import Cancelled, StagedRun, split_s3
from landing_pipeline.runtime.contract import EXTRA_PY_FILES_ARG

_session: Any = None
_session_lock = threading.Lock()
_session_start_s: float | None = None
_session_log: Path | None = None


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
            folder = log_dir or _temporary_folder("landing-spark-")
            folder.mkdir(parents=True, exist_ok=True)
            global _session_log
            _session_log = folder / "spark-jvm.log"
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


def session_log() -> Path | None:
    """The JVM's log file of the shared session (``--keep`` copies it), while its folder exists."""
    return _session_log if _session_log is not None and _session_log.exists() else None


def _temporary_folder(prefix: str) -> Path:
    """A temporary folder removed when the process exits, however the demo ends (Ctrl-C included): a demo
    must not leave ``landing-spark-*`` / ``landing-glue-*`` folders behind in /tmp."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class SparkExecutor:
    def __init__(self, aws: InProcessAWS, job_name: str, stop: threading.Event, workdir: Path | None = None):
        self.aws, self.job_name, self.stop = aws, job_name, stop
        self.s3 = aws.client("s3")
        self._workdir = Path(workdir) if workdir else _temporary_folder("landing-glue-")
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
        """On Glue the script imports ``landing_pipeline.runtime.jobs`` from the zip named by ``--extra-py-files``;
        here the package is importable from the checkout, which would hide a job deployed without it. Say so instead."""
        location = arguments.get(EXTRA_PY_FILES_ARG, "")
        if not location:
            self.notes.append("the deployed Glue job has no --extra-py-files: on AWS its script cannot import "
                              "landing_pipeline.runtime.jobs (docs/interfaces.md, 'Helper modules'); the emulator "
                              "ran it with the local package")
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
        from landing_pipeline.emulator import fencing
        from landing_pipeline.emulator.glue_engine import FENCED

        if not fencing.claim(self.aws, request.run_id, request.arguments):
            return FENCED  # before the input is staged: a fenced run reads nothing
        if forced == "TIMEOUT":
            self.aws.clock.sleep(request.timeout_s, self.stop)
            return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        root = self._workdir / request.run_id
        try:
            staged = StagedRun(self.s3, root, request, batch_entries(self.aws, request.arguments))
            argv = staged.stage()
            if forced == "FAILED":
                return RunOutcome("FAILED", "injected failure (fault fail-run)")
            result = self.script().main(argv, spark=self.session(), store=staged.store(),
                                        ledger_client=self.aws.client("dynamodb"))
            staged.sync()  # anything written after the manifest (nothing, normally)
            if isinstance(result, dict) and result.get("fenced"):
                return RunOutcome("SUCCEEDED", "fenced: the lease is no longer this run's", True)
        except Cancelled:
            return RunOutcome("TIMEOUT", "cancelled at the job timeout")
        except Exception as exc:
            return RunOutcome("FAILED", f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return RunOutcome("SUCCEEDED")
