"""The Glue engine: runs started through the Glue API run, honour MaxConcurrentRuns, and end as events the
deployed completion rule routes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.glue_engine import GlueEngine, SleepExecutor
from landing_pipeline.emulator.observe import Recorder


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    config = read_stack("dev")
    with InProcessAWS(config.region, PipelineClock(100.0)) as aws:
        yield aws, deploy(aws, config)


def _engine(aws: InProcessAWS, deployment: Deployment, faults: list[str]) -> tuple[GlueEngine, threading.Event]:
    stop = threading.Event()
    engine = GlueEngine(aws, deployment.job_name, SleepExecutor(aws, lambda key: 100.0, stop), Recorder(),
                        FaultPlan.parse(faults))
    engine.install()
    return engine, stop


def _start(aws: InProcessAWS, deployment: Deployment, key: str) -> str:
    arguments = {"--source_key": key, "--file_id": key, "--group": key, "--attempt": "1"}
    return str(aws.client("glue").start_job_run(JobName=deployment.job_name, Arguments=arguments)["JobRunId"])


def _completion_events(aws: InProcessAWS, deployment: Deployment, expected: int) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(events) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=deployment.queues["completion"],
                                           MaxNumberOfMessages=10).get("Messages") or []:
            events.append(json.loads(message["Body"]))
        time.sleep(0.05)
    return events


def test_runs_hold_their_slot_until_they_end_and_their_end_reaches_the_completion_queue(
        stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    engine, stop = _engine(aws, deployment, [])
    glue = aws.client("glue")
    limit = glue.get_job(JobName=deployment.job_name)["Job"]["ExecutionProperty"]["MaxConcurrentRuns"]
    runs = [_start(aws, deployment, f"k{i}") for i in range(limit)]
    assert {glue.get_job_run(JobName=deployment.job_name, RunId=r)["JobRun"]["JobRunState"] for r in runs} == {
        "RUNNING"}
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
        _start(aws, deployment, "one-too-many")
    events = _completion_events(aws, deployment, limit)
    assert sorted(e["detail"]["jobRunId"] for e in events) == sorted(runs)
    assert {(e["source"], e["detail-type"], e["detail"]["state"]) for e in events} == {
        ("aws.glue", "Glue Job State Change", "SUCCEEDED")}
    assert glue.get_job_run(JobName=deployment.job_name, RunId=runs[0])["JobRun"]["JobRunState"] == "SUCCEEDED"
    _start(aws, deployment, "now-there-is-room")
    stop.set()
    engine.shutdown()


def test_injected_failures_and_lost_completions(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    engine, stop = _engine(aws, deployment, ["fail-run:bad", "lose-completion:lost", "throttle:busy"])
    glue = aws.client("glue")
    with pytest.raises(glue.exceptions.ConcurrentRunsExceededException):
        _start(aws, deployment, "busy")
    failed, lost = _start(aws, deployment, "bad"), _start(aws, deployment, "lost")
    events = _completion_events(aws, deployment, 1)
    time.sleep(0.5)  # the lost one ends too, silently
    assert [(e["detail"]["jobRunId"], e["detail"]["state"]) for e in events] == [(failed, "FAILED")]
    assert glue.get_job_run(JobName=deployment.job_name, RunId=lost)["JobRun"]["JobRunState"] == "SUCCEEDED"
    stop.set()
    engine.shutdown()
