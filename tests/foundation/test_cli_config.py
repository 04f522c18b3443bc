"""`landing config` and the generated configuration reference."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from landing_pipeline.cli.config_cmd import reference_markdown
from landing_pipeline.cli.main import app
from landing_pipeline.runtime.spec import settings

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_configuration_reference_is_current() -> None:
    """Regenerate with: landing config --reference > docs/configuration.md"""
    assert (ROOT / "docs" / "configuration.md").read_text() == reference_markdown()
    assert all(f"`landing-pipeline:{s.config_key}`" in reference_markdown() for s in settings())


def test_config_shows_the_values_that_differ() -> None:
    result = runner.invoke(app, ["config", "--stack", "prod"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "maxParallelGroups" in result.output and "16" in result.output
    assert "configuration is valid" in result.output


def test_config_of_an_invalid_stack_file_exits_2_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  landing-pipeline:maxParallelGroups: 0\n  landing-pipeline:maxAtempts: 2\n")
    result = runner.invoke(app, ["config", "--spec", str(bad)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "maxParallelGroups = 0" in result.output
    assert "did you mean landing-pipeline:maxAttempts?" in result.output
    assert "Traceback" not in result.output


def _stack(tmp_path: Path, body: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack = tmp_path / "Pulumi.t.yaml"
    stack.write_text(body)
    return stack


def test_config_shows_values_with_brackets_as_written(tmp_path: Path) -> None:
    """rich would read [bound] and [a-z] as markup and drop them: in/ and ^(?P<group>+)_."""
    stack = _stack(tmp_path, "config:\n  landing-pipeline:keyPrefix: in[bound]/\n"
                             "  landing-pipeline:groupingRule: regex\n"
                             "  landing-pipeline:groupingPattern: '^(?P<group>[a-z]+)_'\n")
    result = runner.invoke(app, ["config", "--spec", str(stack)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "in[bound]/" in result.output
    assert "^(?P<group>[a-z]+)_" in result.output


def test_error_messages_keep_brackets_and_have_no_traceback(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "config:\n  landing-pipeline:keyPrefix: /in[bound]/\n"
                             "  landing-pipeline:keySuffixes: .csv\n")
    result = runner.invoke(app, ["config", "--spec", str(stack)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "keyPrefix = '/in[bound]/'" in result.output
    assert 'landing-pipeline:keySuffixes: [".csv"]' in result.output
    assert "Traceback" not in result.output


def test_config_refuses_a_misspelt_namespace(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "config:\n  landing-pipline:onFailure: block\n")
    result = runner.invoke(app, ["config", "--spec", str(stack)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "did you mean landing-pipeline:onFailure?" in result.output
    assert "configuration is valid" not in result.output


def test_config_of_a_file_that_sets_nothing_says_so(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "")
    result = runner.invoke(app, ["config", "--spec", str(stack)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "sets nothing under 'config:'" in result.output


def test_a_bad_yaml_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "config:\n  landing-pipeline:keyPrefix: [in\n")
    result = runner.invoke(app, ["config", "--spec", str(stack)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert f"{stack}:2: not valid YAML" in " ".join(result.output.split())
    assert "Traceback" not in result.output
