"""Loading a stack the way `pulumi up` sees it, from the config mapping and from the files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import (
    StackFileError,
    load_stack,
    load_stack_file,
    project_defaults,
    pulumi_yaml_config,
    spec_from_config,
)

ROOT = Path(__file__).resolve().parents[2]


def test_config_mapping_as_pulumi_hands_it_over() -> None:
    spec = spec_from_config({
        "aws:region": "eu-west-1",  # other namespaces belong to their providers
        "landing-pipeline:maxParallelGroups": "8",
        "landing-pipeline:keySuffixes": '[".csv"]',
        "landing-pipeline:onFailure": "block",
        "landing-pipeline:ignoreEmptyObjects": "false",
    })
    assert (spec.max_parallel_groups, spec.key_suffixes, spec.on_failure) == (8, (".csv",), "block")
    assert spec.ignore_empty_objects is False


def test_unknown_key_suggests_the_setting_meant() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_config({"landing-pipeline:maxParalelGroups": "8"})
    message = str(caught.value)
    assert "landing-pipeline:maxParalelGroups" in message
    assert "did you mean landing-pipeline:maxParallelGroups?" in message


def test_snake_case_key_is_recognised_as_a_typo() -> None:
    with pytest.raises(SpecError, match="did you mean landing-pipeline:maxAttempts"):
        spec_from_config({"landing-pipeline:max_attempts": "3"})


def test_type_errors_and_rule_violations_are_reported_together() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_config({"landing-pipeline:maxAttempts": "three", "landing-pipeline:maxParallelGroups": "0",
                          "landing-pipeline:bogus": 1})
    settings = sorted(p.setting for p in caught.value.problems)
    assert settings == ["bogus", "maxAttempts", "maxParallelGroups"]


def test_shipped_stacks_load() -> None:
    dev, prod = load_stack("dev", ROOT), load_stack("prod", ROOT)
    assert dev.max_parallel_groups == 2 and dev.merge_keys == ("order_id",)
    assert prod.max_parallel_groups == 16 and prod.on_failure == "block"
    assert prod.alarm_topic_arn.startswith("arn:aws:sns:")


def test_missing_stack_names_the_stacks_that_exist() -> None:
    with pytest.raises(StackFileError, match="stacks here: dev, prod"):
        load_stack("staging", ROOT)


def write_project(folder: Path, stack_config: dict[str, object]) -> Path:
    (folder / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack_file = folder / "Pulumi.test.yaml"
    stack_file.write_text(yaml.safe_dump({"config": stack_config}))
    return stack_file


def test_stack_file_overlays_project_defaults(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {"landing-pipeline:maxAttempts": 7, "aws:region": "us-east-1"})
    spec = load_stack_file(stack_file)
    assert spec.max_attempts == 7
    assert spec.max_parallel_groups == PipelineSpec().max_parallel_groups


def test_project_defaults_are_used_when_the_stack_is_silent(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {})
    project = yaml.safe_load((tmp_path / "Pulumi.yaml").read_text())
    project["config"]["maxAttempts"]["default"] = 5
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    assert load_stack_file(stack_file).max_attempts == 5


def test_invalid_yaml_is_a_clear_error(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {})
    stack_file.write_text("config: [unclosed")
    with pytest.raises(StackFileError, match="not valid YAML"):
        load_stack_file(stack_file)


def test_invalid_stack_values_fail_with_the_spec_messages(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {"landing-pipeline:maxParallelGroups": 0})
    with pytest.raises(SpecError, match="maxParallelGroups = 0"):
        load_stack_file(stack_file)


def test_pulumi_yaml_declares_exactly_the_spec() -> None:
    """Pulumi.yaml's schema and the spec's fields cannot drift apart (regenerate: python -m runtime.spec_loader)."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert declared == pulumi_yaml_config()
    assert project_defaults(ROOT / "Pulumi.yaml") == {
        f"landing-pipeline:{key}": decl["default"] for key, decl in pulumi_yaml_config().items()}
    assert spec_from_config(project_defaults(ROOT / "Pulumi.yaml")) == PipelineSpec()


def test_stack_files_use_only_declared_keys() -> None:
    declared = set(pulumi_yaml_config())
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(stack_file.read_text())["config"]
        ours = {key.split(":", 1)[1] for key in config if key.startswith("landing-pipeline:")}
        assert ours <= declared, (stack_file.name, ours - declared)
