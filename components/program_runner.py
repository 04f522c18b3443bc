"""Run the real ``__main__.py`` under Pulumi's mock runtime and return what it declared.

``landing plan`` (recording mocks), the component tests and the emulator (mocks
that create each resource in moto) all need the very program ``pulumi up`` runs,
fed with the very stack configuration it would get, minus the engine. This
module does exactly that: it reads ``Pulumi.yaml`` defaults overlaid with
``Pulumi.<stack>.yaml`` (through ``runtime.spec_loader``, so the values match
what the CLI would pass), hands them to the program as its config, executes
``__main__.py``, and returns one record per registered resource plus the stack
exports.

Each run happens in a fresh ``contextvars.Context``: Pulumi keeps its settings,
config and root stack in context variables, so a new context is a new
deployment and the function can be called any number of times per process.
"""

from __future__ import annotations

import contextvars
import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import StackFileError, declared_project, find_project_dir, stack_settings

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class ResourceRecord:
    """One resource the program registered: what it asked for and what the mocks answered."""

    type: str
    name: str
    urn: str
    parent: str | None
    """Logical name of the parent resource; None for children of the stack itself."""
    parent_type: str | None
    parent_urn: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    """The state the mocks returned (inputs plus computed outputs such as ARNs and URLs)."""
    id: str | None
    custom: bool
    provider: str | None = None

    def plan_entry(self) -> dict[str, Any]:
        """The ``landing plan --json`` shape."""
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass
class ProgramRun:
    """Everything one mock deployment produced."""

    stack: str
    config: dict[str, str]
    resources: list[ResourceRecord] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    project: str = PROJECT
    """The ``name:`` of the program's ``Pulumi.yaml``: what URNs and auto-names carry."""
    pipelines: dict[str, PipelineSpec] = field(default_factory=dict)
    """Logical name -> the validated spec of every ``IngestionPipeline`` the program built, i.e. what it
    declares (its args), whatever the stack file says: the emulator deploys from these."""

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_token]

    def find(self, type_token: str, name: str | None = None) -> ResourceRecord:
        """The single resource of a type (and name, when several share the type)."""
        matches = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(matches) != 1:
            names = ", ".join(r.name for r in self.of_type(type_token)) or "none"
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(matches)} (have: {names})")
        return matches[0]

    def children_of(self, urn: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.parent_urn == urn]


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that also remembers each registration's parent and inputs, in order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[ResourceRecord] = []
        self._by_urn: dict[str, tuple[str, str]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            self._by_urn[response.urn] = (STACK_TYPE, request.name)
        else:
            self._record(request, request.object, response.urn, custom=bool(request.custom))
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, request.properties, response.urn, custom=True)
        return response

    def _record(self, request: Any, properties: Any, urn: str, *, custom: bool) -> None:
        from pulumi.runtime import rpc

        registration = self.resources.get(urn)
        inputs = rpc.deserialize_properties(properties)
        parent_urn = request.parent or None
        parent = self._by_urn.get(parent_urn) if parent_urn else None
        if parent is not None and parent[0] == STACK_TYPE:
            parent = None
        self._by_urn[urn] = (request.type, request.name)
        self.records.append(ResourceRecord(
            type=request.type, name=request.name, urn=urn,
            parent=parent[1] if parent else None, parent_type=parent[0] if parent else None,
            parent_urn=parent_urn if parent else None,
            inputs=_plain(inputs), outputs=_plain(registration.state if registration else {}),
            id=registration.id if registration else None, custom=custom, provider=request.provider or None))


def project_name(folder: Path) -> str:
    """The ``name:`` of ``folder/Pulumi.yaml``: a user's own project, not necessarily ``landing-pipeline``.

    Pulumi puts it in every URN and the provider's auto-names; forcing ours would give a reusing
    project's plan and emulated deployment names its real ``pulumi up`` never creates."""
    name = declared_project(folder / "Pulumi.yaml")
    if name is None:
        raise StackFileError(f"{folder / 'Pulumi.yaml'} has no 'name:'; Pulumi requires one (e.g. 'name: my-app')")
    return name


