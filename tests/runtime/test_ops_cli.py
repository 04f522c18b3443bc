"""`landing status`, `landing redrive` and `landing skip` against a v2 pipeline in moto.

What was started is read from Glue's own record (the GlueFaults wrapper's ``starts``), what was announced from
the dead-files queue itself, never from the ledger's bookkeeping alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from landing_pipeline.cli import ops_actions
from landing_pipeline.cli.main import app
from landing_pipeline.cli.ops_actions import redrive, wake_group
from landing_pipeline.runtime.contract import SOURCE_KEY_ARG
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
                                "ordered_dlq_url": pipeline.ctx.ordered_dlq_url,
                                "dead_files_queue_url": pipeline.ctx.dead_files_queue_url, "job_name": "ingest-job",
                                "landing_bucket_name": "landing-zone"}))
    return str(path)


def started(p: Pipeline) -> list[str]:
    return [str(args[SOURCE_KEY_ARG]) for args in p.glue.starts]


def run_of(p: Pipeline, key: str) -> str:
    runs = p.ctx.glue.get_job_runs(JobName=p.ctx.job_name)["JobRuns"]
    return next(str(r["Id"]) for r in runs if (r.get("Arguments") or {}).get(SOURCE_KEY_ARG) == key)


def landed_at(p: Pipeline, key: str, at: str) -> str:
    body = json.loads(p.land(key))
    body["time"] = at
    return json.dumps(body)


@pytest.fixture
def blocked(make_pipeline: Any, runs_stay_running: None) -> Pipeline:
    """on_failure=block, max_attempts=1: A1 DEAD (announced), A2 waiting behind it, B1 running."""
    p = make_pipeline(settle_seconds=0, on_failure="block", max_attempts=1)
    p.clock.t = 1_757_932_300.0  # 10:31:40Z: every file below has settled
    p.route(landed_at(p, A1, "2025-09-15T10:15:00Z"), landed_at(p, A2, "2025-09-15T10:30:00Z"),
            landed_at(p, B1, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    assert sorted(started(p)) == sorted([A1, B1])
    p.complete(run_of(p, A1), "FAILED", "bad header")
    p.dispatch_all()
    assert p.ctx.ledger.get(p.file_id_of(A1)).status == Status.DEAD  # type: ignore[union-attr]
    assert started(p).count(A2) == 0
    return p


def test_status_shows_state_lease_order_key_and_each_file_in_order(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("status", "--outputs", _outputs(blocked, tmp_path))

    assert result.exit_code == 0, result.output
    out = result.output
    assert "group orders_20250915: blocked" in out
    assert "group customers_20250915: running; lease epoch 1, run " in out
    assert out.index(A1) < out.index(A2)
    assert "DEAD" in out and "bad header" in out and "RECEIVED (in run)" in out  # B1, covered by the lease
    assert "2025-09-15 10:15:00" in out  # the order: landing time (whole seconds, UTC)
    assert "dead-files queue: 1 waiting" in out


def test_status_json_has_the_group_item_and_the_files_in_order(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("status", "--outputs", _outputs(blocked, tmp_path), "--group", "orders_20250915", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (group,) = document["groups"]
    assert (group["group"], group["state"], group["leased"]) == ("orders_20250915", "blocked", False)
    assert [(f["key"], f["status"], f["late"], f["deaths"]) for f in group["files"]] == [
        (A1, "DEAD", False, 1), (A2, "RECEIVED", False, 0)]
    assert document["queues"]["dead-files queue"] == {"waiting": 1, "in_flight": 0}


def test_status_marks_a_late_file(make_pipeline: Any, runs_stay_running: None, tmp_path: Path) -> None:
    p = make_pipeline(settle_seconds=0)
    p.clock.t = 1_757_931_400.0
    p.route(landed_at(p, A2, "2025-09-15T10:16:00Z"))
    p.dispatch_all()
    assert started(p) == [A2]
    p.route(landed_at(p, A1, "2025-09-15T10:15:00Z"))  # landed earlier, recorded after A2 started

    result = _cli("status", "--outputs", _outputs(p, tmp_path), "--json")

    (group,) = json.loads(result.output)["groups"]
    assert {f["key"]: f["late"] for f in group["files"]} == {A1: True, A2: False}
    assert "; late 1" in _cli("status", "--outputs", _outputs(p, tmp_path)).output


def test_redrive_gives_a_fresh_attempt_wakes_the_group_and_takes_the_announcement(blocked: Pipeline,
                                                                                   tmp_path: Path) -> None:
    a1 = blocked.file_id_of(A1)

    result = _cli("redrive", "--outputs", _outputs(blocked, tmp_path))

    assert result.exit_code == 0, result.output
    assert "1 file(s) redriven" in result.output
    record = blocked.ctx.ledger.get(a1)
    assert record is not None and record.status == Status.RECEIVED
    assert record.redrives == 1 and record.attempts_since_redrive == 0
    assert blocked.depth(blocked.ctx.dead_files_queue_url) == 0  # no longer news
    blocked.dispatch_all()  # the wake-up the redrive sent
    assert started(blocked).count(A1) == 2 and A2 not in started(blocked)  # A1 again, first in its group


def test_redrive_dry_run_and_filters_change_nothing_else(blocked: Pipeline, tmp_path: Path) -> None:
    outputs = _outputs(blocked, tmp_path)
    dry = _cli("redrive", "--outputs", outputs, "--dry-run")
    assert dry.exit_code == 0 and "1 file(s) would be redriven" in dry.output
    other = _cli("redrive", "--outputs", outputs, "--group", "customers_20250915")
    assert other.exit_code == 0 and "0 file(s) redriven" in other.output
    by_key = _cli("redrive", "--outputs", outputs, "--key", A2)
    assert by_key.exit_code == 0 and "0 file(s) redriven" in by_key.output
    assert blocked.ctx.ledger.get(blocked.file_id_of(A1)).status == Status.DEAD  # type: ignore[union-attr]
    assert blocked.depth(blocked.ctx.dead_files_queue_url) == 1
    assert blocked.depth(blocked.ctx.ordered_queue_url) == 0  # no wake-up was sent


def test_a_redrive_the_ledger_refuses_is_reported_and_wakes_nobody(blocked: Pipeline,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's redrive is conditional on the death number: when it refuses (the file died again or was
    handled meanwhile), nothing is woken and nothing is taken from the dead-files queue."""
    monkeypatch.setattr(type(blocked.ctx.ledger), "redrive", lambda self, file_id, **conditions: None)
    moved, problems = redrive(blocked.ctx)
    assert moved == [] and len(problems) == 1 and A1 in problems[0] and "nothing done" in problems[0]
    assert blocked.depth(blocked.ctx.ordered_queue_url) == 0
    assert blocked.depth(blocked.ctx.dead_files_queue_url) == 1


