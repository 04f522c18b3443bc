"""Files that clients outside the process land: seen in moto's S3, logged, and given the demo's landing faults.

An upload over the endpoint needs no help to reach the pipeline: moto's S3 backend sends the bucket's
EventBridge notification for every object it creates, however the request arrived (in-process or over HTTP),
and the stack's rule carries that event to the intake queue exactly as in the demo, whose own uploads take the
same path. What the demo's uploader adds around its puts is added here around every put into the landing
bucket: the landing log (``Recorder.uploaded``, what the report and chaos-style checks read as "what landed",
never the ledger) and the faults that happen between S3 and the intake queue (``delete-before-processing``,
``duplicate-event``, ``malformed-event``), injected by a worker after the put (never inside moto's request,
where the emulator's lock is held).

A put of the job's script (the Glue job's ``ScriptLocation``) makes the next run load it again, as every Glue
run reads its script from S3: that is how a developer tries an edited job without restarting the server
(``aws s3 cp ingest_job.py s3://<output bucket>/scripts/ingest_job.py``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

from landing_pipeline.emulator.observe import Upload
from landing_pipeline.emulator.pipeline import RunningPipeline

CREATED = "s3:ObjectCreated:"
SCRIPT = "script"


def _event_name(event_name: Any) -> str:
    return str(getattr(event_name, "value", event_name))


class ExternalUploads:
    """Wraps moto's ``notifications.send_event`` (outermost: install after ``pipeline.start``, uninstall before
    ``pipeline.shutdown``) to see each object created in the landing bucket."""

    def __init__(self, running: RunningPipeline):
        self.running = running
        self.bucket = running.deployment.landing_bucket
        self._original: Any = None
        self._landed: queue.Queue[Upload | str | None] = queue.Queue()
        """Landed files to fault, SCRIPT when the job's script was replaced, None to stop the worker."""
        self._script = _script_location(running)
        self._worker: threading.Thread | None = None

    def install(self) -> None:
        from moto.s3 import notifications

        if self._original is not None:
            return
        original = notifications.send_event
        self._original = original
        recorder, clock = self.running.recorder, self.running.aws.clock

        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            try:
                return original(account_id, event_name, bucket, key)  # type: ignore[no-any-return]
            finally:
                created = _event_name(event_name).startswith(CREATED)
                if created and (getattr(bucket, "name", None), str(key.name)) == self._script:
                    self._landed.put(SCRIPT)
                if getattr(bucket, "name", None) == self.bucket and created:
                    upload = Upload(str(key.name), _version(key), str(key.etag).strip('"'), int(key.size or 0),
                                    clock.now())
                    recorder.uploaded(upload)
                    self._landed.put(upload)

        notifications.send_event = send_event
        self._worker = threading.Thread(target=self._inject_faults, name="landing-faults", daemon=True)
        self._worker.start()

    def uninstall(self) -> None:
        from moto.s3 import notifications

        if self._original is None:
            return
        notifications.send_event = self._original
        self._original = None
        self._landed.put(None)
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    def _inject_faults(self) -> None:
        from landing_pipeline.emulator.pipeline import _landing_faults

        aws = self.running.aws
        s3, events = aws.client("s3"), aws.client("events")
        while True:
            upload = self._landed.get()
            if upload is None or self.running.stop.is_set():
                return
            if isinstance(upload, str):
                self._reload_script()
                continue
            if not self.running.faults.faults:
                continue
            with contextlib.suppress(Exception):  # a fault that cannot be injected must not end the server
                _landing_faults(self.running, s3, events, upload.key, upload.version_id, upload.etag, upload.size)


    def _reload_script(self) -> None:
        """Forget the loaded job script (emulator/spark_executor.py keeps the module it loaded for every run)."""
        executor = self.running.executor
        lock = getattr(executor, "_lock", None)
        if lock is None or not hasattr(executor, "_module"):
            return  # the sleep engine runs no script
        with lock:
            executor._module = None


def _script_location(running: RunningPipeline) -> tuple[str, str] | None:
    """(bucket, key) of the deployed job's script."""
    from landing_pipeline.emulator.staging import split_s3

    job = running.aws.client("glue").get_job(JobName=running.deployment.job_name)["Job"]
    location = (job.get("Command") or {}).get("ScriptLocation") or ""
    return split_s3(location) if location.startswith("s3://") else None


def _version(key: Any) -> str | None:
    """The version id the bucket's event carries (the router's file id is made from it)."""
    version = getattr(key, "version_id", None)
    return None if version is None else str(version)
