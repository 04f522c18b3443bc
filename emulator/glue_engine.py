"""Glue runs in the emulator: started through the Glue API, executed here, reported through EventBridge.

moto accepts ``StartJobRun`` (and, with its runs on manual progression, refuses
a start beyond ``MaxConcurrentRuns`` with ``ConcurrentRunsExceededException``,
as Glue does) but never runs anything, never fails and emits no events. The
engine fills that in: every run moto accepts is executed by a run executor
(the real job script on local Spark, or a sleep of the file's given duration),
its state is set on moto's own run object (so ``GetJobRun`` tells the truth to
the dispatcher's recovery path), and its end is published as the
``Glue Job State Change`` event through EventBridge's ``PutEvents``, where the
stack's completion rule routes it. (On AWS only Glue may emit ``aws.glue``
events; moto accepts the source from PutEvents, which lets the deployed rule's
own pattern decide delivery. This is the one place the emulator speaks for AWS.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.batch_runs import batch_entries, run_keys
from landing_pipeline.emulator.faults import FaultPlan, FunctionCrash
from landing_pipeline.emulator.observe import Recorder, RunObservation
from landing_pipeline.runtime.contract import (
    ATTEMPT_ARG,
    FILE_ID_ARG,
    GLUE_SOURCE,
    GLUE_STATE_CHANGE,
    GROUP_ARG,
    SOURCE_KEY_ARG,
)

FINAL_SEVERITY = {"SUCCEEDED": "INFO", "FAILED": "ERROR", "TIMEOUT": "ERROR", "STOPPED": "INFO", "ERROR": "ERROR"}
CAPACITY_WAIT_S = 60.0
"""Pipeline seconds a ``capacity-fail`` or ``expire-run`` run waits before it ends (AWS: up to 15 minutes)."""
CAPACITY_MESSAGE = ("Failed to acquire resources: the job run could not get the workers it needs (fault "
                    "capacity-fail)")


@dataclass(frozen=True)
class RunRequest:
    """One accepted run, as the executor sees it."""

    run_id: str
    job_name: str
    arguments: dict[str, str]
    timeout_s: float  # pipeline seconds
    cancelled: threading.Event = field(default_factory=threading.Event, compare=False)
    """Set when Glue has given up on the run (timeout): the executor must not write its results."""
    verdict: Callable[[str], str | None] = field(default=lambda key: None, compare=False)
    """A fault's verdict on a later file of a batch (``forced`` is the head's), by key: FAILED, TIMEOUT or None."""
    progress: BatchProgress | None = field(default=None, compare=False)
    """The recorder's ``file_started`` / ``file_finished`` for this run (a batch run reports each file)."""

    @property
    def key(self) -> str:
        return self.arguments.get(SOURCE_KEY_ARG, "")


@dataclass(frozen=True)
class RunOutcome:
    state: str  # SUCCEEDED | FAILED | TIMEOUT
    message: str = ""
    fenced: bool = False
    """The run lost its lease claim (emulator/fencing.py) and did no work; it still ends as the job does."""


FENCED = RunOutcome("SUCCEEDED", "fenced: the lease is claimed by another run or ended; no data touched", True)


STOPPED = RunOutcome("STOPPED", "the emulator stopped before the run ended")


@dataclass(frozen=True)
class BatchProgress:
    """What an executor tells the run log about each file of a batch, stamped with the pipeline clock."""

    recorder: Recorder
    run_id: str
    now: Callable[[], float]

    def started(self, position: int, file_id: str, key: str) -> None:
        self.recorder.file_started(self.run_id, position, file_id, key, self.now())

    def finished(self, position: int, state: str, message: str = "") -> None:
        self.recorder.file_finished(self.run_id, position, self.now(), state, message)


class RunExecutor(Protocol):
    def execute(self, request: RunRequest, forced: str | None) -> RunOutcome:
        """Run one request; ``forced`` is a fault's verdict (FAILED or TIMEOUT) the executor must honour."""
        ...


