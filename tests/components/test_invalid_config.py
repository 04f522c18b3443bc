"""Invalid configuration stops the program with the spec's messages before anything is registered."""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

import pulumi
import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.components.config import InvalidStackConfig
from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.pipeline import IngestionPipeline
from landing_pipeline.components.program_runner import run_program
from landing_pipeline.runtime.errors import SpecError


class _Recorder(AwsMocks):
    def __init__(self) -> None:
        super().__init__()
        self.registered: list[str] = []

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args.typ)
        return super().create(args)


def test_every_problem_is_reported_and_nothing_is_registered() -> None:
    mocks = _Recorder()
    with pytest.raises(SpecError) as raised:
        run_program(mocks, "dev", overrides={"maxParallelGroups": 0, "maxAtempts": 2, "workerCount": "many"})
    settings = {p.setting for p in raised.value.problems}
    assert settings == {"maxParallelGroups", "maxAtempts", "workerCount"}
    text = str(raised.value)
    assert "did you mean landing-pipeline:maxAttempts?" in text
    assert "expected a whole number" in text
    assert mocks.registered == []
    # pulumi up reports a RunError as its message alone, without a Python traceback
    assert isinstance(raised.value, InvalidStackConfig) and isinstance(raised.value, pulumi.RunError)


def _construct_under_mocks(mocks: AwsMocks, args: dict[str, Any]) -> None:
    pulumi.runtime.set_mocks(mocks, project="landing-pipeline", stack="unit", preview=False)
    IngestionPipeline("bad", args)  # type: ignore[arg-type]


def test_component_args_are_validated_like_stack_config_before_the_component_registers() -> None:
    mocks = _Recorder()
    with pytest.raises(SpecError) as raised:  # in a fresh context: Pulumi's settings are context variables
        contextvars.Context().run(_construct_under_mocks, mocks, {"max_parallel_groups": -3,
                                                                  "job_timeout_minute": 30})
    assert {p.setting for p in raised.value.problems} == {"maxParallelGroups", "jobTimeoutMinute"}
    assert "did you mean landing-pipeline:jobTimeoutMinutes?" in str(raised.value)
    assert mocks.registered == []


def test_landing_plan_exits_2_with_the_messages_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  landing-pipeline:maxParallelGroups: 0\n  landing-pipeline:onFailure: stop\n")
    result = CliRunner().invoke(app, ["plan", "--spec", str(bad)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "maxParallelGroups = 0" in result.output and "onFailure = 'stop'" in result.output
    assert "Traceback" not in result.output


def test_landing_config_and_landing_plan_refuse_the_same_file(tmp_path: Path) -> None:
    """Both run one validation, component rules included; config used to call this file valid."""
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    stack = tmp_path / "Pulumi.byo.yaml"
    stack.write_text("config:\n  landing-pipeline:existingBucketName: my-landing-bucket\n"
                     "  landing-pipeline:landedObjectExpirationDays: 30\n")
    runner = CliRunner()
    outputs = []
    for command in ("config", "plan"):
        result = runner.invoke(app, [command, "--spec", str(stack)], env={"COLUMNS": "300"})
        assert result.exit_code == 2, (command, result.output)
        outputs.append(next(line for line in result.output.splitlines() if "landedObjectExpirationDays" in line))
    assert outputs[0] == outputs[1] and "a lifecycle configuration replaces every rule" in outputs[0]
