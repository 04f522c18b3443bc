"""Glue as AWS runs it and moto does not: capacity failures, EXPIRED runs, and state change events that are
lost, late or doubled ("best effort"). Each run's end is checked from the engine's run log and from what
reached the completion queue through the deployed rule."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.glue_engine import CAPACITY_WAIT_S
from tests.emulator.strict_support import deployed, glue_engine, start_run, wait_for


@pytest.fixture
def stack() -> Iterator[tuple[InProcessAWS, Deployment]]:
    yield from deployed(speedup=200.0)


def _events(aws: InProcessAWS, deployment: Deployment) -> list[dict[str, Any]]:
    sqs, found = aws.client("sqs"), []
    for message in sqs.receive_message(QueueUrl=deployment.queues["completion"],
                                       MaxNumberOfMessages=10).get("Messages") or []:
        found.append(json.loads(message["Body"])["detail"])
        sqs.delete_message(QueueUrl=deployment.queues["completion"], ReceiptHandle=message["ReceiptHandle"])
    return found


def _run(aws: InProcessAWS, deployment: Deployment, faults: list[str], key: str) -> tuple[Any, list[Any]]:
    engine, recorder, stop = glue_engine(aws, deployment, FaultPlan.parse(faults), run_s=10.0)
    try:
        run_id = start_run(aws.client("glue"), deployment, key)
        assert wait_for(lambda: recorder.runs[run_id].end is not None)
        time.sleep(0.3)
        events = _events(aws, deployment)
        state = aws.client("glue").get_job_run(JobName=deployment.job_name, RunId=run_id)["JobRun"]
        return (recorder.runs[run_id], state), events
    finally:
        stop.set()
        engine.shutdown()
        engine.uninstall()


def test_a_capacity_failure_ends_failed_with_glue_s_message_and_is_announced(
        stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    (run, state), events = _run(aws, deployment, ["capacity-fail:a.csv"], "landing/a.csv")
    assert (run.state, state["JobRunState"]) == ("FAILED", "FAILED")
    assert "Failed to acquire resources" in run.message  # (moto's GetJobRun has no ErrorMessage)
    assert run.end is not None and run.end - run.start >= CAPACITY_WAIT_S
    assert [(e["state"], "Failed to acquire resources" in e["message"]) for e in events] == [("FAILED", True)]


def test_an_expired_run_ends_expired_without_an_event(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    (run, state), events = _run(aws, deployment, ["expire-run:a.csv"], "landing/a.csv")
    assert (run.state, state["JobRunState"]) == ("EXPIRED", "EXPIRED")
    assert events == []


def test_a_duplicated_glue_event_arrives_twice(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    (run, _), events = _run(aws, deployment, ["duplicate-glue-event:a.csv"], "landing/a.csv")
    assert [e["jobRunId"] for e in events] == [run.run_id, run.run_id]


def test_a_lost_glue_event_never_arrives(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    (_run_seen, state), events = _run(aws, deployment, ["lose-glue-event:a.csv"], "landing/a.csv")
    assert state["JobRunState"] == "SUCCEEDED" and events == []


def test_a_delayed_glue_event_arrives_late(stack: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = stack
    engine, recorder, stop = glue_engine(aws, deployment, FaultPlan.parse(["delay-glue-event:a.csv:200"]))
    try:
        run_id = start_run(aws.client("glue"), deployment, "landing/a.csv")
        assert wait_for(lambda: recorder.runs[run_id].end is not None)
        ended = aws.clock.now()
        assert _events(aws, deployment) == [] and engine.pending_events == 1
        events: list[dict[str, Any]] = []
        assert wait_for(lambda: bool(events.extend(_events(aws, deployment)) or events))
        assert aws.clock.now() - ended >= 150 and engine.pending_events == 0
        assert [e["jobRunId"] for e in events] == [run_id]
    finally:
        stop.set()
        engine.shutdown()
        engine.uninstall()
