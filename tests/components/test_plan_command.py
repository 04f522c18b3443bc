"""`landing plan`: the resource tree with the settings a reviewer checks, and the JSON export."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from tests.components.conftest import plan

runner = CliRunner()


def test_tree_shows_the_key_settings_of_the_prod_stack() -> None:
    result = runner.invoke(app, ["plan", "--stack", "prod"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "IngestionPipeline  ingest",
        "FIFO, visibility 360 s, retention 14 d, SSE-SQS yes",
        "content-based dedup yes",
        "maxReceiveCount=100",
        "batch size 1, ReportBatchItemFailures, maximum concurrency 16",
        "Glue 5.0 glueetl, 10 x G.2X, timeout 120 min, MaxConcurrentRuns 16, maxRetries 0",
        "PAY_PER_REQUEST, key pk + sk, GSI by_check(check_pool, next_check_at), by_group_files(group, sort_key), "
        "PITR yes, SSE yes",
        "rate(5 minutes), flexible window OFF, ENABLED, invokes function:ingest-functions-reconciler-fn",
        "InvokeReconciler: Allow lambda:InvokeFunction on function:ingest-functions-reconciler-fn",
        "all public access blocked",
        "DenyInsecureTransport: Deny s3:*",
        "StartAndFindRuns: Allow glue:GetJobRun, glue:GetJobRuns, glue:StartJobRun on job/",
        "retention 90 d",
        "expire-landed-objects",
    ):
        assert expected in out, expected
    assert "total" in out and "80" in out


def test_json_lists_every_resource_with_type_name_parent_inputs(tmp_path: Path) -> None:
    target = tmp_path / "plans" / "dev.json"
    result = runner.invoke(app, ["plan", "--stack", "dev", "--json", str(target), "-q"])
    assert result.exit_code == 0, result.output
    entries = json.loads(target.read_text())
    run = plan("dev")
    assert len(entries) == len(run.resources)
    assert all(set(e) == {"type", "name", "parent", "inputs"} for e in entries)
    assert entries[0] == {"type": "landing:index:IngestionPipeline", "name": "ingest", "parent": None, "inputs": {}}
    job = next(e for e in entries if e["type"] == "aws:glue/job:Job")
    assert job["parent"] == "ingest-processing"
    assert job["inputs"]["executionProperty"] == {"maxConcurrentRuns": 2}
    again = tmp_path / "again.json"
    runner.invoke(app, ["plan", "--stack", "dev", "--json", str(again), "-q"])
    assert again.read_text() == target.read_text()  # stable order: plans diff cleanly


def test_help_explains_options_with_examples() -> None:
    result = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("--stack", "--json", "--spec", "landing plan --stack prod", "without AWS credentials"):
        assert text in result.output


def test_plan_prints_the_spec_warnings_landing_config_prints(tmp_path: Path) -> None:
    """A legal but doubtful setting (a timeout shorter than a full batch, a window with one file a run) is
    warned about by every command that reads the stack, plan included; a stack without one warns nothing."""
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    doubtful = tmp_path / "Pulumi.doubtful.yaml"
    doubtful.write_text("config:\n  landing-pipeline:batchMaxFiles: 10\n  landing-pipeline:jobTimeoutMinutes: 10\n")
    window = tmp_path / "Pulumi.window.yaml"
    window.write_text("config:\n  landing-pipeline:batchMaxFiles: 1\n  landing-pipeline:batchWindowSeconds: 60\n")
    for stack, expected in ((doubtful, "is shorter than a full batch"), (window, "has no effect")):
        warned = []
        for command in ("config", "plan"):
            result = runner.invoke(app, [command, "--spec", str(stack), *(["-q"] if command == "plan" else [])],
                                   env={"COLUMNS": "300"})
            assert result.exit_code == 0, (command, result.output)
            warned.append([" ".join(line.split()) for line in result.output.splitlines() if "warning:" in line])
        assert warned[0] == warned[1] and len(warned[1]) == 1 and expected in warned[1][0], warned
    quiet = runner.invoke(app, ["plan", "--stack", "prod", "-q"], env={"COLUMNS": "300"})
    assert quiet.exit_code == 0 and "warning:" not in quiet.output
