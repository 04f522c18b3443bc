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
    stack_file_warnings,
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
    from landing_pipeline.runtime.spec import settings

    # a list of mappings (feeds) has no Pulumi project config type: it is the one setting left undeclared
    declared = set(pulumi_yaml_config()) | {s.config_key for s in settings() if s.kind == "objects"}
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(stack_file.read_text())["config"]
        ours = {key.split(":", 1)[1] for key in config if key.startswith("landing-pipeline:")}
        assert ours <= declared, (stack_file.name, ours - declared)


def test_a_misspelt_namespace_is_a_problem_not_a_silent_default(tmp_path: Path) -> None:
    """prod would otherwise run with onFailure=continue while its file says block."""
    stack_file = write_project(tmp_path, {"landing-pipline:onFailure": "block", "aws:region": "eu-west-1"})
    with pytest.raises(SpecError) as caught:
        load_stack_file(stack_file)
    (problem,) = caught.value.problems
    assert problem.setting == "landing-pipline:onFailure"
    assert "did you mean landing-pipeline:onFailure?" in str(caught.value)
    assert "landing-pipline:onFailure = 'block'" in str(caught.value)


def test_a_secure_value_of_ours_names_the_key(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {"landing-pipeline:alarmEmail": {"secure": "v1:abc"},
                                          "aws:secretKey": {"secure": "v1:def"}})  # another provider's: fine
    with pytest.raises(SpecError) as caught:
        load_stack_file(stack_file)
    (problem,) = caught.value.problems
    assert problem.setting == "alarmEmail" and "no setting of this pipeline is secret" in problem.message
    assert "pulumi config set landing-pipeline:alarmEmail VALUE (without --secret)" in problem.fix


def test_a_string_where_a_list_is_wanted_gets_the_list_as_fix(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {"landing-pipeline:keySuffixes": ".csv"})
    with pytest.raises(SpecError) as caught:
        load_stack_file(stack_file)
    (problem,) = caught.value.problems
    assert problem.setting == "keySuffixes"
    assert problem.fix.endswith('landing-pipeline:keySuffixes: [".csv"]')
    fixed = write_project(tmp_path, yaml.safe_load(problem.fix.removeprefix("write a YAML list: ")))  # pasted
    assert load_stack_file(fixed).key_suffixes == (".csv",)


def test_settings_outside_the_config_block_are_refused(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {})
    stack_file.write_text("landing-pipeline:maxParallelGroups: 8\n")
    with pytest.raises(StackFileError, match="landing-pipeline:maxParallelGroups is outside the 'config:' block"):
        load_stack_file(stack_file)


def test_a_stack_file_that_sets_nothing_loads_with_a_warning(tmp_path: Path) -> None:
    """Deploying every default is legal (pulumi accepts it), so it is a warning, not an error."""
    stack_file = write_project(tmp_path, {})
    stack_file.write_text("# nothing yet\n")
    assert load_stack_file(stack_file) == PipelineSpec()
    (warning,) = stack_file_warnings(stack_file)
    assert "sets nothing under 'config:'" in warning
    assert stack_file_warnings(write_project(tmp_path, {"landing-pipeline:maxAttempts": 3})) == []


def test_the_component_rules_are_part_of_the_one_validation(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path, {"landing-pipeline:existingBucketName": "my-bucket",
                                          "landing-pipeline:landedObjectExpirationDays": 30})
    with pytest.raises(SpecError, match="landedObjectExpirationDays = 30: a lifecycle configuration replaces"):
        load_stack_file(stack_file)
