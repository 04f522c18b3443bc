"""Write recommended settings into a ``Pulumi.<stack>.yaml``, changing only those lines.

A stack file is edited by people: it has comments, an order and other
namespaces (``aws:region``). Re-dumping the YAML would lose all of that, so
the writer edits the lines of the settings it changes (keeping a trailing
comment), appends settings the file did not have to its ``config:`` block,
then reads the result back through the same loader ``pulumi up`` relies on
before replacing the file. Nothing is written if the check fails.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from landing_pipeline.runtime.contract import PROJECT
from landing_pipeline.runtime.errors import OperationalError, SpecError
from landing_pipeline.runtime.spec import SETTINGS_BY_NAME, PipelineSpec
from landing_pipeline.runtime.spec_loader import StackFileError, load_stack_file


class StackWriteError(OperationalError):
    """The stack file could not be updated; the file on disk is unchanged."""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    return text.removesuffix("...").strip()  # a lone scalar document ends with an explicit end marker


def updated_text(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with each ``{setting name: value}`` written in its ``config:`` block."""
    lines = text.splitlines(keepends=True)
    config_at = next((i for i, line in enumerate(lines) if re.match(r"^config:\s*(#.*)?$", line.rstrip("\n"))), None)
    if config_at is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append("config:\n")
        config_at = len(lines) - 1
    end = config_at + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "\t", "#")):
        end += 1
    block_end = end
    while block_end > config_at + 1 and not lines[block_end - 1].strip():
        block_end -= 1  # keep blank lines after the block where they were
    indent = "  "
    for line in lines[config_at + 1:block_end]:
        entry = re.match(r"^(\s+)[^\s#]", line)
        if entry:
            indent = entry.group(1)
            break
    additions = []
    for name, value in values.items():
        key = SETTINGS_BY_NAME[name].config_key
        pattern = re.compile(rf"^(\s+)((?:{re.escape(PROJECT)}:)?{re.escape(key)}):([ \t]*)(.*?)([ \t]+#.*)?$")
        for index in range(config_at + 1, block_end):
            match = pattern.match(lines[index].rstrip("\n"))
            if match:
                if not match.group(4):
                    raise StackWriteError(f"{key} is written over several lines in the stack file; set it to "
                                          f"{_scalar(value)} by hand")
                newline = "\n" if lines[index].endswith("\n") else ""
                lines[index] = (f"{match.group(1)}{match.group(2)}: {_scalar(value)}{match.group(5) or ''}"
                                f"{newline}")
                break
        else:
            additions.append(f"{indent}{PROJECT}:{key}: {_scalar(value)}\n")
    if additions:
        if block_end > 0 and not lines[block_end - 1].endswith("\n"):
            lines[block_end - 1] += "\n"
        lines[block_end:block_end] = additions
    return "".join(lines)


def write_settings(stack_file: Path, values: Mapping[str, Any], project_dir: Path | None = None) -> PipelineSpec:
    """Update ``stack_file`` in place with ``values`` (setting names); returns the spec it now describes."""
    original = stack_file.read_text(encoding="utf-8")
    text = updated_text(original, values)
    folder = stack_file.parent
    handle, temp_name = tempfile.mkstemp(prefix=".landing-", suffix=".yaml", dir=folder)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            spec = load_stack_file(temp, project_dir)
        except (SpecError, StackFileError) as exc:
            raise StackWriteError(f"the updated stack file would not load, so {stack_file} was left as it was:\n"
                                  f"{exc}") from None
        wrong = {name: getattr(spec, name) for name, value in values.items() if getattr(spec, name) != value}
        if wrong:
            raise StackWriteError(f"after the edit {stack_file} would read {wrong} instead; it was left as it was")
        os.replace(temp, stack_file)
        return spec
    finally:
        if temp.exists():
            temp.unlink()
