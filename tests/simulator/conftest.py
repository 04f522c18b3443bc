"""Shared builders for the simulator tests: the project's own stacks and small scenarios written inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack
from landing_pipeline.simulator.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dev_spec() -> PipelineSpec:
    return load_stack("dev", ROOT)


def scenario(document: dict[str, Any], base_dir: Path = ROOT) -> Scenario:
    return parse_scenario(document, "<test>", base_dir)


def trace_scenario(tmp_path: Path, rows: list[str], **extra: Any) -> Scenario:
    """A scenario replaying ``rows`` (CSV lines after the header time_s,key,duration_s,fail_attempts)."""
    path = tmp_path / "trace.csv"
    path.write_text("time_s,key,duration_s,fail_attempts\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return parse_scenario({"trace": path.name, **extra}, str(tmp_path / "scenario.yaml"), tmp_path)
