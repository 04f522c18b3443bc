"""One error hierarchy: every deliberate error is a LandingError, and the CLI maps each family to one exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from landing_pipeline.cli.errors import exit_code
from landing_pipeline.cli.ops_actions import OpsError
from landing_pipeline.emulator.bridge import BridgeError
from landing_pipeline.emulator.faults import FaultSpecError
from landing_pipeline.emulator.lambda_runner import HandlerNotDeployed
from landing_pipeline.emulator.workload import WorkloadError
from landing_pipeline.runtime.context import RuntimeConfigError
from landing_pipeline.runtime.errors import LandingError, SpecError, StackFileError
from landing_pipeline.runtime.jobs.failures import IngestError
from landing_pipeline.runtime.jobs.readers import UnsupportedFormat
from landing_pipeline.runtime.jobs.schema import JobArgumentError
from landing_pipeline.runtime.jobs.snapshot import SnapshotError
from landing_pipeline.runtime.jobs.storage import StorageError
from landing_pipeline.runtime.spec_loader import load_stack_file, spec_from_config
from landing_pipeline.simulator.errors import ScenarioError
from landing_pipeline.simulator.stackfile import StackWriteError
from landing_pipeline.simulator.sweep import SweepError

ROOT = Path(__file__).resolve().parents[2]

ERRORS = [SpecError, StackFileError, ScenarioError, SweepError, StackWriteError, FaultSpecError, WorkloadError,
          BridgeError, OpsError, RuntimeConfigError, JobArgumentError, UnsupportedFormat, StorageError, IngestError,
          SnapshotError, HandlerNotDeployed]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_deliberate_error_is_a_landing_error_and_no_builtin(error: type[Exception]) -> None:
    """A caller's ``except ValueError`` / ``except OSError`` around its own code must not swallow ours."""
    assert issubclass(error, LandingError)
    assert not issubclass(error, ValueError | OSError | RuntimeError)


@pytest.mark.parametrize(("error", "code"), [
    (SpecError([]), 2), (StackFileError("x"), 2), (ScenarioError("s", []), 2), (SweepError("x"), 2),
    (FaultSpecError("x"), 2), (WorkloadError("x"), 2), (OpsError("x"), 2), (JobArgumentError("x"), 2),
    (BridgeError("x"), 1), (StackWriteError("x"), 1), (RuntimeConfigError("x"), 1), (LandingError("x"), 1),
])
def test_each_family_has_one_exit_code(error: LandingError, code: int) -> None:
    assert exit_code(error) == code


def test_bad_yaml_is_a_configuration_error_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  landing-pipeline:maxAttempts: 3\n  landing-pipeline:keyPrefix: [in\n")
    with pytest.raises(StackFileError) as caught:
        load_stack_file(stack)
    assert not isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, SpecError)
    assert str(caught.value).startswith(f"{stack}:3: not valid YAML (while parsing a flow sequence")
    assert caught.value.path == stack and caught.value.line == 3
    stack.write_text("config:\n  landing-pipeline:maxAttempts: 3\n   landing-pipeline:keyPrefix: x\n")
    with pytest.raises(StackFileError, match=rf"^{re.escape(str(stack))}:3: not valid YAML"):
        load_stack_file(stack)


def _fix_pattern(problem_text: str) -> str:
    found = re.search(r"groupingPattern: '((?:[^']|'')*)'$", problem_text)
    assert found, problem_text
    return yaml.safe_load(f"p: '{found.group(1)}'")["p"]  # read it back the way the stack file would


@pytest.mark.parametrize("pattern", ["", "^(?P<group>[a-z]+_\\d{8}", "^([a-z]+)_\\d+", "^[a-z]+_\\d{8}", "*abc",
                                     "(?P<group>a))", "[a-z"])
def test_the_suggested_grouping_pattern_compiles_with_a_group(pattern: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_config({"landing-pipeline:groupingRule": "regex", "landing-pipeline:groupingPattern": pattern})
    (problem,) = caught.value.problems
    assert problem.setting == "groupingPattern"
    suggested = _fix_pattern(problem.fix)
    assert "group" in re.compile(suggested).groupindex
    spec_from_config({"landing-pipeline:groupingRule": "regex", "landing-pipeline:groupingPattern": suggested})
