"""Shared runs of the real program under mocks, cached per (stack, overrides): each costs ~0.3 s."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import ProgramRun, ResourceRecord, run_program
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack


@lru_cache(maxsize=32)
def _cached(stack: str, overrides: tuple[tuple[str, str], ...]) -> ProgramRun:
    return run_program(AwsMocks(), stack, overrides={k: json.loads(v) for k, v in overrides})


def plan(stack: str = "dev", **overrides: Any) -> ProgramRun:
    """The program's registrations for a stack, with config keys (camelCase) overridden."""
    return _cached(stack, tuple(sorted((k, json.dumps(v)) for k, v in overrides.items())))


def spec_of(stack: str, **overrides: Any) -> PipelineSpec:
    return load_stack(stack).replace(**overrides) if overrides else load_stack(stack)


def policy(record: ResourceRecord, key: str = "policy") -> dict[str, Any]:
    document = record.inputs[key]
    return json.loads(document) if isinstance(document, str) else document


def statements(record: ResourceRecord, key: str = "policy") -> list[dict[str, Any]]:
    return list(policy(record, key)["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def run(stack: str) -> ProgramRun:
    return plan(stack)


@pytest.fixture
def spec(stack: str) -> PipelineSpec:
    return spec_of(stack)


PlanFn = Callable[..., ProgramRun]
