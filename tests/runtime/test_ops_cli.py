"""`landing status`, `landing redrive` and `landing skip` against a pipeline in moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from landing_pipeline.cli.main import app
from landing_pipeline.runtime.ledger import Status
from tests.runtime.conftest import Pipeline

A1, A2 = "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"
B1 = "landing/customers_20250915_101500.csv"
runner = CliRunner()


def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})


def _outputs(pipeline: Pipeline, tmp_path: Path) -> str:
    """What `pulumi stack output --json` prints for the stack (the names docs/interfaces.md lists)."""
    path = tmp_path / "dev-outputs.json"
    path.write_text(json.dumps({"ledger_table_name": pipeline.ctx.ledger_table,
                                "ordered_queue_url": pipeline.ctx.ordered_queue_url,
                                "ordered_dlq_url": pipeline.ctx.ordered_dlq_url, "job_name": "ingest-job",
                                "landing_bucket_name": "landing-zone"}))
    return str(path)


def _next_key(pipeline: Pipeline) -> str | None:
    result = pipeline.dispatch_next()
    return None if result is None else str(json.loads(result[1]["Body"])["key"])


@pytest.fixture
def blocked(make_pipeline: Any, runs_stay_running: None) -> Pipeline:
    """on_failure=block, max_attempts=1: A1 DEAD in the FIFO DLQ, A2 BLOCKED behind it, B1 RUNNING."""
    pipeline = make_pipeline(on_failure="block", max_attempts=1)
    pipeline.route(*[pipeline.land(k) for k in (A1, A2, B1)])
    pipeline.dispatch_next()
    a1 = pipeline.file_id_of(A1)
    pipeline.complete(pipeline.ctx.ledger.get(a1).current_run_id, "FAILED", "bad header")  # type: ignore[arg-type,union-attr]
    assert _next_key(pipeline) == A2 and _next_key(pipeline) == B1
    assert pipeline.ctx.ledger.get(pipeline.file_id_of(A2)).status == Status.BLOCKED  # type: ignore[union-attr]
    return pipeline


def test_status_shows_each_group_in_processing_order_with_the_backlog(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("status", "--outputs", _outputs(blocked, tmp_path))

    assert result.exit_code == 0, result.output
    out = result.output
    assert "group orders_20250915" in out and "group customers_20250915" in out
    assert out.index(A1) < out.index(A2)
    assert "DEAD" in out and "BLOCKED" in out and "RUNNING" in out and "bad header" in out
    assert "FIFO DLQ: 1 waiting" in out
    assert "ordered queue: 0 waiting, 2 in flight" in out  # two groups held: A2 (blocked) and B1 (running)

    as_json = _cli("status", "--outputs", _outputs(blocked, tmp_path), "--group", "orders_20250915", "--json")
    rows = json.loads(as_json.output)
    assert [(r["key"], r["status"]) for r in rows] == [(A1, "DEAD"), (A2, "BLOCKED")]
    assert all("receipt_handle" not in r for r in rows)


def test_redrive_puts_the_dead_file_back_first_in_its_group(blocked: Pipeline, tmp_path: Path) -> None:
    a1, a2 = blocked.file_id_of(A1), blocked.file_id_of(A2)

    result = _cli("redrive", "--outputs", _outputs(blocked, tmp_path))

    assert result.exit_code == 0, result.output
    assert "1 message(s) redriven" in result.output
    assert blocked.depth(blocked.ctx.ordered_dlq_url) == 0
    record = blocked.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RECEIVED
    assert record.redrives == 1 and record.attempt_base == 1 and record.attempts_since_redrive == 0
    # the blocked A2 was woken: it steps behind the redriven A1, so A1 runs first
    assert _next_key(blocked) == A2
    assert blocked.ctx.ledger.get(a2).status == Status.RECEIVED  # type: ignore[union-attr]
    redriven = blocked.receive()[0]
    assert json.loads(redriven["Body"])["file_id"] == a1
    assert redriven["Attributes"]["MessageGroupId"] == "orders_20250915"
    assert redriven["Attributes"]["MessageDeduplicationId"] == a1  # group and dedup id kept
    blocked.sqs.change_message_visibility(QueueUrl=blocked.ctx.ordered_queue_url,
                                          ReceiptHandle=redriven["ReceiptHandle"], VisibilityTimeout=0)
    assert _next_key(blocked) == A1
    assert blocked.glue.starts[-1]["--file_id"] == a1 and blocked.glue.starts[-1]["--attempt"] == "2"
    blocked.complete(blocked.ctx.ledger.get(a1).current_run_id)  # type: ignore[arg-type,union-attr]
    assert _next_key(blocked) == A2
    assert blocked.ctx.ledger.get(a2).status == Status.RUNNING  # type: ignore[union-attr]


def test_redrive_dry_run_and_group_filter_move_nothing_else(blocked: Pipeline, tmp_path: Path) -> None:
    outputs = _outputs(blocked, tmp_path)
    dry = _cli("redrive", "--outputs", outputs, "--dry-run")
    assert dry.exit_code == 0 and "1 message(s) would be redriven" in dry.output
    other = _cli("redrive", "--outputs", outputs, "--group", "customers_20250915")
    assert other.exit_code == 0 and "0 message(s) redriven" in other.output
    assert blocked.depth(blocked.ctx.ordered_dlq_url) == 1
    assert blocked.ctx.ledger.get(blocked.file_id_of(A1)).status == Status.DEAD  # type: ignore[union-attr]


def test_skip_releases_the_blocked_group(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("skip", A1, "--outputs", _outputs(blocked, tmp_path), "--reason", "vendor resends tomorrow")

    assert result.exit_code == 0, result.output
    assert "removed from the FIFO DLQ" in result.output and "1 blocked file(s) released" in result.output
    record = blocked.ctx.ledger.get(blocked.file_id_of(A1))
    assert record is not None and record.status == Status.SKIPPED and record.last_error == "vendor resends tomorrow"
    assert blocked.depth(blocked.ctx.ordered_dlq_url) == 0
    assert _next_key(blocked) == A2
    assert blocked.ctx.ledger.get(blocked.file_id_of(A2)).status == Status.RUNNING  # type: ignore[union-attr]


def test_skip_refuses_a_file_that_is_not_dead(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("skip", B1, "--outputs", _outputs(blocked, tmp_path))
    assert result.exit_code == 2
    assert "is not DEAD (status: RUNNING)" in result.output and "Traceback" not in result.output


def test_missing_names_say_how_to_give_them(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANDING_LEDGER_TABLE", "LANDING_ORDERED_QUEUE_URL", "LANDING_ORDERED_DLQ_URL"):
        monkeypatch.delenv(name, raising=False)
    result = _cli("redrive", "--stack", "prod")
    assert result.exit_code == 2
    assert "--table" in result.output and "--queue-url" in result.output and "--dlq-url" in result.output
    assert "pulumi stack output --json --stack prod" in result.output


def test_a_bad_outputs_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "out.json"
    bad.write_text("Current stack outputs (3):")
    result = _cli("status", "--outputs", str(bad))
    assert result.exit_code == 2 and "is not JSON" in result.output and "--json" in result.output


def test_missing_credentials_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = _cli("status", "--table", "ledger", "--region", "eu-west-1")
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output and "aws configure" in result.output


def _project_in(folder: Path, region: str) -> Path:
    """A project folder whose dev stack was deployed to ``region`` (aws:region of Pulumi.dev.yaml)."""
    folder.mkdir(exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: landing-pipeline\nruntime: python\n", encoding="utf-8")
    (folder / "Pulumi.dev.yaml").write_text(f"config:\n  aws:region: {region}\n", encoding="utf-8")
    return folder


NO_REGION = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None, "AWS_CONFIG_FILE": "/nonexistent/aws-config"}
"""No region from the environment or a profile: only the stack file can give one."""


def test_status_uses_the_stacks_region(blocked: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = _outputs(blocked, tmp_path)
    monkeypatch.chdir(_project_in(tmp_path / "project", "us-east-1"))  # where the blocked pipeline lives in moto
    result = _cli("status", "--stack", "dev", "--outputs", outputs, env=NO_REGION)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    assert "DEAD" in result.output and A1 in result.output


def test_environment_then_flag_win_over_the_stacks_region(blocked: Pipeline, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = _outputs(blocked, tmp_path)
    monkeypatch.chdir(_project_in(tmp_path / "project", "us-east-1"))
    elsewhere = {**NO_REGION, "AWS_REGION": "eu-west-1"}
    result = _cli("status", "--stack", "dev", "--outputs", outputs, env=elsewhere)  # type: ignore[arg-type]
    assert result.exit_code == 2 and "--region" in result.output  # the table is not in eu-west-1
    result = _cli("status", "--stack", "dev", "--outputs", outputs, "--region", "us-east-1", env=elsewhere)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    assert "DEAD" in result.output


def test_region_help_says_which_wins() -> None:
    result = _cli("status", "--help")
    flat = " ".join(result.output.replace("│", " ").split())
    assert "--region, then AWS_REGION, then AWS_DEFAULT_REGION, then aws:region of Pulumi.<stack>.yaml" in flat


def test_status_prints_keys_and_errors_as_written_not_as_rich_markup(make_pipeline: Any, runs_stay_running: None,
                                                                     tmp_path: Path) -> None:
    """`[bold]` or `[1]` in a key is text: rich would otherwise eat it (a legal S3 key, shown wrong)."""
    pipeline = make_pipeline(on_failure="block", max_attempts=1)
    key = "landing/orders[bold]_20250915_101500.csv"
    pipeline.route(pipeline.land(key))
    pipeline.dispatch_next()
    run_id = pipeline.ctx.ledger.get(pipeline.file_id_of(key)).current_run_id  # type: ignore[union-attr]
    pipeline.complete(run_id, "FAILED", "column [amount] is not a double")  # type: ignore[arg-type]

    result = _cli("status", "--outputs", _outputs(pipeline, tmp_path))

    assert result.exit_code == 0, result.output
    assert key in result.output and "column [amount] is not a double" in result.output
