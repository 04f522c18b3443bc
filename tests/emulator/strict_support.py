"""Shared by the strict layer's tests: a pipeline clock the test moves by hand, so windows and lags are
checked at exact pipeline times, with no sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.glue_engine import GlueEngine, SleepExecutor
from landing_pipeline.emulator.observe import Recorder


class ManualClock(PipelineClock):
    """Pipeline time stands still until ``advance``; ``sleep`` advances it (a stalled handler moves time)."""

    def __init__(self) -> None:
        super().__init__(1.0)
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def sleep(self, pipeline_seconds: float, stop: threading.Event | None = None) -> bool:
        self.t += max(0.0, pipeline_seconds)
        return False


def deployed(speedup: float = 100.0) -> Iterator[tuple[InProcessAWS, Deployment]]:
    """The dev stack deployed on a fresh emulated account (a generator for fixtures)."""
    config = read_stack("dev")
    with InProcessAWS(config.region, PipelineClock(speedup)) as aws:
        yield aws, deploy(aws, config)


def glue_engine(aws: InProcessAWS, deployment: Deployment, faults: FaultPlan,
                run_s: float = 10.0) -> tuple[GlueEngine, Recorder, threading.Event]:
    stop, recorder = threading.Event(), Recorder()
    engine = GlueEngine(aws, deployment.job_name, SleepExecutor(aws, lambda key: run_s, stop), recorder, faults)
    engine.install()
    return engine, recorder, stop


def start_run(glue: Any, deployment: Deployment, key: str) -> str:
    arguments = {"--source_key": key, "--file_id": key, "--group": key, "--attempt": "1"}
    return str(glue.start_job_run(JobName=deployment.job_name, Arguments=arguments)["JobRunId"])


def wait_for(condition: Any, wall_s: float = 10.0) -> bool:
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
