"""Reuse as a component: a user's own Pulumi project builds ``IngestionPipeline`` through the public API.

The user's project has its own name, its own top-level ``components`` and ``runtime`` packages (names
this repository uses for its folders) and its own ``__main__.py``; it must plan under the mocks with its
own project name in every URN and name, reach the pipeline's parts as attributes to attach its own
resources, and (``emulator/deploy.py``) have the emulator deploy the args it passes rather than the
stack file's settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import ProgramRun, run_program

USER_PROJECT = "acme-ingest"
USER_PACKAGES: tuple[str, ...] = ("components", "runtime")
"""Top-level names the user's project takes; a run in this process must not leave them behind."""
REPO = Path(__file__).resolve().parents[2]

USER_MAIN = '''
"""A user's program: their own packages beside the pipeline, the pipeline built from args."""
import pulumi
import pulumi_aws as aws

import runtime
from components.naming import team_tags
from landing_pipeline import IngestionPipeline, PipelineSpec, SpecError, load_stack

assert runtime.OWNER == "acme", "the user's own runtime package, not landing_pipeline.runtime"
assert issubclass(SpecError, Exception) and PipelineSpec().key_prefix == ""
assert callable(load_stack)
team = pulumi.Config().require("team")  # the user's own setting, unqualified in their stack file

pipeline = IngestionPipeline("orders", {"key_prefix": "incoming/", "key_suffixes": [".csv"],
                                        "tags": team_tags(team), "job_timeout_minutes": 5, "hold_margin_s": 60})
EXTRA
for name, value in pipeline.outputs().items():
    pulumi.export(name, value)
'''

ATTACH = '''
dlq_alarm = aws.cloudwatch.MetricAlarm(
    "orders-dlq-not-empty", namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
    dimensions={"QueueName": pipeline.ordered_dlq.name}, statistic="Maximum", period=60, evaluation_periods=1,
    threshold=0, comparison_operator="GreaterThanThreshold")
glue_extra = aws.iam.RolePolicy(
    "orders-glue-reads-reference-data", role=pipeline.glue_job_role.id,
    policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reference/*"}]}))
pulumi.export("attached", {
    "ordered_dlq": pipeline.ordered_dlq.urn, "glue_job_role": pipeline.glue_job_role.urn,
    "dispatcher_function": pipeline.dispatcher.function.urn, "ledger_table": pipeline.ledger_table.urn,
    "landing_bucket": pipeline.landing_bucket.urn, "completion_queue": pipeline.completion_queue.urn,
    "glue_job": pipeline.glue_job.urn, "router_role": pipeline.router.role.urn,
    "completion_log_group": pipeline.completion.log_group.urn, "intake_dlq": pipeline.intake_dlq.urn,
    "dashboard": pipeline.dashboard.urn, "glue_failures_alarm": pipeline.alarms["glue-failures"].urn,
})
'''


def user_project(folder: Path, *, extra: str = "", stack_prefix: str = "landing/") -> Path:
    """A throwaway Pulumi project of a user: its own name, packages, program and stack file."""
    (folder / "components").mkdir(parents=True)
    (folder / "runtime").mkdir()
    (folder / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {USER_PROJECT}
        description: A user's project reusing landing-pipeline as a component
        runtime:
          name: python
        config:
          team:
            type: string
            default: nobody
        """), encoding="utf-8")
    # the stack file disagrees with the program's args on purpose: the program wins (it does not read it)
    (folder / "Pulumi.dev.yaml").write_text(textwrap.dedent(f"""\
        config:
          aws:region: eu-central-1
          team: data-platform
          landing-pipeline:keyPrefix: {stack_prefix}
        """), encoding="utf-8")
    (folder / "components" / "__init__.py").write_text('"""The user\'s own components."""\n', encoding="utf-8")
    (folder / "components" / "naming.py").write_text(
        "def team_tags(team: str) -> list[str]:\n    return [f'team={team}', 'cost-centre=42']\n", encoding="utf-8")
    (folder / "runtime" / "__init__.py").write_text('OWNER = "acme"\n', encoding="utf-8")
    (folder / "__main__.py").write_text(USER_MAIN.replace("EXTRA", extra), encoding="utf-8")
    return folder


