"""A deploy of one more settings combination, derived from a recorded one instead of run through Pulumi again.

A chaos sweep draws ``onFailure`` x ``maxParallelGroups`` x ``maxAttempts`` (24 combinations) per seed, and each
combination a worker met cost a Pulumi-mock deploy and a stack reading (about 4.5 CPU s together, some 200 CPU s
over 500 seeds). Those three settings reach this repository's program only as known input values: the
functions' environment (``spec.to_env``), the Glue job's ``MaxConcurrentRuns``, the dispatcher mapping's
``MaximumConcurrency`` (``contract.dispatcher_concurrency``) and the Glue-failure alarm's description; nothing
else the program creates, names or wires depends on them (the ordered queue's ``maxReceiveCount`` does through
``receive_ceiling``, so a combination that changes it is never derived). So a recording of combination A becomes
the recording of B by writing B's values at exactly those places (``PLACES``).

The proof is ``tests/emulator/test_deploy_derive.py``: for several combinations it compares the derived
creations (types, names, inputs) and stack reading with a real Pulumi-mock deploy of that combination, and fails
when they differ. At run time a derivation is refused (the caller then deploys through Pulumi) unless: the
program is this repository's (the one the test proves), the two configurations differ in no other key, the
ordered queue's ceiling is the same, and every place holds, in the recording, exactly what the model renders for
A's spec (so a program that stopped putting a setting there, or put it there differently, is never trusted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landing_pipeline.components.program_runner import ProgramRun
from landing_pipeline.emulator.deploy_cache import Creation, Recording, _copy
from landing_pipeline.runtime.contract import dispatcher_concurrency
from landing_pipeline.runtime.spec import SETTINGS_BY_NAME, PipelineSpec, to_env
from landing_pipeline.runtime.spec_loader import spec_from_config

DERIVED = ("on_failure", "max_parallel_groups", "max_attempts")
"""The spec fields whose combinations are derived (chaos.plan's draws)."""
REPOSITORY = Path(__file__).resolve().parents[1]
"""The project whose program the test proves the model on (this checkout)."""
FUNCTION = "aws:lambda/function:Function"
ALARM_TEXT = "retried up to {} attempts"


@dataclass(frozen=True)
class Place:
    """One input the derived settings reach: resources of ``type`` whose name ends with ``suffix``, the value at
    ``path`` in their inputs, as ``render(spec)`` gives it (``text``: a part of a longer string)."""

    type: str
    suffix: str
    path: tuple[str, ...]
    render: Callable[[PipelineSpec], Any]
    text: bool = False


def _env(name: str) -> Place:
    var = SETTINGS_BY_NAME[name].env_var
    return Place(FUNCTION, "", ("environment", "variables", var), lambda spec: to_env(spec)[var])


PLACES = (
    *(_env(name) for name in DERIVED),
    Place("aws:glue/job:Job", "", ("executionProperty", "maxConcurrentRuns"), lambda s: s.glue_max_concurrent_runs),
    Place("aws:lambda/eventSourceMapping:EventSourceMapping", "-dispatcher-trigger",
          ("scalingConfig", "maximumConcurrency"), lambda s: dispatcher_concurrency(s.max_parallel_groups)),
    Place("aws:cloudwatch/metricAlarm:MetricAlarm", "-glue-failures", ("alarmDescription",),
          lambda s: ALARM_TEXT.format(s.max_attempts), text=True),
)


def derivable(folder: Path, config_a: dict[str, str], config_b: dict[str, str]) -> bool:
    """Whether B's deploy may be derived from A's: this repository's program, configurations that differ only
    in the derived settings, and the same ordered-queue ceiling."""
    if folder.resolve() != REPOSITORY or set(config_a) != set(config_b):
        return False
    keys = {SETTINGS_BY_NAME[name].qualified_key for name in DERIVED}
    if any(config_a[k] != config_b[k] for k in config_a if k not in keys):
        return False
    try:
        return spec_from_config(config_a).receive_ceiling == spec_from_config(config_b).receive_ceiling
    except Exception:  # an invalid configuration: Pulumi's run names the problem
        return False


def derived_spec(spec_a: PipelineSpec, config_a: dict[str, str], config_b: dict[str, str]) -> PipelineSpec | None:
    """The spec the program builds from ``config_b``, when it built the configuration's own spec from
    ``config_a`` (then only the derived fields differ); None: not derivable."""
    try:
        from_a, from_b = spec_from_config(config_a), spec_from_config(config_b)
    except Exception:
        return None
    if from_a != spec_a:
        return None
    return dataclasses.replace(spec_a, **{name: getattr(from_b, name) for name in DERIVED})


def derive(recording: Recording, spec_a: PipelineSpec, spec_b: PipelineSpec,
           config_b: dict[str, str], pipeline: str) -> Recording | None:
    """Recording A with B's values at every place, or None when a place does not hold A's rendering."""
    creations = []
    found = {place: 0 for place in PLACES}
    for creation in recording.creations:
        inputs, state = _copy(creation.inputs), _copy(creation.state)
        for place in PLACES:
            if creation.type != place.type or not creation.name.endswith(place.suffix):
                continue
            if not _rewrite(inputs, place, spec_a, spec_b) or not _rewrite(state, place, spec_a, spec_b):
                return None
            found[place] += 1
        creations.append(Creation(creation.type, creation.name, inputs, state))
    if not all(found.values()):
        return None  # a place the model expects is not in the program any more: never trusted
    program = recording.program
    resources = []
    for record in program.resources:
        inputs, outputs = _copy(record.inputs), _copy(record.outputs)
        for place in PLACES:
            if record.type == place.type and record.name.endswith(place.suffix):
                _rewrite(inputs, place, spec_a, spec_b)
                _rewrite(outputs, place, spec_a, spec_b)
        resources.append(dataclasses.replace(record, inputs=inputs, outputs=outputs))
    derived = ProgramRun(stack=program.stack, config=dict(config_b), resources=resources,
                         exports=dict(program.exports), project=program.project, pipelines={pipeline: spec_b})
    return Recording(derived, creations)


def _rewrite(document: dict[str, Any], place: Place, spec_a: PipelineSpec, spec_b: PipelineSpec) -> bool:
    """Put B's rendering at ``place`` in ``document``; False when the value there is not A's rendering."""
    *parents, leaf = place.path
    node: Any = document
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node:
        return False
    old, new, value = place.render(spec_a), place.render(spec_b), node[leaf]
    if place.text:
        if not isinstance(value, str) or value.count(old) != 1:
            return False
        node[leaf] = value.replace(old, new)
        return True
    if value != old or isinstance(value, bool) != isinstance(old, bool):
        return False
    node[leaf] = type(value)(new) if isinstance(value, int | float) else new
    return True
