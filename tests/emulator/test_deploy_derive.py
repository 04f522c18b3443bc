"""The proof behind ``emulator/deploy_derive.py``: a settings combination's deploy derived from another's
recording creates exactly what a real Pulumi-mock deploy of that combination creates (types, names, inputs),
and its stack reading equals the real one; where the model's condition does not hold, nothing is derived."""

from __future__ import annotations

import json
from typing import Any

import pytest

from landing_pipeline.emulator import chaos, deploy_cache, deploy_derive
from landing_pipeline.emulator import deploy as deploy_module
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import StackConfig, deploy, read_stack

BASE = {**chaos.FAST, "onFailure": "block", "maxParallelGroups": 1, "maxAttempts": 3}
OTHERS = [  # every derived setting changed alone, and all three at once
    {**chaos.FAST, "onFailure": "continue", "maxParallelGroups": 1, "maxAttempts": 3},
    {**chaos.FAST, "onFailure": "block", "maxParallelGroups": 4, "maxAttempts": 3},
    {**chaos.FAST, "onFailure": "block", "maxParallelGroups": 1, "maxAttempts": 2},
    {**chaos.FAST, "onFailure": "continue", "maxParallelGroups": 3, "maxAttempts": 4},
]


def _plain(value: Any) -> Any:
    """Inputs as comparable values: Pulumi's assets and archives by what they hold."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    held = {name: _plain(getattr(value, name)) for name in ("path", "text", "uri", "assets")
            if getattr(value, name, None) is not None}
    assert held, f"cannot compare {value!r}"
    return (type(value).__name__, held)


def _creations(recording: deploy_cache.Recording) -> dict[tuple[str, str], Any]:
    """(type, name) -> inputs (Pulumi registers resources in no fixed order, so the order is not compared)."""
    found = {(c.type, c.name): _plain(c.inputs) for c in recording.creations}
    assert len(found) == len(recording.creations)
    return found


def _record(overrides: dict[str, Any]) -> tuple[StackConfig, deploy_cache.Recording]:
    """A real read and deploy through Pulumi's mock runtime, on a cache of its own."""
    with deploy_cache.fresh_deployments(), deploy_cache.reused_deployments() as cache:
        stack = read_stack("dev", None, overrides)
        with InProcessAWS(stack.region) as aws:
            deploy(aws, stack)
        (recording,) = cache.recordings.values()
        return stack, recording


@pytest.fixture(scope="module")
def base() -> tuple[StackConfig, deploy_cache.Recording]:
    return _record(BASE)


@pytest.mark.parametrize("overrides", OTHERS, ids=lambda o: f"{o['onFailure']}-{o['maxParallelGroups']}-"
                                                          f"{o['maxAttempts']}")
def test_a_derived_deploy_creates_what_pulumi_creates(base: tuple[StackConfig, deploy_cache.Recording],
                                                      overrides: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real_stack, real = _record(overrides)
    base_stack, base_recording = base
    with deploy_cache.fresh_deployments(), deploy_cache.reused_deployments() as cache:
        cache.stacks[deploy_cache.stack_key("dev", base_stack.project_dir, BASE)] = base_stack
        key = ("dev", str(base_stack.project_dir), json.dumps(base_stack.config, sort_keys=True),
               base_stack.region)
        cache.recordings[key] = base_recording

        def no_pulumi(*_: Any, **__: Any) -> Any:
            raise AssertionError("derivable, yet the program ran under Pulumi")

        monkeypatch.setattr(deploy_module, "run_program", no_pulumi)
        stack = read_stack("dev", None, overrides)
        assert stack == real_stack
        with InProcessAWS(stack.region) as aws:
            deployment = deploy(aws, stack)
        derived = next(r for k, r in cache.recordings.items() if k != key)
    assert _creations(derived) == _creations(real)
    assert derived.program.pipelines == real.program.pipelines
    assert derived.program.config == real.program.config
    assert deployment.spec == real_stack.spec
    changed = {(c.type, c.name) for c in derived.creations} - {
        (c.type, c.name) for c, b in zip(derived.creations, base_recording.creations, strict=True)
        if _plain(c.inputs) == _plain(b.inputs)}
    assert changed, "the combination changed nothing: the comparison proves nothing"


def test_nothing_is_derived_where_the_model_does_not_hold(base: tuple[StackConfig, deploy_cache.Recording]) -> None:
    stack, recording = base
    other = dict(stack.config)
    other["landing-pipeline:maxAttempts"] = "2"
    spec_b = deploy_derive.derived_spec(stack.spec, stack.config, other)
    assert spec_b is not None and spec_b.max_attempts == 2
    assert deploy_derive.derive(recording, stack.spec, spec_b, other, stack.pipeline) is not None
    # another setting differs: never derived
    assert not deploy_derive.derivable(stack.project_dir, stack.config,
                                       {**other, "landing-pipeline:settleSeconds": "31"})
    # the ordered queue's ceiling would change (maxAttempts 11 -> 110 receives): never derived
    assert not deploy_derive.derivable(stack.project_dir, stack.config,
                                       {**other, "landing-pipeline:maxAttempts": "11"})
    # a place no longer holds what the model renders for the recorded spec: never derived
    tampered = deploy_cache.Recording(recording.program, [
        deploy_cache.Creation(c.type, c.name, {**c.inputs, "alarmDescription": "no attempts named"}, c.state)
        if c.name.endswith("-glue-failures") else c for c in recording.creations])
    assert deploy_derive.derive(tampered, stack.spec, spec_b, other, stack.pipeline) is None
    # a place the model expects is gone from the program: never derived
    missing = deploy_cache.Recording(recording.program, [
        c for c in recording.creations if c.type != "aws:glue/job:Job"])
    assert deploy_derive.derive(missing, stack.spec, spec_b, other, stack.pipeline) is None
