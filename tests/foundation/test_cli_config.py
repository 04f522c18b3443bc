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
