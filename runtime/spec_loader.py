"""Read a pipeline spec from Pulumi configuration, with or without the Pulumi CLI.

``pulumi up`` hands the program a flat mapping of ``project:key`` strings; the
simulator, the emulator and ``landing plan`` read the same values straight from
``Pulumi.yaml`` (the declared defaults) overlaid with ``Pulumi.<stack>.yaml``,
so they see exactly the stack a user deploys.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.errors import Problem, SpecError, StackFileError
from landing_pipeline.runtime.spec import SETTINGS_BY_KEY, FeedsInvalid, PipelineSpec, Setting, coerce

__all__ = ["StackFileError", "load_stack", "load_stack_file", "spec_from_config", "stack_file_warnings"]

STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
"""The top-level keys Pulumi reads in a ``Pulumi.<stack>.yaml``; a setting anywhere else is ignored by it."""


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
            if namespace and _looks_like(namespace, project):
                problems.append(_misspelt_namespace(qualified, namespace, key, raw, project))
            continue
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            problems.append(_unknown_key(key, raw))
            continue
        shape = _shape_problem(setting, raw)
        if shape is not None:
            problems.append(shape)
            continue
        try:
            values[setting.name] = coerce(setting, raw)
        except FeedsInvalid as exc:
            problems.extend(exc.problems)
            values[setting.name] = exc.feeds   # checked further with the rest: every problem at once
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


def _closest_key(key: str) -> str | None:
    if key in SETTINGS_BY_KEY:
        return key
    close = difflib.get_close_matches(key, list(SETTINGS_BY_KEY), n=1, cutoff=0.6)
    if not close:  # try a case-insensitive or snake_case spelling too
        folded = key.replace("_", "").lower()
        close = [k for k in SETTINGS_BY_KEY if k.lower() == folded]
    return close[0] if close else None


def _unknown_key(key: str, raw: Any) -> Problem:
    close = _closest_key(key)
    hint = f"did you mean {PROJECT}:{close}?" if close else "see docs/configuration.md for every setting"
    return Problem(key, raw, "not a setting of this pipeline", hint)


def _looks_like(namespace: str, project: str) -> bool:
    """A namespace that is a typo of ours (``landing-pipline``, ``landing_pipeline``, ``Landing-Pipeline``):
    Pulumi would hand it to no one, so the setting would silently keep its default."""
    def folded(text: str) -> str:
        return text.lower().replace("_", "-")

    return difflib.SequenceMatcher(None, folded(namespace), folded(project)).ratio() >= 0.8


def _misspelt_namespace(qualified: str, namespace: str, key: str, raw: Any, project: str) -> Problem:
    meant = _closest_key(key) or key
    return Problem(qualified, raw, f"{namespace!r} is not this project's namespace {project!r}, so the value "
                   "would be ignored and the setting keep its default", f"did you mean {project}:{meant}?")


def _is_secure(raw: Any) -> bool:
    """An encrypted value: ``{secure: ...}`` in a stack file, or the JSON the mock engine hands the program."""
    if isinstance(raw, str) and raw.startswith('{"secure"'):
        try:
            raw = json.loads(raw)
        except ValueError:
            return False
    return isinstance(raw, dict) and set(raw) == {"secure"}


def _shape_problem(setting: Setting, raw: Any) -> Problem | None:
    """A value of the wrong shape that ``coerce`` would turn into something else without a word."""
    if _is_secure(raw):
        return Problem(setting.config_key, "(encrypted)", "an encrypted (secure:) value, which only the pulumi "
                       "CLI can read; no setting of this pipeline is secret",
                       f"store it in plain text: pulumi config set {setting.qualified_key} VALUE (without --secret)")
    if setting.kind == "array" and isinstance(raw, str) and raw.strip() and not raw.strip().startswith("["):
        items = [item.strip() for item in raw.split(",") if item.strip()]
        return Problem(setting.config_key, raw, "a single string where a list is wanted",
                       f"write a YAML list: {setting.qualified_key}: {json.dumps(items)}")
    return None


def _document(path: Path) -> dict[str, Any]:
    import yaml  # lazily: the Lambdas never read files, and PyYAML is not in their bundle

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise StackFileError(f"cannot read {path}: {exc.strerror}", path) from None
    except yaml.YAMLError as exc:
        # where the broken construct starts (an unclosed '[' is reported at the end of the file otherwise)
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f"{path}:{line}" if line else str(path)
        what = ": ".join(str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
                         if part) or str(exc)
        raise StackFileError(f"{where}: not valid YAML ({what}); fix the line (quote values holding ':', '#', "
                             "'[' or '{') and check the indentation", path, line) from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path} should be a YAML mapping with a 'config:' block", path)
    return document


def _config_block(path: Path) -> dict[str, Any]:
    return _config_of(_document(path), path)


def _config_of(document: dict[str, Any], path: Path) -> dict[str, Any]:
    block = document.get("config") or {}
    if not isinstance(block, dict):
        raise StackFileError(f"{path}: 'config:' should be a mapping of settings", path)
    return block


def _stack_block(path: Path) -> dict[str, Any]:
    """The ``config:`` of a stack file, refusing settings written outside it (Pulumi would ignore them)."""
    document = _document(path)
    stray = [str(key) for key in document if str(key) not in STACK_FILE_KEYS]
    if stray:
        raise StackFileError(f"{path}: {', '.join(stray)} {'is' if len(stray) == 1 else 'are'} outside the "
                             "'config:' block, so Pulumi ignores "
                             f"{'it' if len(stray) == 1 else 'them'}; indent the settings under 'config:'", path)
    return _config_of(document, path)


def stack_file_warnings(stack_file: Path) -> list[str]:
    """What is legal but probably not meant in a stack file: today, a file that sets nothing.

    Not an error: a stack may deploy every default (``pulumi`` accepts it too), but ``landing config``
    should not call such a file "valid" without saying that none of it was read.
    """
    if not _stack_block(stack_file):
        return [f"{stack_file} sets nothing under 'config:'; every setting takes its default from Pulumi.yaml"]
    return []


def project_defaults(project_file: Path, project: str = PROJECT) -> dict[str, Any]:
    """The defaults declared in ``Pulumi.yaml``'s ``config:`` block, as qualified keys.

    An unqualified key belongs to the project the file declares (``project``): in a user's own project
    that is their name, not ``landing-pipeline``."""
    defaults: dict[str, Any] = {}
    for key, declaration in _config_block(project_file).items():
        qualified = key if ":" in key else f"{project}:{key}"
        if isinstance(declaration, dict) and ("type" in declaration or "default" in declaration):
            if "default" in declaration:
                defaults[qualified] = declaration["default"]
        elif isinstance(declaration, dict) and "value" in declaration:
            defaults[qualified] = declaration["value"]
        else:
            defaults[qualified] = declaration
    return defaults


def stack_values(stack_file: Path, project: str = PROJECT) -> dict[str, Any]:
    """The ``config:`` of a ``Pulumi.<stack>.yaml``, qualified keys kept as written (unqualified: ``project``'s)."""
    values = {}
    for key, value in _stack_block(stack_file).items():
        qualified = key if ":" in key else f"{project}:{key}"
        if _is_secure(value) and not qualified.startswith(f"{PROJECT}:"):
            continue  # another provider's secret needs the CLI; one of ours is a problem spec_from_config names
        values[qualified] = value
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
                             f"'pulumi stack init {stack}' or copy Pulumi.dev.yaml", stack_file)
    return load_stack_file(stack_file, folder)


