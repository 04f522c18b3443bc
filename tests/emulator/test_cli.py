"""``landing demo`` from the command line: the files it writes and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_demo_writes_the_json_and_the_timeline(tmp_path: Path) -> None:
    out, picture = tmp_path / "demo.json", tmp_path / "timeline.png"
    result = runner.invoke(app, ["demo", "--engine", "sleep", "--speedup", "240", "--json", str(out),
                                 "--timeline", str(picture), "--fault", "fail-run:customers_*"])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["summary"]["files"] == 6 and document["summary"]["succeeded"] == 6
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Files by group, in run order" in result.output and "fail-run x1" in result.output


@pytest.mark.parametrize("args, needle", [
    (["--fault", "explode:*"], "KIND one of"),
    (["--engine", "docker"], "use spark or sleep"),
    (["--design", "naive"], "use held"),
    (["--trace", "missing.csv"], "no such file"),
])
def test_bad_input_exits_2_naming_the_problem(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["demo", "--engine", "sleep", *args])
    assert result.exit_code == 2
    assert needle in result.output


def test_bad_stack_settings_exit_2_with_every_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    root = Path(__file__).resolve().parents[2]
    (project / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    (project / "Pulumi.bad.yaml").write_text("config:\n  landing-pipeline:maxParallelGroups: 0\n"
                                             "  landing-pipeline:maxAtempts: 3\n")
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["demo", "--stack", "bad", "--engine", "sleep"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "maxParallelGroups" in text and "did you mean landing-pipeline:maxAttempts" in text


def test_a_project_without_a_program_is_named_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    root = Path(__file__).resolve().parents[2]
    (project / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    (project / "Pulumi.dev.yaml").write_text("config:\n  landing-pipeline:maxParallelGroups: 2\n")
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["demo", "--stack", "dev", "--engine", "sleep"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "no Pulumi program" in text and "__main__.py" in text and "Traceback" not in text
