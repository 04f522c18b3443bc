"""The component provider's schema, built by Pulumi's own analyzer (no CLI), as other languages see it."""

from __future__ import annotations

import json
import re
import runpy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider

from landing_pipeline.components.args import field_docstring, render_fields, spec_from_args
from landing_pipeline.components.pipeline import OUTPUT_NAMES, TYPE_TOKEN, IngestionPipeline
from landing_pipeline.runtime.spec import PipelineSpec, settings

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = runpy.run_path(str(ROOT / "provider" / "__main__.py"), run_name="provider_under_test")
RESERVED = {"id", "urn", "provider", "type", "lambda", "class", "def", "import", "from"}


@pytest.fixture(scope="module")
def provider() -> ComponentProvider:
    return ComponentProvider([IngestionPipeline], PROVIDER["PACKAGE_NAME"], version=PROVIDER["PACKAGE_VERSION"])


@pytest.fixture(scope="module")
def resource(provider: ComponentProvider) -> dict[str, Any]:
    assert provider.schema is not None
    schema = json.loads(provider.schema)
    assert schema["name"] == "landing" and list(schema["resources"]) == [TYPE_TOKEN]
    return dict(schema["resources"][TYPE_TOKEN])


def test_type_token_follows_pulumis_rules() -> None:
    assert re.fullmatch(r"[a-z][a-z0-9-]*:index:[A-Z][A-Za-z0-9]*", TYPE_TOKEN)
    package, _, name = TYPE_TOKEN.split(":")
    ComponentProvider.validate_resource_type(package, TYPE_TOKEN)  # raises on a bad token
    assert package.lower() not in name.lower()  # no stutter (landing:index:LandingPipeline)
    assert package == PROVIDER["PACKAGE_NAME"]


def test_every_input_has_a_type_and_a_description(resource: dict[str, Any]) -> None:
    assert resource["isComponent"] is True and resource["description"]
    inputs = resource["inputProperties"]
    assert inputs
    for name, prop in inputs.items():
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", name) and name not in RESERVED, name
        assert prop.get("type") or prop.get("$ref"), f"{name} has no type"
        assert prop.get("description", "").strip(), f"{name} has no description"
        if prop.get("type") == "array":   # lists of strings, and feeds: a list of FeedArgs mappings
            assert prop["items"].get("type") == "string" or name == "feeds", name
            if name == "feeds":
                assert prop["items"]["$ref"] == "#/types/landing:index:FeedArgs"
    assert resource.get("requiredInputs") == []  # every setting has a documented default


def test_inputs_are_the_spec_settings_with_their_types_and_defaults(resource: dict[str, Any]) -> None:
    inputs = resource["inputProperties"]
    expected = {s.config_key: s for s in settings()}
    assert set(inputs) == set(expected)  # same spelling as the stack config keys
    for key, setting in expected.items():
        assert inputs[key]["type"] == ("array" if setting.kind == "objects" else setting.kind), key
        assert inputs[key]["description"] == field_docstring(setting), key
        assert inputs[key].get("plain") is True, key  # they shape the resource graph: known at construction


def test_every_output_has_a_type_and_a_description(resource: dict[str, Any]) -> None:
    outputs = resource["properties"]
    camel = {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), n) for n in OUTPUT_NAMES}
    assert set(outputs) == camel == set(resource["required"])
    for name, prop in outputs.items():
        assert prop["type"] == "string" and prop["description"].strip(), name


def test_args_typeddict_is_in_step_with_the_spec() -> None:
    source = (ROOT / "components" / "args.py").read_text(encoding="utf-8")
    assert render_fields() in source, "regenerate the field block with: python -m components.args"


def test_inputs_from_another_language_map_back_to_the_same_spec(provider: ComponentProvider) -> None:
    definition = provider._component_defs["IngestionPipeline"]
    camel_inputs = {"maxParallelGroups": 8, "keySuffixes": [".csv"], "onFailure": "block", "enableAlarms": False}
    mapped = provider.map_inputs(camel_inputs, definition)
    assert mapped == {"max_parallel_groups": 8, "key_suffixes": [".csv"], "on_failure": "block",
                      "enable_alarms": False}
    assert spec_from_args(mapped) == PipelineSpec(max_parallel_groups=8, key_suffixes=(".csv",),
                                                  on_failure="block", enable_alarms=False)


def test_plugin_manifest_and_version() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text(encoding="utf-8"))
    assert manifest["runtime"] == "python"
    assert (ROOT / manifest["main"]).is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert PROVIDER["PACKAGE_VERSION"] == project["version"]
    import landing_pipeline

    assert landing_pipeline.__version__ == project["version"]


def test_components_doc_lists_every_input_with_its_default_and_every_output() -> None:
    doc = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in doc.splitlines()
            if line.startswith("| `") and line.count("|") >= 4}
    for setting in settings():
        assert setting.config_key in rows, f"docs/components.md: no row for {setting.config_key}"
        default = setting.default
        shown = json.dumps(default) if isinstance(default, list | bool) or default == "" else str(default)
        assert f"`{shown}`" in rows[setting.config_key], f"{setting.config_key}: default {shown} not in its row"
    for name in OUTPUT_NAMES:
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
        assert f"`{camel}`" in doc, camel