class SleepExecutor:
    """A run that takes the file's given duration (pipeline seconds) and touches no data: for fast replays."""

    def __init__(self, aws: InProcessAWS, durations: Callable[[str], float], stop: threading.Event):
        self.aws, self.durations, self.stop = aws, durations, stop

    def execute(self, request: RunRequest, forced: str | None) -> RunOutcome:
        from landing_pipeline.emulator import fencing

        if not fencing.claim(self.aws, request.run_id, request.arguments):
            return FENCED
        files = batch_entries(self.aws, request.arguments)
        if files:
            return self._batch(request, forced, files)
        gone = input_gone(self.aws, request.arguments)
        if gone is not None:   # the job reads its input version first and says so when it is gone
            return RunOutcome("FAILED", gone)
        duration = self.durations(request.key)
        if forced == "TIMEOUT" or duration > request.timeout_s:
            if self.aws.clock.sleep(request.timeout_s, self.stop):
                return STOPPED
            return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        if self.aws.clock.sleep(duration, self.stop):
            return STOPPED
        if forced == "FAILED":
            return RunOutcome("FAILED", "injected failure (fault fail-run)")
        if request.cancelled.is_set():
            return RunOutcome("TIMEOUT", "cancelled at the job timeout")
        if not fencing.commit(self.aws, request.run_id, request.arguments, None):
            return RunOutcome("SUCCEEDED", "fenced at commit: the lease is no longer this run's", True)
        return RunOutcome("SUCCEEDED")

    def _batch(self, request: RunRequest, forced: str | None, files: list[dict[str, str]]) -> RunOutcome:
        """The job's batch loop without data: each file in order takes its given duration and is committed when
        done; the first failing file ends the run, and the job timeout counts for the whole run."""
        from landing_pipeline.emulator import fencing
        from landing_pipeline.runtime.contract import INPUT_URI_ARG, SOURCE_VERSION_ARG

        elapsed, progress = 0.0, request.progress or BatchProgress(Recorder(), request.run_id, self.aws.clock.now)
        for position, entry in enumerate(files, 1):
            key = entry["source_key"]
            verdict = forced if position == 1 else request.verdict(key)
            progress.started(position, entry["file_id"], key)
            gone = input_gone(self.aws, {INPUT_URI_ARG: entry["input_uri"],
                                         SOURCE_VERSION_ARG: entry["source_version"]})
            if gone is not None:
                progress.finished(position, "FAILED", gone)
                return RunOutcome("FAILED", gone)
            duration = self.durations(key)
            if verdict == "TIMEOUT" or elapsed + duration > request.timeout_s:
                if self.aws.clock.sleep(max(0.0, request.timeout_s - elapsed), self.stop):
                    return STOPPED
                return RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
            if self.aws.clock.sleep(duration, self.stop):
                return STOPPED
            elapsed += duration
            if verdict == "FAILED":
                progress.finished(position, "FAILED", "injected failure (fault fail-run)")
                return RunOutcome("FAILED", f"injected failure (fault fail-run) on {key}")
            if request.cancelled.is_set():
                return RunOutcome("TIMEOUT", "cancelled at the job timeout")
            if not fencing.commit_one(self.aws, request.run_id, request.arguments, entry, position, len(files)):
                progress.finished(position, "FENCED", "fenced at commit")
                return RunOutcome("SUCCEEDED", "fenced at commit: the lease is no longer this run's", True)
            progress.finished(position, "SUCCEEDED")
        return RunOutcome("SUCCEEDED")


def input_gone(aws: InProcessAWS, arguments: dict[str, str]) -> str | None:
    """The job's message for an input version deleted before the run read it, else None (the sleep executor
    reads no data, but the file's deletion must fail its run as the job's first read would)."""
    from landing_pipeline.runtime.contract import INPUT_DELETED, INPUT_URI_ARG, SOURCE_VERSION_ARG

    uri = arguments.get(INPUT_URI_ARG, "")
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://"):].partition("/")
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    version = arguments.get(SOURCE_VERSION_ARG)
    if version and version != "null":
        request["VersionId"] = version
    try:
        aws.client("s3").head_object(**request)
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "NoSuchVersion", "404", "NotFound", "405", "MethodNotAllowed"):
            return f"{INPUT_DELETED} {uri} (version {version or 'latest'}) was deleted before this run could read it"
        raise
    return None


