"""``landing serve`` without the terminal: the deployed stack running continuously behind a local endpoint.

The same pieces as ``landing demo`` (emulator/demo.py): the stack's program deployed onto in-process moto, the
real handlers on their mappings, the reconciler on its schedule, the Glue engine with the real job on local
Spark (or the sleep engine), the strict layer, on the scaled wall clock (``--speedup``; never the virtual
clock, which only moves when the emulator's own threads all wait and would stand still while a client
outside thinks). What differs: nothing is uploaded by the emulator, and there is no end to wait for. Files
come from clients through the endpoint (emulator/server.py), are logged and faulted as the demo's are
(emulator/serve_uploads.py), and the stack runs until ``stop``.

Starting is ordered so a mistake fails fast: the stack file is read and the port taken before the deploy; the
endpoint answers only once the pipeline is running (a client that connects earlier waits in the backlog).
Stopping is the reverse: the endpoint closes first (no request half-served into a stopping pipeline), then
every poller and the reconciler stop, a Glue run in progress finishes (a Spark run cannot be interrupted; a
sleep run is abandoned at once), the JVM stops and the temporary folders go. The account's state goes with the
process, as LocalStack's does without persistence; ``keep_dir`` copies the output bucket out first.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from landing_pipeline.emulator import pipeline
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.demo import DEFAULT_SPEEDUP, read_ledger
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.function_output import routed_stdout
from landing_pipeline.emulator.observe import Recorder
from landing_pipeline.emulator.report import LedgerView
from landing_pipeline.emulator.serve_uploads import ExternalUploads
from landing_pipeline.emulator.server import Endpoint
from landing_pipeline.runtime.contract import RESOURCE_ENV

DUMMY_KEY, DUMMY_SECRET = "test", "test"
"""Credentials for the endpoint: moto checks no signature, and the key ``test`` maps to its default account."""


@dataclass
class ServeOptions:
    stack: str = "dev"
    project_dir: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    engine: pipeline.Engine = "spark"
    speedup: float | None = None
    """Pipeline seconds per wall second; None: the demo's default for the engine (10 with Spark, 60 with sleep)."""
    faults: list[str] = field(default_factory=list)
    port: int = 0
    """0: a free port the system picks (the endpoint's URL says which)."""
    lenient: bool = False
    function_log: IO[str] | None = None
    keep_dir: Path | None = None


@dataclass(frozen=True)
class Summary:
    """What a stop leaves to say: the files that landed and where each ended."""

    landed: int
    statuses: dict[str, int]
    runs: int
    kept: int | None