def test_a_redrive_is_conditional_on_the_death_the_operator_saw(blocked: Pipeline) -> None:
    ledger, file_id = blocked.ctx.ledger, blocked.file_id_of(A1)
    seen = ledger.get(file_id)
    assert seen is not None and seen.deaths == 1
    assert ledger.redrive(file_id, death=seen.deaths + 1) is None      # not the death the operator saw
    assert ledger.skip(file_id, death=0) is None
    record = ledger.get(file_id)
    assert record is not None and record.status == Status.DEAD
    after = ledger.redrive(file_id, death=seen.deaths)
    assert after is not None and after.status == Status.RECEIVED


def test_a_second_redrive_finds_nothing_to_do(blocked: Pipeline) -> None:
    assert len(redrive(blocked.ctx)[0]) == 1
    assert redrive(blocked.ctx) == ([], [])


def test_wake_group_sends_one_wake_up_and_never_to_a_leased_group(blocked: Pipeline) -> None:
    assert wake_group(blocked.ctx, "customers_20250915") is False  # running: its end sees the work
    assert wake_group(blocked.ctx, "orders_20250915") is True
    assert wake_group(blocked.ctx, "orders_20250915") is False  # one is already on its way
    assert blocked.depth(blocked.ctx.ordered_queue_url) == 1


def test_skip_lets_the_blocked_group_go_on(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("skip", A1, "--outputs", _outputs(blocked, tmp_path), "--reason", "vendor resends tomorrow")

    assert result.exit_code == 0, result.output
    assert "reason: vendor resends tomorrow" in result.output and "group woken" in result.output
    assert "1 announcement(s) taken" in result.output
    record = blocked.ctx.ledger.get(blocked.file_id_of(A1))
    assert record is not None and record.status == Status.SKIPPED
    assert record.reason == "skipped by an operator: vendor resends tomorrow"   # stored, not only printed
    assert blocked.depth(blocked.ctx.dead_files_queue_url) == 0
    blocked.dispatch_all()
    assert started(blocked).count(A2) == 1


def test_skip_refuses_a_file_that_is_not_dead(blocked: Pipeline, tmp_path: Path) -> None:
    result = _cli("skip", B1, "--outputs", _outputs(blocked, tmp_path))
    assert result.exit_code == 2
    assert "is not DEAD (status: RECEIVED)" in result.output and "Traceback" not in result.output


def test_the_chaos_operator_shapes_stay(blocked: Pipeline) -> None:
    """emulator/chaos.py drives redrive and skip through these very functions and reads these fields."""
    moved, _ = ops_actions.redrive(blocked.ctx)
    assert [(m.key, m.file_id) for m in moved] == [(A1, blocked.file_id_of(A1))]


def test_missing_names_say_how_to_give_them(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANDING_LEDGER_TABLE", "LANDING_ORDERED_QUEUE_URL", "LANDING_ORDERED_DLQ_URL"):
        monkeypatch.delenv(name, raising=False)
    result = _cli("redrive", "--stack", "prod")
    assert result.exit_code == 2
    assert "--table" in result.output and "--queue-url" in result.output
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
    p = make_pipeline(settle_seconds=0, on_failure="block", max_attempts=1)
    key = "landing/orders[bold]_20250915_101500.csv"
    p.clock.t = 1_757_931_400.0
    p.route(landed_at(p, key, "2025-09-15T10:15:00Z"))
    p.dispatch_all()
    p.complete(run_of(p, key), "FAILED", "column [amount] is not a double")

    result = _cli("status", "--outputs", _outputs(p, tmp_path))

    assert result.exit_code == 0, result.output
    assert key in result.output and "column [amount] is not a double" in result.output


def test_the_status_table_shows_the_landing_second_or_under_file_name_order_the_name_as_it_is() -> None:
    from landing_pipeline.cli.ops_status import order_brief

    assert order_brief("2025-09-15T10:15:00Z | 00000000000617f08299329d189") == "2025-09-15 10:15:00"
    assert order_brief("orders_T1_20250915.csv | 0000000000617f08") == "orders_T1_20250915.csv"
