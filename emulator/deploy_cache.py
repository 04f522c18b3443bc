"""Deploy a stack many times in one process without running Pulumi each time: record once, replay after.

A chaos sweep or a benchmark runs hundreds of short demos of one stack, each on a fresh moto. Running the
program under Pulumi's mock runtime costs about 2.8 s of CPU per deploy (almost all of it Pulumi's own
machinery: outputs, RPC serialisation, asyncio), and reading the stack another 1.7 s; moto's part is a
tenth of that. So the first deploy of a configuration records, in order, every resource the bridge created
(type, logical name, the inputs the program gave it, the state the bridge returned); a later deploy of the
same configuration on a fresh account replays that list through the *same bridge handlers*, skipping
Pulumi. Values moto draws at random (a KMS key id, an event source mapping's UUID) differ on the new
account: every string of a recorded state that the replay gets back different is substituted into the
inputs of the resources created after it, so a queue encrypted with the first run's key is encrypted with
the new key, exactly as Pulumi would have wired it.

Replay is opt-in (``reused_deployments()``): a program may decide per run (the time, the environment), and
a single ``landing demo`` gains nothing from it. The cache is keyed by everything the program reads that
the emulator controls (stack, project folder, overrides, the stack files' and program's modification
times).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landing_pipeline.components.program_runner import ProgramRun
from landing_pipeline.emulator.bridge import CreatedResource, MotoMocks

MIN_SUBSTITUTED = 12
"""Shorter strings are never substituted (a changed "1" or "true" is not an identifier worth chasing)."""


@dataclass(frozen=True)
class Creation:
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]


@dataclass
class Recording:
    """What one real deploy did, enough to do it again on a fresh account."""

    program: ProgramRun
    creations: list[Creation] = field(default_factory=list)


class RecordingMocks(MotoMocks):
    """``MotoMocks`` that notes every creation as it happens, in order."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.creations: list[Creation] = []

    def _create(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        physical, state = super()._create(typ, name, inputs)
        self.creations.append(Creation(typ, name, _copy(inputs), _copy(state)))
        return physical, state


def replay(mocks: MotoMocks, recording: Recording) -> list[CreatedResource]:
    """Create the recorded resources again through ``mocks``' own bridge handlers, in the recorded order."""
    renamed: dict[str, str] = {}
    for creation in recording.creations:
        inputs = _substitute(creation.inputs, renamed) if renamed else _copy(creation.inputs)
        _, state = mocks._create(creation.type, creation.name, inputs)
        _note_changes(creation.state, state, renamed)
    return mocks.created


def _copy(value: Any) -> Any:
    """Containers copied, leaves kept (Pulumi assets and archives must reach the bridge as themselves)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _note_changes(old: Any, new: Any, renamed: dict[str, str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in new:
                _note_changes(value, new[key], renamed)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new, strict=False):
            _note_changes(a, b, renamed)
    elif isinstance(old, str) and isinstance(new, str) and old != new and len(old) >= MIN_SUBSTITUTED:
        renamed[old] = new


def _substitute(value: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, renamed) for v in value]
    if isinstance(value, str):
        for old, new in renamed.items():  # also inside policy documents and other JSON strings
            if old in value:
                value = value.replace(old, new)
        return value
    return value


class DeployCache:
    """Stack readings and deploy recordings of one process, by configuration."""

    def __init__(self) -> None:
        self.stacks: dict[tuple[Any, ...], Any] = {}
        self.recordings: dict[tuple[Any, ...], Recording] = {}
        self.lock = threading.Lock()


_active: DeployCache | None = None


def active() -> DeployCache | None:
    return _active


@contextmanager
def reused_deployments() -> Iterator[DeployCache]:
    """Within this block, ``read_stack`` and ``deploy`` of a configuration seen before reuse its first run."""
    global _active
    previous, _active = _active, _active or DeployCache()
    try:
        yield _active
    finally:
        _active = previous


@contextmanager
def fresh_deployments() -> Iterator[None]:
    """Within this block every deploy runs the program again (a test of reuse itself, a program under edit)."""
    global _active
    previous, _active = _active, None
    try:
        yield
    finally:
        _active = previous


def stack_key(stack: str, folder: Path, overrides: Mapping[str, Any] | None) -> tuple[Any, ...]:
    files = [folder / "__main__.py", folder / "Pulumi.yaml", folder / f"Pulumi.{stack}.yaml"]
    stamps = tuple(f.stat().st_mtime_ns if f.exists() else None for f in files)
    return stack, str(folder.resolve()), json.dumps(dict(overrides or {}), sort_keys=True, default=str), stamps
