"""IAM: every role lists exactly the actions it needs on exactly the ARNs it needs."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from landing_pipeline.components.program_runner import ProgramRun
from landing_pipeline.runtime.spec import PipelineSpec
from tests.components.conftest import as_list, plan, statements

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def grants(run: ProgramRun, policy_name: str) -> dict[str, set[str]]:
    """Action -> resources it is allowed on, for one inline role policy."""
    allowed: dict[str, set[str]] = defaultdict(set)
    for st in statements(run.find(ROLE_POLICY, policy_name)):
        assert st["Effect"] == "Allow"
        for action in as_list(st["Action"]):
            allowed[action].update(as_list(st["Resource"]))
    return dict(allowed)


def arn(run: ProgramRun, type_token: str, name: str) -> str:
    return str(run.find(type_token, name).outputs["arn"])


def test_no_wildcard_resource_or_action_except_where_aws_offers_nothing_narrower(run: ProgramRun) -> None:
    for policy in run.of_type(ROLE_POLICY):
        for st in statements(policy):
            for action in as_list(st["Action"]):
                assert "*" not in action, f"{policy.name}: wildcard action {action}"
            for resource in as_list(st["Resource"]):
                if resource == "*":
                    # cloudwatch:PutMetricData has no resource-level permissions; it is scoped by namespace
                    assert as_list(st["Action"]) == ["cloudwatch:PutMetricData"], policy.name
                    assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
                    continue
                assert resource.startswith("arn:aws:"), resource
                # the only wildcards: objects under a prefix, and the streams of one log group
                if "*" in resource:
                    assert (resource.startswith("arn:aws:s3:::") and resource.endswith("/*")
                            and resource.count("*") == 1) or re.fullmatch(r"arn:aws:logs:[^*]+:log-group:[^*]+:\*",
                                                                          resource), resource


def test_router_role_exactly(run: ProgramRun) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    assert grants(run, "ingest-functions-router-role-policy") == {
        "sqs:ReceiveMessage": {run.exports["intake_queue_arn"]},
        "sqs:DeleteMessage": {run.exports["intake_queue_arn"]},
        "sqs:GetQueueAttributes": {run.exports["intake_queue_arn"]},
        "sqs:SendMessage": {run.exports["ordered_queue_arn"], arn(run, "aws:sqs/queue:Queue", "ingest-intake-dlq")},
        "dynamodb:GetItem": {table}, "dynamodb:PutItem": {table}, "dynamodb:UpdateItem": {table},
        "logs:CreateLogStream": {arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-router-logs") + ":*"},
        "logs:PutLogEvents": {arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-router-logs") + ":*"},
    }


def test_dispatcher_role_exactly(run: ProgramRun, spec: PipelineSpec) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    ordered, dlq = run.exports["ordered_queue_arn"], arn(run, "aws:sqs/queue:Queue", "ingest-ordered-dlq")
    job = arn(run, "aws:glue/job:Job", "ingest-processing-job")
    logs = arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-dispatcher-logs") + ":*"
    landing = run.exports["landing_bucket_name"]
    assert grants(run, "ingest-functions-dispatcher-role-policy") == {
        "sqs:ReceiveMessage": {ordered}, "sqs:DeleteMessage": {ordered}, "sqs:GetQueueAttributes": {ordered},
        "sqs:ChangeMessageVisibility": {ordered}, "sqs:SendMessage": {ordered, dlq},
        "glue:StartJobRun": {job}, "glue:GetJobRun": {job}, "glue:GetJobRuns": {job},
        "dynamodb:GetItem": {table}, "dynamodb:PutItem": {table}, "dynamodb:UpdateItem": {table},
        "dynamodb:Query": {f"{table}/index/by_group", f"{table}/index/by_waiting"},
        "s3:GetObject": {f"arn:aws:s3:::{landing}/{spec.key_prefix}*"},
        "s3:GetObjectVersion": {f"arn:aws:s3:::{landing}/{spec.key_prefix}*"},
        "s3:ListBucket": {f"arn:aws:s3:::{landing}"},
        "logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
    }


def test_completion_role_exactly(run: ProgramRun) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    ordered, dlq = run.exports["ordered_queue_arn"], arn(run, "aws:sqs/queue:Queue", "ingest-ordered-dlq")
    completion = run.exports["completion_queue_arn"]
    logs = arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-completion-logs") + ":*"
    assert grants(run, "ingest-functions-completion-role-policy") == {
        "sqs:ReceiveMessage": {completion}, "sqs:GetQueueAttributes": {completion},
        "sqs:DeleteMessage": {completion, ordered}, "sqs:ChangeMessageVisibility": {ordered},
        "sqs:SendMessage": {dlq}, "glue:GetJobRun": {arn(run, "aws:glue/job:Job", "ingest-processing-job")},
        "dynamodb:GetItem": {table}, "dynamodb:PutItem": {table}, "dynamodb:UpdateItem": {table},
        "dynamodb:Query": {f"{table}/index/by_waiting"},  # wake the file waiting longest for a Glue slot
        "logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
    }


def test_job_role_reads_only_the_landing_prefix_and_writes_only_the_output_prefixes(run: ProgramRun,
                                                                                 spec: PipelineSpec) -> None:
    landing, output = run.exports["landing_bucket_name"], run.exports["output_bucket_name"]
    prefixes = [spec.output_prefix, spec.quarantine_prefix, "manifests/", "snapshots/"]
    writable = {f"arn:aws:s3:::{output}/{p}*" for p in prefixes}
    logs = {arn(run, "aws:cloudwatch/logGroup:LogGroup", f"ingest-processing-{k}-logs") + ":*"
            for k in ("error", "output")}
    assert grants(run, "ingest-processing-role-policy") == {
        "s3:GetObject": {f"arn:aws:s3:::{landing}/{spec.key_prefix}*", f"arn:aws:s3:::{output}/scripts/ingest_job.py",
                         f"arn:aws:s3:::{output}/scripts/landing_runtime.zip", *writable},
        "s3:GetObjectVersion": {f"arn:aws:s3:::{landing}/{spec.key_prefix}*"},
        "s3:ListBucket": {f"arn:aws:s3:::{landing}", f"arn:aws:s3:::{output}"},
        "s3:PutObject": writable, "s3:DeleteObject": writable, "s3:AbortMultipartUpload": writable,
        "logs:CreateLogStream": logs, "logs:PutLogEvents": logs,
        "cloudwatch:PutMetricData": {"*"},
    }
    listing = {tuple(as_list(s["Resource"])): s["Condition"]["StringLike"]["s3:prefix"]
               for s in statements(run.find(ROLE_POLICY, "ingest-processing-role-policy"))
               if s["Action"] == ["s3:ListBucket"]}
    assert listing == {(f"arn:aws:s3:::{landing}",): [f"{spec.key_prefix}*"],
                       (f"arn:aws:s3:::{output}",): [f"{p}*" for p in prefixes]}


def test_each_role_is_assumable_only_by_its_service(run: ProgramRun) -> None:
    services = {}
    for role in run.of_type("aws:iam/role:Role"):
        (st,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert st["Action"] == "sts:AssumeRole" and st["Effect"] == "Allow"
        services[role.name] = st["Principal"]["Service"]
    assert services == {"ingest-processing-role": "glue.amazonaws.com",
                        "ingest-functions-router-role": "lambda.amazonaws.com",
                        "ingest-functions-dispatcher-role": "lambda.amazonaws.com",
                        "ingest-functions-completion-role": "lambda.amazonaws.com"}
    assert len({r.outputs["arn"] for r in run.of_type("aws:iam/role:Role")}) == 4  # no shared role


# boto3 operation -> IAM action, for the clients the runtime uses
_CALL = re.compile(r"\.(sqs|glue|s3|client)\.(\w+)\(")
_PAGINATED = re.compile(r'_paginate\("(\w+)"')  # Ledger._paginate("query", ...) on its DynamoDB client
_SERVICE_OF_CLIENT = {"client": "dynamodb"}  # the ledger calls self.client.<op> on its DynamoDB client
_ACTION_NAMES = {"head_object": "GetObject"}


def _iam_action(service: str, operation: str) -> str:
    name = _ACTION_NAMES.get(operation) or "".join(part.title() for part in operation.split("_"))
    return f"{service}:{name}"


def test_every_aws_call_the_lambda_runtime_makes_is_granted_to_some_function() -> None:
    run = plan("dev")
    granted = set()
    for function in ("router", "dispatcher", "completion"):
        granted |= set(grants(run, f"ingest-functions-{function}-role-policy"))
    called = set()
    for path in RUNTIME.glob("*.py"):  # runtime/jobs/ runs on Glue, with the job role
        source = path.read_text(encoding="utf-8")
        calls = _CALL.findall(source) + [("client", op) for op in _PAGINATED.findall(source)]
        for client, operation in calls:
            if operation in ("scan",):  # Ledger.all_files: the operator CLI, with the operator's credentials
                continue
            called.add(_iam_action(_SERVICE_OF_CLIENT.get(client, client), operation))
    assert {"sqs:SendMessage", "glue:StartJobRun", "dynamodb:Query"} <= called, "the scan no longer matches the runtime"
    assert called <= granted, f"called but not granted: {sorted(called - granted)}"