RUNNER = '''
import json, sys
from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import run_program

run = run_program(AwsMocks(), "dev")  # no project_dir: the current folder, as `landing plan` there
print(json.dumps({"project": run.project, "config": run.config, "exports": run.exports,
                  "resources": [[r.type, r.name, r.urn, r.inputs] for r in run.resources],
                  "pipelines": {name: spec.key_prefix for name, spec in run.pipelines.items()}}))
'''


def test_a_user_project_builds_the_pipeline_under_mocks_with_its_own_name(tmp_path: Path) -> None:
    project = user_project(tmp_path / "acme")
    done = subprocess.run([sys.executable, "-c", RUNNER], cwd=project, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["project"] == USER_PROJECT
    assert run["config"]["acme-ingest:team"] == "data-platform"  # unqualified keys are the user's project's
    assert run["pipelines"] == {"orders": "incoming/"}
    types = {kind for kind, *_ in run["resources"]}
    assert {"landing:index:IngestionPipeline", "aws:lambda/function:Function", "aws:glue/job:Job",
            "aws:sqs/queue:Queue", "aws:dynamodb/table:Table"} <= types
    assert all(urn.startswith(f"urn:pulumi:dev::{USER_PROJECT}::") for _, _, urn, _ in run["resources"])
    # names Pulumi derives from the project carry the user's, not landing-pipeline's
    assert run["exports"]["dashboard_name"] == f"{USER_PROJECT}-dev-orders"
    log_groups = [inputs.get("name", "") for kind, _, _, inputs in run["resources"]
                  if kind == "aws:cloudwatch/logGroup:LogGroup"]
    assert f"/aws-glue/jobs/{USER_PROJECT}-dev-orders/error" in log_groups
    assert not any("landing-pipeline" in urn for _, _, urn, _ in run["resources"])
    tags = next(inputs["tags"] for kind, _, _, inputs in run["resources"] if kind == "aws:glue/job:Job")
    assert tags["team"] == "data-platform" and tags["cost-centre"] == "42"


def test_the_public_api_is_lazy_and_complete() -> None:
    check = ("import sys, landing_pipeline as lp; assert 'pulumi' not in sys.modules, 'eager pulumi import'; "
             "names = {'IngestionPipeline', 'PipelineSpec', 'load_stack', 'SpecError'}; "
             "assert names <= set(lp.__all__), lp.__all__; "
             "from landing_pipeline import PipelineSpec, SpecError, load_stack; assert 'pulumi' not in sys.modules; "
             "from landing_pipeline import IngestionPipeline; print(IngestionPipeline.__module__)")
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "landing_pipeline.components.pipeline"


@pytest.fixture(scope="module")
def attached(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    project = user_project(tmp_path_factory.mktemp("attach") / "acme", extra=ATTACH)
    saved_path, saved = list(sys.path), {k: sys.modules.pop(k) for k in USER_PACKAGES if k in sys.modules}
    try:
        return run_program(AwsMocks(), "dev", project_dir=project)
    finally:
        sys.path[:] = saved_path
        for name in ("components", "components.naming", "runtime"):
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def _ancestors(run: ProgramRun, urn: str) -> list[str]:
    by_urn = {r.urn: r for r in run.resources}
    chain, current = [], by_urn[urn].parent_urn
    while current:
        chain.append(by_urn[current].type)
        current = by_urn[current].parent_urn
    return chain


def test_the_pipelines_parts_are_attributes_users_attach_to(attached: ProgramRun) -> None:
    run = attached
    by_urn = {r.urn: r for r in run.resources}
    expected_type = {"ordered_dlq": "aws:sqs/queue:Queue", "glue_job_role": "aws:iam/role:Role",
                     "dispatcher_function": "aws:lambda/function:Function", "ledger_table": "aws:dynamodb/table:Table",
                     "landing_bucket": "aws:s3/bucket:Bucket", "completion_queue": "aws:sqs/queue:Queue",
                     "glue_job": "aws:glue/job:Job", "router_role": "aws:iam/role:Role",
                     "completion_log_group": "aws:cloudwatch/logGroup:LogGroup", "intake_dlq": "aws:sqs/queue:Queue",
                     "dashboard": "aws:cloudwatch/dashboard:Dashboard",
                     "glue_failures_alarm": "aws:cloudwatch/metricAlarm:MetricAlarm"}
    for attribute, urn in run.exports["attached"].items():
        assert urn in by_urn, f"pipeline.{attribute} is not a resource the program registered"
        assert by_urn[urn].type == expected_type[attribute], attribute
        assert "landing:index:IngestionPipeline" in _ancestors(run, urn), f"{attribute} is not the component's"
    ordered_dlq = by_urn[run.exports["attached"]["ordered_dlq"]]
    assert ordered_dlq.inputs["fifoQueue"] is True and ordered_dlq.parent_type == "landing:index:OrderedQueue"
    assert ordered_dlq.outputs["name"] in run.exports["ordered_dlq_url"]
    glue_role = by_urn[run.exports["attached"]["glue_job_role"]]
    assert run.find("aws:glue/job:Job").inputs["roleArn"] == glue_role.outputs["arn"]


def test_a_users_alarm_and_policy_land_on_the_real_resources(attached: ProgramRun) -> None:
    run = attached
    alarm = run.find("aws:cloudwatch/metricAlarm:MetricAlarm", "orders-dlq-not-empty")
    ordered_dlq = next(r for r in run.resources if r.urn == run.exports["attached"]["ordered_dlq"])
    assert alarm.inputs["dimensions"] == {"QueueName": ordered_dlq.outputs["name"]}
    assert alarm.parent is None  # the user's resource, beside the component
    extra = run.find("aws:iam/rolePolicy:RolePolicy", "orders-glue-reads-reference-data")
    glue_role = next(r for r in run.resources if r.urn == run.exports["attached"]["glue_job_role"])
    assert extra.inputs["role"] == glue_role.id
    own = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == glue_role.id]
    assert len(own) == 2  # the pipeline's own policy is still there, the user's is added beside it


def test_load_stack_in_a_user_project_leaves_their_own_settings_alone(tmp_path: Path) -> None:
    """``team: data-platform`` (unqualified) is the user's project's setting, not a misspelt pipeline one."""
    from landing_pipeline import load_stack

    project = user_project(tmp_path / "acme")
    assert load_stack("dev", project).key_prefix == "landing/"


DOCS = REPO / "docs" / "components.md"


def test_the_documented_main_runs_in_a_user_project(tmp_path: Path) -> None:
    """The complete ``__main__.py`` of docs/components.md, under the mocks, in a project of its own."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index('```python\n"""acme-ingest') + len("```python\n")
    program = text[start:text.index("```", start)]
    project = tmp_path / "acme"
    project.mkdir()
    (project / "__main__.py").write_text(program, encoding="utf-8")
    (project / "Pulumi.yaml").write_text(f"name: {USER_PROJECT}\nruntime: python\n", encoding="utf-8")
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-central-1\n  team: data\n  landing-pipeline:maxParallelGroups: 3\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", RUNNER], cwd=project, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout.strip().splitlines()[-1])
    assert run["pipelines"] == {"orders": "incoming/orders/", "customers": "incoming/customers/"}
    names = {name for _, name, _, _ in run["resources"]}
    assert {"orders-dead-files", "orders-glue-reads-reference-data"} <= names
    assert set(run["exports"]) == {"drop_orders_here", "customers_output"}
