"""The shared contract (runtime/contract.py) is the only place its names are written, and the stack uses them.

A name restated as a literal in a second package drifts the day one copy is renamed: the functions would be
deployed with a variable the handlers no longer read, or a rule would match a detail-type nobody emits. The
scan fails naming the file and line of any restatement; the stack tests check the deployed resources carry
exactly the contract's names.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import ProgramRun, run_program
from landing_pipeline.runtime import contract as c
from landing_pipeline.runtime.job_args import JobInput, job_arguments
from landing_pipeline.runtime.jobs.arguments import OPTIONAL, REQUIRED
from landing_pipeline.runtime.spec import to_env
from landing_pipeline.runtime.spec_loader import load_stack

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("runtime", "components", "simulator", "emulator", "cli", "bench", "provider", "landing_pipeline")
CONTRACT = ROOT / "runtime" / "contract.py"

NAMES: frozenset[str] = frozenset({
    *c.RESOURCE_ENV.values(), c.GROUP_INDEX, c.WAIT_INDEX, c.S3_SOURCE, c.OBJECT_CREATED, c.GLUE_SOURCE,
    c.GLUE_STATE_CHANGE, c.ROUTER_HANDLER, c.DISPATCHER_HANDLER, c.COMPLETION_HANDLER, c.RECONCILER_HANDLER,
    c.DEAD_FILES_METRIC, c.PIPELINE_DIMENSION, *c.JOB_ARGUMENTS,
    c.GLUE_JOB_NAME_ARG, c.GLUE_RUN_ID_ARG, c.EXTRA_PY_FILES_ARG,
})
"""The contract's distinctive strings: none of them has a second meaning a package could use it for."""
SPEC_ENV = re.compile(re.escape(c.ENV_PREFIX) + r"[A-Z0-9_]+")
"""Any ``LANDING_*`` variable name: the spec's are derived from the prefix, the resources' are in the contract."""


def restatements(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string constant in ``source`` that spells a contract name.

    Exact matches only, so prose that mentions a name (a docstring, an error message) is not a restatement."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                node.value in NAMES or SPEC_ENV.fullmatch(node.value)):
            found.append((node.lineno, node.value))
    return sorted(found)


def test_the_scan_catches_a_restated_name_and_passes_prose() -> None:
    source = ('"""Reads LANDING_LEDGER_TABLE and matches "Object Created"."""\n'
              'TABLE = "LANDING_LEDGER_TABLE"\nRULE = {"detail-type": ["Glue Job State Change"]}\n'
              'ARGS = {"--file_id": "f"}\nMESSAGE = f"--schema: column {1} is bad"\n')
    assert restatements(source) == [(2, "LANDING_LEDGER_TABLE"), (3, "Glue Job State Change"), (4, "--file_id")]


def test_no_package_restates_a_contract_name() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == CONTRACT or "__pycache__" in path.parts:
                continue
            for line, literal in restatements(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {literal!r}")
    assert not offenders, ("contract names restated as literals; import them from "
                           "landing_pipeline.runtime.contract instead:\n" + "\n".join(offenders))


def test_the_contract_is_dependency_free() -> None:
    """It ships in the Lambda archive and the Glue library: it may import nothing but ``__future__``."""
    tree = ast.parse(CONTRACT.read_text(encoding="utf-8"))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert all(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in imports)


def test_the_job_reads_every_argument_the_dispatcher_passes() -> None:
    spec = load_stack("dev")
    passed = job_arguments(spec, JobInput("b", "landing/orders_1.csv", "v1", "orders", "f1"), attempt=1,
                           output_bucket="out")
    assert tuple(passed) == c.FILE_ARGUMENTS   # the dispatcher adds the lease's (runtime/acting.start_run)
    read = {f"--{name}" for name in (*REQUIRED, *OPTIONAL)}
    assert read == {*c.JOB_ARGUMENTS, c.GLUE_JOB_NAME_ARG, c.GLUE_RUN_ID_ARG}


def test_dispatcher_concurrency_is_max_of_two_and_max_parallel_groups() -> None:
    assert [c.dispatcher_concurrency(n) for n in (1, 2, 3, 10)] == [2, 2, 3, 10]


# --- the stack, under Pulumi mocks ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(AwsMocks(), str(request.param))


def test_functions_get_exactly_the_contracts_variables_and_handlers(run: ProgramRun) -> None:
    spec = load_stack(run.stack)
    functions = run.of_type("aws:lambda/function:Function")
    assert {f.inputs["handler"] for f in functions} == {c.ROUTER_HANDLER, c.DISPATCHER_HANDLER, c.COMPLETION_HANDLER,
                                                        c.RECONCILER_HANDLER}
    for function in functions:
        names = set(function.inputs["environment"]["variables"])
        landing = {name for name in names if name.startswith(c.ENV_PREFIX)}
        catalog = {c.CATALOG_DATABASE_ENV} if spec.feeds else set()   # only a stack with feeds has tables
        assert landing == {*to_env(spec), *c.RESOURCE_ENV.values(), *catalog}, function.name


def test_dispatcher_mapping_uses_the_contracts_concurrency_rule(run: ProgramRun) -> None:
    spec = load_stack(run.stack)
    concurrency = {m.inputs.get("scalingConfig", {}).get("maximumConcurrency")
                   for m in run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    assert c.dispatcher_concurrency(spec.max_parallel_groups) in concurrency


def test_ledger_table_has_the_contracts_key_and_indexes(run: ProgramRun) -> None:
    table = run.find("aws:dynamodb/table:Table").inputs
    layout: dict[str, Any] = c.LEDGER_TABLE_V2
    assert (table["hashKey"], table["rangeKey"]) == (layout["hash_key"], layout["range_key"])
    assert {a["name"]: a["type"] for a in table["attributes"]} == layout["attributes"]
    indexes = {index["name"]: index for index in table["globalSecondaryIndexes"]}
    assert set(indexes) == set(layout["indexes"])
    for name, declared in layout["indexes"].items():
        index = indexes[name]
        assert (index["hashKey"], index["rangeKey"], index["projectionType"]) == (
            declared["hash_key"], declared["range_key"], declared["projection_type"])
        assert index.get("nonKeyAttributes") == declared.get("non_key_attributes")


def test_glue_job_default_arguments_name_the_library_the_contracts_way(run: ProgramRun) -> None:
    arguments = run.find("aws:glue/job:Job").inputs["defaultArguments"]
    assert c.EXTRA_PY_FILES_ARG in arguments
    assert not set(arguments) & set(c.JOB_ARGUMENTS)  # per-run arguments are the dispatcher's, never defaults


def test_event_rules_match_the_contracts_sources_detail_types_and_states(run: ProgramRun) -> None:
    patterns = {rule.name: json.loads(rule.inputs["eventPattern"])
                for rule in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    intake = patterns["ingest-intake-rule"]
    assert (intake["source"], intake["detail-type"]) == ([c.S3_SOURCE], [c.OBJECT_CREATED])
    completion = patterns["ingest-completion-rule"]
    assert (completion["source"], completion["detail-type"]) == ([c.GLUE_SOURCE], [c.GLUE_STATE_CHANGE])
    assert completion["detail"]["state"] == list(c.GLUE_FINAL_STATES)
    failures = patterns.get("ingest-monitoring-glue-failures")
    if failures is not None:  # only when alarms or the dashboard are on
        assert (failures["source"], failures["detail-type"]) == ([c.GLUE_SOURCE], [c.GLUE_STATE_CHANGE])
        assert failures["detail"]["state"] == list(c.GLUE_ALARM_STATES)
