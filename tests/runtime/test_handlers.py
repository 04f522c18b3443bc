"""The Lambda entry points: configuration from the environment, logs and metrics, and what they import."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import landing_pipeline.runtime.context as context_module
from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime import router
from landing_pipeline.runtime.context import RuntimeConfigError, RuntimeContext, install
from tests.runtime.conftest import Pipeline, sqs_event

ROOT = Path(__file__).resolve().parents[2]


class FakeLambdaContext:
    function_name = "ingest-router"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest-router"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/ingest-router"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_the_handler_reads_its_environment_once(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in pipeline.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(context_module, "_from_environment", None)
    install(None)
    log = io.StringIO()
    monkeypatch.setattr(obs.logger.registered_handler, "stream", log)  # Powertools bound stdout at import
    body = pipeline.land("landing/orders_20250915_101500.csv")
    capsys.readouterr()

    response = router.handler(sqs_event([body]), FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    assert len(pipeline.receive()) == 1
    lines = _json_lines(log.getvalue()) + _json_lines(capsys.readouterr().out)
    [enqueued] = [line for line in lines if line.get("message") == "file recorded"]
    assert enqueued["function_name"] == "ingest-router"
    assert enqueued["key"] == "landing/orders_20250915_101500.csv" and enqueued["group"] == "orders_20250915"
    assert len(enqueued["file_id"]) == 64
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LandingPipeline"
    assert emf["FilesReceived"] == [1.0]
    monkeypatch.setattr(context_module, "_from_environment", None)


def test_an_installed_context_is_used_by_every_handler(pipeline: Pipeline) -> None:
    install(pipeline.ctx)
    try:
        body = pipeline.land("landing/orders_20250915_101500.csv")
        assert router.handler(sqs_event([body]), None) == {"batchItemFailures": []}  # no Lambda context needed
        from landing_pipeline.runtime import dispatcher

        [message] = pipeline.receive()
        from tests.runtime.conftest import sqs_event_from_messages

        response = dispatcher.handler(sqs_event_from_messages([message]), None)
        assert response == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    finally:
        install(None)


def test_a_missing_variable_fails_at_cold_start_naming_it() -> None:
    ctx = RuntimeContext.from_env({"LANDING_LEDGER_TABLE": "t"})
    with pytest.raises(RuntimeConfigError) as caught:
        ctx.require("ordered_queue_url", "ledger_table", "job_name")
    assert "LANDING_ORDERED_QUEUE_URL" in str(caught.value) and "LANDING_JOB_NAME" in str(caught.value)
    assert "LANDING_LEDGER_TABLE" not in str(caught.value) and "redeploy" in str(caught.value)


def test_clients_are_created_lazily_and_once() -> None:
    made: list[str] = []
    ctx = RuntimeContext.from_env({}, client_factory=lambda service: made.append(service) or object())
    assert made == []
    assert ctx.sqs is ctx.sqs
    assert made == ["sqs"]


def test_handler_modules_import_nothing_that_is_not_in_the_lambda_zip() -> None:
    code = ("import sys, runtime.router, runtime.dispatcher, runtime.completion\n"
            "banned = {'pulumi', 'pulumi_aws', 'pyspark', 'matplotlib', 'moto', 'simulator', 'emulator',"
            " 'components', 'landing_cli', 'yaml', 'typer', 'rich'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