class ServedStack:
    """``ServedStack(options)`` reads the stack (a bad one fails there); ``with ... as served:`` deploys, starts
    the pipeline and opens the endpoint; leaving the block (or ``close``) stops all of it. ``ready_s``: wall
    seconds from entering until the endpoint serves requests."""

    def __init__(self, options: ServeOptions):
        self.options = options
        self.stack = read_stack(options.stack, options.project_dir, options.overrides)  # a bad stack fails here
        self.faults = FaultPlan.parse(options.faults)
        self.speedup = options.speedup or DEFAULT_SPEEDUP[options.engine]
        self.ready_s: float | None = None
        self.summary: Summary | None = None
        self._exit = ExitStack()
        self.aws: InProcessAWS | None = None
        self.deployment: Deployment | None = None
        self.running: pipeline.RunningPipeline | None = None
        self.endpoint: Endpoint | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> ServedStack:
        started = time.monotonic()
        stack = self.stack
        clock = PipelineClock(self.speedup)
        try:
            self._exit.enter_context(routed_stdout(self.options.function_log))
            self.aws = aws = self._exit.enter_context(InProcessAWS(stack.region, clock))
            endpoint = Endpoint(aws, self.options.port).bind()
            self._exit.callback(endpoint.stop)
            if self.options.engine == "spark":  # the JVM starts while the stack deploys
                from landing_pipeline.emulator.spark_executor import shared_session

                threading.Thread(target=shared_session, name="spark-start", daemon=True).start()
            self.deployment = deploy(aws, stack)
            self._exit.callback(self._summarise)  # after the pipeline has stopped: where each file ended
            clock.restart()
            self.running = running = pipeline.start(aws, self.deployment, [], engine=self.options.engine,
                                                    design="held", faults=self.faults, recorder=Recorder(),
                                                    strict=not self.options.lenient)
            self._exit.callback(self._stop_pipeline)
            uploads = ExternalUploads(running)
            uploads.install()
            self._exit.callback(uploads.uninstall)
            self.endpoint = endpoint.serve()
            self._exit.callback(endpoint.stop)  # first out: no request is served into a stopping pipeline
        except BaseException:  # a deploy that failed or was interrupted: undo what started, the JVM too
            self._exit.close()
            if self.options.engine == "spark" and self.running is None:
                from landing_pipeline.emulator.spark_executor import stop_shared_session

                stop_shared_session()
                stop_jvm()
            raise
        self.ready_s = time.monotonic() - started
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._exit.close()

    def _stop_pipeline(self) -> None:
        running = self.running
        if running is None:
            return
        stopped = threading.Event()
        if self.options.engine == "spark":
            threading.Thread(target=_cancel_spark_jobs, args=(stopped,), name="spark-cancel", daemon=True).start()
        try:
            pipeline.shutdown(running)
        finally:
            stopped.set()
            close = getattr(running.executor, "close", None)  # the Spark session and its temporary folder
            if close is not None:
                close()
                stop_jvm()

    def _summarise(self) -> None:
        """Once the pipeline has stopped: where every landed file ended, and the output bucket kept if asked."""
        aws, deployment, running = self.aws, self.deployment, self.running
        if aws is None or deployment is None or running is None:
            return
        statuses: dict[str, int] = {}
        for view in read_ledger(aws, deployment).values():
            statuses[view.status] = statuses.get(view.status, 0) + 1
        kept = None
        if self.options.keep_dir is not None:
            from landing_pipeline.emulator import outputs

            kept = outputs.keep(aws.client("s3"), deployment.output_bucket, self.options.keep_dir)
        self.summary = Summary(len(running.recorder.uploads), statuses, len(running.recorder.runs), kept)

    # -- what clients need ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.endpoint is None:
            raise RuntimeError("the stack is not served")
        return self.endpoint.url

    def resources(self) -> dict[str, str]:
        """The stack's resource names as ``pulumi stack output`` names them (what ``landing status --outputs``
        reads), from what the deploy created."""
        deployment = self._deployed()
        names = {"landing_bucket_name": deployment.landing_bucket, "output_bucket_name": deployment.output_bucket,
                 "ledger_table_name": deployment.ledger_table, "job_name": deployment.job_name,
                 "ordered_queue_url": deployment.queues["ordered"],
                 "ordered_dlq_url": deployment.queues["ordered_dlq"]}
        for role, output in (("dead_files", "dead_files_queue_url"), ("intake_dlq", "intake_dlq_url")):
            if role in deployment.queues:
                names[output] = deployment.queues[role]
        return names

    def environment(self) -> dict[str, str]:
        """The variables that point the AWS CLI, the SDKs and ``landing status`` at the endpoint: its URL, dummy
        credentials, the stack's region (both spellings: the CLI reads AWS_DEFAULT_REGION), and the
        LANDING_* resource names the operator commands take when no flag or outputs file names them."""
        deployment = self._deployed()
        region = self.aws.region if self.aws is not None else ""
        env = {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
               "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        for variable in sorted(RESOURCE_ENV.values()):
            value = deployment.environment.get(variable)
            if value:
                env[variable] = value
        return env

    def ledger(self) -> dict[str, LedgerView]:
        if self.aws is None:
            raise RuntimeError("the stack is not served")
        return read_ledger(self.aws, self._deployed())

    def _deployed(self) -> Deployment:
        if self.deployment is None:
            raise RuntimeError("the stack is not deployed")
        return self.deployment


def _cancel_spark_jobs(stopped: threading.Event) -> None:
    """Abandon a run in progress, as a stop ends a Glue run: every Spark job it starts is cancelled, until the
    pipeline has stopped, so its script fails within moments (its outcome goes with the account) instead of
    the stop waiting out a run of any length. (One cancel is not enough: it ends only the jobs active at that
    instant, and a script runs several, with driver-side work between them.)"""
    from landing_pipeline.emulator import spark_executor

    while not stopped.is_set():
        session = getattr(spark_executor, "_session", None)
        if session is not None:
            with contextlib.suppress(Exception):
                session.sparkContext.cancelAllJobs()
        stopped.wait(0.2)


def stop_jvm(timeout_s: float = 30.0) -> None:
    """End the JVM PySpark started, and wait for it. A stopped SparkSession leaves its JVM running until this
    process exits (it watches its stdin); a server stopped by SIGTERM must not exit before its child does,
    or a supervisor (and the test) sees a java process outlive it."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    with contextlib.suppress(Exception):
        gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if process is None:
        return
    with contextlib.suppress(Exception):
        process.stdin.close()  # what the JVM's PythonGatewayServer waits for
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(10)
