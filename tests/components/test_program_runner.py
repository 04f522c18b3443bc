"""The program runner: the real ``__main__.py`` under mocks, repeatable, with AWS-shaped outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from landing_pipeline.components.mocks import AwsMocks, UnknownCall
from landing_pipeline.components.program_runner import run_program, stack_config


def test_runs_the_real_program_twice_in_one_process_with_identical_results() -> None:
    first = run_program(AwsMocks(), "dev")
    second = run_program(AwsMocks(), "dev")
    # Registration order follows input resolution (a valid dependency order), not declaration order.
    assert sorted((r.type, r.name) for r in first.resources) == sorted((r.type, r.name) for r in second.resources)
    assert {r.urn: r.inputs for r in first.resources} == {r.urn: r.inputs for r in second.resources}
    assert first.exports == second.exports
    assert first.exports["ordered_queue_url"].endswith(".fifo")
    assert first.exports["ordered_queue_url"].startswith("https://sqs.eu-west-1.amazonaws.com/123456789012/")


def test_records_parent_inputs_and_mock_state() -> None:
    run = run_program(AwsMocks(), "dev")
    table = run.find("aws:dynamodb/table:Table")
    assert table.parent == "ingest-ledger" and table.parent_type == "landing:index:Ledger"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.outputs["arn"].startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/")
    assert run.find("landing:index:IngestionPipeline").parent is None
    assert run.children_of(run.find("landing:index:Ledger").urn) == [table]


def test_stack_config_is_what_the_engine_passes_strings_and_json() -> None:
    config = stack_config("dev", overrides={"maxParallelGroups": 5})
    assert config["landing-pipeline:maxParallelGroups"] == "5"
    assert config["landing-pipeline:keySuffixes"] == '[".csv", ".json", ".jsonl", ".parquet"]'
    assert config["landing-pipeline:enableAlarms"] == "true"
    assert config["aws:region"] == "eu-west-1"


class _CountingMocks(AwsMocks):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[str] = []

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created.append(args.name)
        return super().create(args)


def test_caller_supplied_mocks_see_every_resource() -> None:
    mocks = _CountingMocks()
    run = run_program(mocks, "prod")
    assert sorted(mocks.created) == sorted(r.name for r in run.resources)


def test_unknown_provider_function_raises_instead_of_returning_nothing(tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text("import pulumi, pulumi_aws as aws\n"
                       "pulumi.export('zones', aws.get_availability_zones_output().names)\n")
    with pytest.raises(Exception, match="getAvailabilityZones"):
        run_program(AwsMocks(), "dev", program=program)
    assert issubclass(UnknownCall, LookupError)


def _config_in_fresh_context(in_process: dict[str, str]) -> dict[str, Any]:
    from landing_pipeline.components.config import program_config

    pulumi.runtime.set_all_config(in_process, [])
    return program_config()


def test_program_reads_the_whole_config_the_engine_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextvars
    import json

    # what the Python language host sets for `pulumi up`: the stack config as one JSON object
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"landing-pipeline:maxParallelGroups": "6",
                                                    "landing-pipeline:keySuffixes": '[".csv"]',
                                                    "aws:region": "eu-central-1"}))
    monkeypatch.setenv("PULUMI_CONFIG_LANDING_PIPELINE_KEYSUFFIXES", '[".parquet"]')  # per-key override
    seen = contextvars.Context().run(_config_in_fresh_context, {"landing-pipeline:maxAttempts": "5"})
    assert seen == {"landing-pipeline:maxParallelGroups": "6", "landing-pipeline:keySuffixes": '[".parquet"]',
                    "aws:region": "eu-central-1", "landing-pipeline:maxAttempts": "5"}