def glue_time(epoch: float) -> datetime:
    """A pipeline-clock instant as moto's run timestamps hold it (naive UTC): GetJobRun(s) then report each run's
    StartedOn and CompletedOn on the pipeline's clock, as ``landing history export`` reads them (moto stamps the
    wall clock, which a scaled or virtual clock does not follow)."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _report_execution_time(run: Any, seconds: int) -> None:
    """moto answers ``ExecutionTime: 123`` for every run; Glue's is the run's seconds (whole), which the emulator
    knows (no worker start-up: StartedOn to CompletedOn)."""
    plain = type(run).as_dict.__get__(run)
    run.as_dict = lambda: {**plain(), "ExecutionTime": seconds}


class GlueEngine:
    """Executes every run moto accepts for the pipeline's job and reports its end."""

    def __init__(self, aws: InProcessAWS, job_name: str, executor: RunExecutor, recorder: Recorder,
                 faults: FaultPlan, fail_attempts: Mapping[str, int] | None = None, workers: int = 64):
        self.aws, self.job_name, self.executor, self.recorder, self.faults = aws, job_name, executor, recorder, faults
        self.fail_attempts = dict(fail_attempts or {})
        self.events = aws.client("events")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glue-run")
        self._work = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="glue-work")
        self._runs_per_key: dict[str, int] = {}
        self._lock = threading.Lock()
        self._original_start: Any = None
        self.pending_events = 0
        """State change events held back by ``delay-glue-event`` (the pipeline is not quiet while any are)."""
        job = aws.client("glue").get_job(JobName=job_name)["Job"]
        self.timeout_s = float(job.get("Timeout") or 2880) * 60.0

    # -- the Glue API side --------------------------------------------------------------------------
    def install(self) -> None:
        """Hook moto's StartJobRun: faults on the way in, the engine told of every accepted run."""
        backend = self.aws.glue_backend()
        original = backend.start_job_run
        self._original_start = original

        def start_job_run(*args: Any, **kwargs: Any) -> str:
            arguments = kwargs.get("arguments") if "arguments" in kwargs else (args[1] if len(args) > 1 else None)
            name = kwargs.get("name") if "name" in kwargs else args[0]
            keys = run_keys(self.aws, arguments or {}) if name == self.job_name else []
            if any([self.faults.fire("throttle", key) for key in keys]):   # every file's shot, as each was refused
                from moto.glue.exceptions import ConcurrentRunsExceededException

                raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {name} (fault throttle)")
            run_id: str = original(*args, **kwargs)
            if name == self.job_name:
                self._accepted(run_id)
                if any([self.faults.fire("crash-after-start", key) for key in keys]):
                    raise FunctionCrash(f"the dispatcher died right after starting run {run_id} (fault "
                                        "crash-after-start)")
            return run_id

        backend.start_job_run = start_job_run

    def uninstall(self) -> None:
        if self._original_start is not None:
            backend = self.aws.glue_backend()
            backend.__dict__.pop("start_job_run", None)
            self._original_start = None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
        self._work.shutdown(wait=False, cancel_futures=True)

    def _moto_run(self, run_id: str) -> Any:
        for run in self.aws.glue_job_runs(self.job_name):
            if run.job_run_id == run_id:
                return run
        raise LookupError(f"run {run_id} vanished from moto")

    def _accepted(self, run_id: str) -> None:
        # Called inside moto's request (the lock is held): just note it and hand the run to a worker.
        run = self._moto_run(run_id)
        run.status = "RUNNING"
        run.started_on = glue_time(self.aws.clock.epoch())
        arguments = dict(run.arguments or {})
        request = RunRequest(run_id, self.job_name, arguments, self.timeout_s, verdict=self._file_verdict,
                             progress=BatchProgress(self.recorder, run_id, self.aws.clock.now))
        attempt = arguments.get(ATTEMPT_ARG, "0")
        self.recorder.run_started(RunObservation(
            run_id=run_id, key=request.key, file_id=arguments.get(FILE_ID_ARG, ""),
            group=arguments.get(GROUP_ARG, ""), attempt=int(attempt) if attempt.isdigit() else 0,
            start=self.aws.clock.now()))
        self.aws.clock.submit(self._pool, self._execute, request)

    # -- the run ------------------------------------------------------------------------------------
    def _execute(self, request: RunRequest) -> None:
        clock = self.aws.clock
        forced = self._forced_outcome(request.key)
        if forced in ("CAPACITY", "EXPIRED"):  # Glue's side: the job script never runs
            clock.sleep(CAPACITY_WAIT_S)
            self._finish(request, RunOutcome("FAILED", CAPACITY_MESSAGE) if forced == "CAPACITY" else RunOutcome(
                "EXPIRED", "Job run expired before it could start (fault expire-run)"))
            return
        done, result = clock.signal(), list[RunOutcome]()

        def work() -> None:
            try:
                result.append(self.executor.execute(request, forced))
            except Exception as exc:  # an executor bug must still end the run, or its group would hang forever
                result.append(RunOutcome("FAILED", f"emulator could not run the job: {exc}"))
            finally:
                done.set()  # before this unit of work ends: on a virtual clock the waiter is awake first

        clock.submit(self._work, work)
        # Glue stops a run at the job timeout whatever it is doing; local Spark cannot be stopped, so the run is
        # declared TIMEOUT on time and whatever it still produces is thrown away. (Half a wall second of grace on
        # the scaled clock; a virtual clock holds time while Spark works, so a run's own work never times out.)
        limit = request.timeout_s * 1.02 + (0.0 if clock.virtual else 0.5 * clock.speedup)
        if clock.wait(done, limit) and result:
            outcome = result[0]
        else:
            request.cancelled.set()
            outcome = RunOutcome("TIMEOUT", f"Job run timed out after {request.timeout_s / 60:g} minutes")
        self._finish(request, outcome)

    def _file_verdict(self, key: str) -> str | None:
        """A later file of a batch: only the job's own outcomes apply (capacity and expiry are the run's start)."""
        forced = self._forced_outcome(key)
        return forced if forced in ("FAILED", "TIMEOUT") else None

    def _forced_outcome(self, key: str) -> str | None:
        with self._lock:
            index = self._runs_per_key.get(key, 0)
            self._runs_per_key[key] = index + 1
        if index < self.fail_attempts.get(key, 0):
            return "FAILED"
        if self.faults.fire("capacity-fail", key):
            return "CAPACITY"
        if self.faults.fire("expire-run", key):
            return "EXPIRED"
        if self.faults.fire("timeout-run", key):
            return "TIMEOUT"
        if self.faults.fire("fail-run", key):
            return "FAILED"
        return None

    def _finish(self, request: RunRequest, outcome: RunOutcome) -> None:
        end = self.aws.clock.now()  # before the state is visible: whatever the end lets start, starts after it
        with self.aws.lock:
            run = self._moto_run(request.run_id)
            run.status = outcome.state
            run.completed_on = run.modified_on = glue_time(self.aws.clock.epoch())
            _report_execution_time(run, round((run.completed_on - run.started_on).total_seconds()))
            run.error_message = outcome.message
        self.recorder.run_finished(request.run_id, end, outcome.state, outcome.message, fenced=outcome.fenced)
        if outcome.state == "EXPIRED":  # Glue documents state change events for the other ends only
            return
        if self.faults.fire("lose-completion", request.key) or self.faults.fire("lose-glue-event", request.key):
            return
        delay = self.faults.fire_once("delay-glue-event", request.key)
        if delay:
            with self._lock:
                self.pending_events += 1
            self.aws.clock.call_later(delay, self._publish_late, request.run_id, outcome)
            return
        self.publish(request.run_id, outcome)
        if self.faults.fire("duplicate-glue-event", request.key):
            self.publish(request.run_id, outcome)

    def _publish_late(self, run_id: str, outcome: RunOutcome) -> None:
        try:
            self.publish(run_id, outcome)
        finally:
            with self._lock:
                self.pending_events -= 1

    def publish(self, run_id: str, outcome: RunOutcome) -> None:
        detail = {"jobName": self.job_name, "severity": FINAL_SEVERITY.get(outcome.state, "INFO"),
                  "state": outcome.state, "jobRunId": run_id,
                  "message": outcome.message or f"Job run {outcome.state.lower()}"}
        response = self.events.put_events(Entries=[{
            "Source": GLUE_SOURCE, "DetailType": GLUE_STATE_CHANGE, "Detail": json.dumps(detail),
            "Resources": [f"arn:aws:glue:{self.aws.region}:{self.aws.account_id}:job/{self.job_name}"]}])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the Glue state change event: {response['Entries']}")