def stack_config(stack: str = "dev", *, project_dir: Path | None = None, stack_file: Path | None = None,
                 overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The config the CLI would hand the program: declared defaults, the stack file, then overrides.

    Values are strings (JSON for lists and booleans) because that is how the engine passes them;
    the program must parse them exactly as it does under ``pulumi up``. Override keys without a
    namespace are the pipeline's settings (``maxParallelGroups`` means ``landing-pipeline:maxParallelGroups``);
    unqualified keys of the files belong to the project ``Pulumi.yaml`` names, as under ``pulumi up``.
    """
    folder = find_project_dir(project_dir)
    path = stack_file or folder / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackFileError(f"no stack file {path}; stacks here: "
                             + (", ".join(p.name for p in sorted(folder.glob("Pulumi.*.yaml"))) or "none"))
    merged = stack_settings(path, folder, project_name(folder))
    for key, value in (overrides or {}).items():
        merged[key if ":" in key else f"{PROJECT}:{key}"] = value
    return {key: _engine_string(value) for key, value in merged.items()}


def _engine_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def run_program(mocks: pulumi.runtime.Mocks, stack: str = "dev", *, project_dir: Path | None = None,
                stack_file: Path | None = None, config: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None, program: Path | None = None,
                preview: bool = False) -> ProgramRun:
    """Execute the Pulumi program once under ``mocks`` and return every registration and export.

    ``config`` replaces the stack-file lookup entirely (flat ``project:key`` -> string mapping).
    Exceptions raised by the program (``SpecError`` for an invalid configuration) propagate
    unchanged; nothing is registered before the spec is validated.
    """
    folder = find_project_dir(project_dir)
    if config is None:
        config = stack_config(stack, project_dir=folder, stack_file=stack_file, overrides=overrides)
    elif overrides:
        config = {**config, **{k if ":" in k else f"{PROJECT}:{k}": _engine_string(v)
                               for k, v in overrides.items()}}
    main = program or folder / "__main__.py"
    from landing_pipeline.components.mocks import AwsMocks

    if isinstance(mocks, AwsMocks) and mocks.region is None and config.get("aws:region"):
        mocks.region = config["aws:region"]  # answer getRegion with the stack's region, as AWS would
    context = contextvars.Context()
    return context.run(_run_in_context, mocks, stack, dict(config), main, folder, preview)


def _run_in_context(mocks: pulumi.runtime.Mocks, stack: str, config: dict[str, str], main: Path,
                    folder: Path, preview: bool) -> ProgramRun:
    monitor = _RecordingMonitor(mocks)
    features = set(monitor.GetDeploymentInfo(None).supportedFeatures)  # type: ignore[no-untyped-call]
    pulumi_settings.configure(pulumi_mocks.MockSettings(  # type: ignore[no-untyped-call]
        monitor=monitor, monitor_features=features, engine=pulumi_mocks.MockEngine(None),
        project=project_name(folder), stack=stack, dry_run=preview, organization="organization", callbacks=None,
        root_directory=str(folder)))
    pulumi.runtime.set_all_config(config, [])
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

    stacks: list[Any] = []
    from landing_pipeline.components.pipeline import BUILT_PIPELINES

    built: list[tuple[str, PipelineSpec]] = []
    BUILT_PIPELINES.set(built)  # the program's task runs in a copy of this context: it appends to this list

    def execute() -> None:
        # run_in_stack creates the root Stack inside an asyncio task, i.e. in a copy of this context:
        # fetch it from inside, where pulumi.export puts the exports.
        stacks.append(pulumi_settings.get_root_resource())
        runpy.run_path(str(main), run_name="__main__")

    _sync_await(run_in_stack(execute))
    raw_exports = dict(getattr(stacks[0], "outputs", {}) or {}) if stacks else {}
    exports = {name: _sync_await(pulumi.Output.from_input(value).future()) for name, value in raw_exports.items()}
    return ProgramRun(stack=stack, config=config, resources=list(monitor.records), exports=_plain(exports),
                      project=pulumi.get_project(), pipelines=dict(built))


def _plain(value: Any) -> Any:
    """Deserialized Pulumi values as plain JSON-able Python (assets/archives described, not read)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return {"__asset": type(value).__name__, "path": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"__asset": "StringAsset", "text": value.text}
    if isinstance(value, pulumi.AssetArchive):
        return {"__asset": "AssetArchive", "assets": {k: _plain(v) for k, v in value.assets.items()}}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; the program passed whole numbers
    if isinstance(value, pulumi.Resource):
        return {"__resource": type(value).__name__}
    return value
