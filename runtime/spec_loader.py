"""Read a pipeline spec from Pulumi configuration, with or without the Pulumi CLI.

``pulumi up`` hands the program a flat mapping of ``project:key`` strings; the
simulator, the emulator and ``landing plan`` read the same values straight from
``Pulumi.yaml`` (the declared defaults) overlaid with ``Pulumi.<stack>.yaml``,
so they see exactly the stack a user deploys.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.errors import Problem, SpecError
from landing_pipeline.runtime.spec import SETTINGS_BY_KEY, PipelineSpec, coerce


class StackFileError(FileNotFoundError):
    """A stack or project file is missing or unreadable; the message says which and what exists."""


def spec_from_config(config: Mapping[str, Any], project: str = PROJECT) -> PipelineSpec:
    """Build a spec from ``{"landing-pipeline:maxParallelGroups": "8", "aws:region": ...}``.

    Keys of other namespaces (``aws:region``) are left to their owners; an unknown key of
    ours is a problem with a did-you-mean, because a typo would otherwise deploy a default.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for qualified, raw in config.items():
        namespace, _, key = qualified.rpartition(":")
        if namespace != project:
            continue
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            problems.append(_unknown_key(key, raw))
            continue
        try:
            values[setting.name] = coerce(setting, raw)
        except ValueError as exc:
            problems.append(Problem(key, raw, str(exc), f"set {setting.qualified_key} to a {setting.kind} "
                                    f"value (default: {setting.default!r})"))
    try:
        spec = PipelineSpec(**values)
    except SpecError as exc:
        raise SpecError(problems + exc.problems) from None
    if problems:
        raise SpecError(problems)
    return spec


def _unknown_key(key: str, raw: Any) -> Problem:
    close = difflib.get_close_matches(key, list(SETTINGS_BY_KEY), n=1, cutoff=0.6)
    if not close:  # try a case-insensitive or snake_case spelling too
        folded = key.replace("_", "").lower()
        close = [k for k in SETTINGS_BY_KEY if k.lower() == folded]
    hint = f"did you mean {PROJECT}:{close[0]}?" if close else "see docs/configuration.md for every setting"
    return Problem(key, raw, "not a setting of this pipeline", hint)


def _config_block(path: Path) -> dict[str, Any]:
    import yaml  # lazily: the Lambdas never read files, and PyYAML is not in their bundle

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise StackFileError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path} should be a YAML mapping with a 'config:' block")
    block = document.get("config") or {}
    if not isinstance(block, dict):
        raise StackFileError(f"{path}: 'config:' should be a mapping of settings")
    return block


def project_defaults(project_file: Path) -> dict[str, Any]:
    """The defaults declared in ``Pulumi.yaml``'s ``config:`` block, as qualified keys."""
    defaults: dict[str, Any] = {}
    for key, declaration in _config_block(project_file).items():
        qualified = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(declaration, dict) and ("type" in declaration or "default" in declaration):
            if "default" in declaration:
                defaults[qualified] = declaration["default"]
        elif isinstance(declaration, dict) and "value" in declaration:
            defaults[qualified] = declaration["value"]
        else:
            defaults[qualified] = declaration
    return defaults


def stack_values(stack_file: Path) -> dict[str, Any]:
    """The ``config:`` of a ``Pulumi.<stack>.yaml``, qualified keys kept as written."""
    values = {}
    for key, value in _config_block(stack_file).items():
        if isinstance(value, dict) and "secure" in value:
            continue  # encrypted values need the CLI; no setting of ours is secret
        values[key if ":" in key else f"{PROJECT}:{key}"] = value
    return values


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding ``Pulumi.yaml``: the given one or an ancestor, else this package's checkout."""
    candidates = []
    if start is not None:
        candidates += [start, *start.resolve().parents]
    cwd = Path.cwd()
    candidates += [cwd, *cwd.parents, Path(__file__).resolve().parent.parent]
    for folder in candidates:
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise StackFileError("no Pulumi.yaml found here or above; run from the project folder or pass --project-dir")


def available_stacks(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack(stack: str, project_dir: Path | None = None) -> PipelineSpec:
    """The spec of stack ``stack``: ``Pulumi.yaml`` defaults overlaid with ``Pulumi.<stack>.yaml``."""
    folder = find_project_dir(project_dir)
    stack_file = folder / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = ", ".join(available_stacks(folder)) or "none"
        raise StackFileError(f"no stack file {stack_file} (stacks here: {known}); create it with "
                             f"'pulumi stack init {stack}' or copy Pulumi.dev.yaml")
    return load_stack_file(stack_file, folder)


def load_stack_file(stack_file: Path, project_dir: Path | None = None) -> PipelineSpec:
    """The spec of a stack file in the ``Pulumi.<stack>.yaml`` format, wherever it lives."""
    if not stack_file.is_file():
        raise StackFileError(f"no stack file {stack_file}")
    folder = project_dir or find_project_dir(stack_file.parent)
    merged = project_defaults(folder / "Pulumi.yaml")
    merged.update(stack_values(stack_file))
    return spec_from_config(merged)


def pulumi_yaml_config() -> dict[str, Any]:
    """The ``config:`` block ``Pulumi.yaml`` must declare: every setting with type, description, default."""
    from landing_pipeline.runtime.spec import settings

    block: dict[str, Any] = {}
    for setting in settings():
        declaration: dict[str, Any] = {"type": setting.kind, "description": setting.description,
                                       "default": setting.default}
        if setting.kind == "array":
            declaration["items"] = {"type": "string"}
        block[setting.config_key] = declaration
    return block


def write_pulumi_yaml_config(project_file: Path) -> None:
    """Rewrite the ``config:`` block of ``Pulumi.yaml`` from the spec, keeping the rest of the file."""
    import yaml

    text = project_file.read_text(encoding="utf-8")
    head, marker, _ = text.partition("\nconfig:\n")
    if not marker:
        raise StackFileError(f"{project_file} has no top-level 'config:' block to rewrite")
    body = yaml.safe_dump({"config": pulumi_yaml_config()}, sort_keys=False, width=110)
    project_file.write_text(head + "\n" + body, encoding="utf-8")


if __name__ == "__main__":  # python -m runtime.spec_loader: refresh Pulumi.yaml after changing the spec
    write_pulumi_yaml_config(find_project_dir() / "Pulumi.yaml")