def load_stack_file(stack_file: Path, project_dir: Path | None = None) -> PipelineSpec:
    """The spec of a stack file in the ``Pulumi.<stack>.yaml`` format, wherever it lives."""
    if not stack_file.is_file():
        raise StackFileError(f"no stack file {stack_file}", stack_file)
    folder = project_dir or find_project_dir(stack_file.parent)
    return spec_from_config(stack_settings(stack_file, folder))


def stack_settings(stack_file: Path, project_dir: Path, project: str | None = None) -> dict[str, Any]:
    """``Pulumi.yaml``'s declared defaults overlaid with the stack file's values, qualified keys, as the
    CLI merges them. Unqualified keys belong to ``project`` (default: the name ``Pulumi.yaml`` declares,
    so ``team: data`` in a reusing project is not taken for a pipeline setting)."""
    project_file = project_dir / "Pulumi.yaml"
    project = project or declared_project(project_file) or PROJECT
    merged = project_defaults(project_file, project)
    merged.update(stack_values(stack_file, project))
    return merged


def declared_project(project_file: Path) -> str | None:
    """The ``name:`` of a ``Pulumi.yaml``, or None when it declares none; an unreadable file is a
    ``StackFileError`` naming it."""
    name = _document(project_file).get("name")
    return name if isinstance(name, str) and name else None


def pulumi_yaml_config() -> dict[str, Any]:
    """The ``config:`` block ``Pulumi.yaml`` must declare: every setting with type, description, default."""
    from landing_pipeline.runtime.spec import settings

    block: dict[str, Any] = {}
    for setting in settings():
        if setting.kind == "objects":   # Pulumi declares string, integer, boolean and arrays of them only
            continue                    # (project.json's simpleConfigType): a list of mappings goes undeclared
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
