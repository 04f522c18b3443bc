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
                    # cloudwatch:PutMetricData has no resource-level permissions; it is scoped by namespace:
                    # Glue's own metrics for the job, the pipeline's namespace for the reconciler's count
                    assert as_list(st["Action"]) == ["cloudwatch:PutMetricData"], policy.name
                    namespace = {"ingest-processing-role-policy": "Glue",
                                 "ingest-functions-reconciler-role-policy": "LandingPipeline"}[policy.name]
                    assert st["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}
                    continue
                assert resource.startswith("arn:aws:"), resource
                # the only wildcards: objects under a prefix, and the streams of one log group
                if "*" in resource:
                    assert (resource.startswith("arn:aws:s3:::") and resource.endswith("/*")
                            and resource.count("*") == 1) or re.fullmatch(r"arn:aws:logs:[^*]+:log-group:[^*]+:\*",
                                                                          resource), resource


DECIDE = ("ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem")
"""What loading a group strongly and committing a decision (a transaction) takes, on the table itself."""


def decide(table: str) -> dict[str, set[str]]:
    return {f"dynamodb:{action}": {table} for action in DECIDE}


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


def test_dispatcher_role_exactly(run: ProgramRun) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    ordered, dead = run.exports["ordered_queue_arn"], run.exports["dead_files_queue_arn"]
    ordered_dlq = arn(run, "aws:sqs/queue:Queue", "ingest-ordered-dlq")
    job = arn(run, "aws:glue/job:Job", "ingest-processing-job")
    logs = arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-dispatcher-logs") + ":*"
    assert grants(run, "ingest-functions-dispatcher-role-policy") == {
        "sqs:ReceiveMessage": {ordered}, "sqs:DeleteMessage": {ordered}, "sqs:GetQueueAttributes": {ordered},
        # wake-ups, announcements, and a malformed body parked in the ordered DLQ (runtime/dispatcher.py)
        "sqs:ChangeMessageVisibility": {ordered}, "sqs:SendMessage": {ordered, dead, ordered_dlq},
        "glue:StartJobRun": {job}, "glue:GetJobRun": {job}, "glue:GetJobRuns": {job},
        "s3:PutObject": {batch_lists(run)},   # a batch list too long for the run's arguments
        **decide(table),
        "logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
    }


def batch_lists(run: ProgramRun) -> str:
    return f"arn:aws:s3:::{run.exports['output_bucket_name']}/runs/*"


def catalog(run: ProgramRun, spec: PipelineSpec) -> dict[str, set[str]]:
    """Registering partitions: on the catalog, the pipeline's database and exactly the tables the program created;
    reading the snapshot pointers of merging feeds (and manifests, for a feed without a schema)."""
    if not spec.feeds:
        return {}
    (database,) = run.of_type("aws:glue/catalogDatabase:CatalogDatabase")
    db = database.outputs["name"]
    tables = [t.outputs["name"] for t in run.of_type("aws:glue/catalogTable:CatalogTable")]
    assert len(tables) == len(spec.feeds) + sum(1 for f in spec.feeds if f.merge_keys)
    where = "arn:aws:glue:eu-west-1:123456789012"   # both stacks deploy to eu-west-1 (aws:region)
    resources = {f"{where}:catalog", f"{where}:database/{db}", *(f"{where}:table/{db}/{t}" for t in tables)}
    actions = ["GetTable", "GetPartition", "CreatePartition", "UpdatePartition"]
    if any(not f.schema for f in spec.feeds):
        actions.append("UpdateTable")
    output = run.exports["output_bucket_name"]
    reads = {f"arn:aws:s3:::{output}/snapshots/{f.table or f.name}/*" for f in spec.feeds if f.merge_keys}
    if any(not f.schema for f in spec.feeds):
        reads.add(f"arn:aws:s3:::{output}/manifests/*")
    return {**{f"glue:{a}": resources for a in actions}, **({"s3:GetObject": reads} if reads else {})}


def merged(*grant_sets: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for grants_ in grant_sets:
        for action, resources in grants_.items():
            out[action] |= resources
    return dict(out)


def test_completion_role_exactly(run: ProgramRun, spec: PipelineSpec) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    ordered, dead = run.exports["ordered_queue_arn"], run.exports["dead_files_queue_arn"]
    completion = run.exports["completion_queue_arn"]
    logs = arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-completion-logs") + ":*"
    assert grants(run, "ingest-functions-completion-role-policy") == merged({
        "sqs:ReceiveMessage": {completion}, "sqs:GetQueueAttributes": {completion}, "sqs:DeleteMessage": {completion},
        "sqs:SendMessage": {ordered, dead}, "glue:GetJobRun": {arn(run, "aws:glue/job:Job", "ingest-processing-job")},
        **decide(table),
        "logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
    }, catalog(run, spec))


def test_no_function_reads_an_index_to_decide(run: ProgramRun) -> None:
    """F4: a GSI is eventually consistent, so only the reconciler's hint (by_check) is readable, and by it alone."""
    for function in ("router", "dispatcher", "completion", "reconciler"):
        indexes = {r for resources in grants(run, f"ingest-functions-{function}-role-policy").values()
                   for r in resources if "/index/" in r}
        assert indexes == ({arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table") + "/index/by_check"}
                           if function == "reconciler" else set()), function


def test_reconciler_role_exactly(run: ProgramRun, spec: PipelineSpec) -> None:
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    job = arn(run, "aws:glue/job:Job", "ingest-processing-job")
    logs = arn(run, "aws:cloudwatch/logGroup:LogGroup", "ingest-functions-reconciler-logs") + ":*"
    assert grants(run, "ingest-functions-reconciler-role-policy") == merged({
        **decide(table), "dynamodb:Query": {table, f"{table}/index/by_check"},
        "glue:GetJobRun": {job}, "glue:GetJobRuns": {job}, "glue:StartJobRun": {job},
        "s3:PutObject": {batch_lists(run)},   # a restart of a batch writes its list again
        "sqs:SendMessage": {run.exports["ordered_queue_arn"], run.exports["dead_files_queue_arn"]},
        "cloudwatch:PutMetricData": {"*"},
        "logs:CreateLogStream": {logs}, "logs:PutLogEvents": {logs},
    }, catalog(run, spec))
    (metrics,) = [s for s in statements(run.find(ROLE_POLICY, "ingest-functions-reconciler-role-policy"))
                  if s["Action"] == ["cloudwatch:PutMetricData"]]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "LandingPipeline"}}


def test_job_role_reads_only_the_landing_prefix_and_writes_only_the_output_prefixes(run: ProgramRun,
                                                                                 spec: PipelineSpec) -> None:
    landing, output = run.exports["landing_bucket_name"], run.exports["output_bucket_name"]
    table = arn(run, "aws:dynamodb/table:Table", "ingest-ledger-table")
    prefixes = [spec.output_prefix, spec.quarantine_prefix, "manifests/", "snapshots/", "runs/"]
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
        # fencing: the lease claim and the per-file commits, on the table's items only
        **{f"dynamodb:{action}": {table} for action in ("ConditionCheckItem", "DeleteItem", "UpdateItem")},
    }
    listing = {tuple(as_list(s["Resource"])): s["Condition"]["StringLike"]["s3:prefix"]
               for s in statements(run.find(ROLE_POLICY, "ingest-processing-role-policy"))
               if s["Action"] == ["s3:ListBucket"]}
    assert listing == {(f"arn:aws:s3:::{landing}",): [f"{spec.key_prefix}*"],
                       (f"arn:aws:s3:::{output}",): [f"{p}*" for p in prefixes]}


def test_the_job_role_covers_exactly_the_ledger_writes_of_its_fencing() -> None:
    """Ledger.claim and Ledger.commit_file, what runtime/jobs/fencing.py calls, against the job role's actions."""
    import inspect

    from landing_pipeline.runtime.ledger import Ledger

    source = inspect.getsource(Ledger.claim) + inspect.getsource(Ledger.commit_file) + inspect.getsource(
        Ledger._file_writes) + inspect.getsource(Ledger._set)
    used = {"dynamodb:UpdateItem"} if ".update_item(" in source else set()
    used |= {f"dynamodb:{action}" for kind, action in _TRANSACTION_ITEMS.items() if f'"{kind}"' in source}
    granted = grants(plan("dev"), "ingest-processing-role-policy")
    assert used == {a for a in granted if a.startswith("dynamodb:")}


def test_each_role_is_assumable_only_by_its_service(run: ProgramRun) -> None:
    services = {}
    for role in run.of_type("aws:iam/role:Role"):
        (st,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert st["Action"] == "sts:AssumeRole" and st["Effect"] == "Allow"
        services[role.name] = st["Principal"]["Service"]
        # a service acting for any account's schedules may assume it only for this account's
        assert st.get("Condition") == ({"StringEquals": {"aws:SourceAccount": "123456789012"}}
                                       if st["Principal"]["Service"] == "scheduler.amazonaws.com" else None)
    assert services == {"ingest-processing-role": "glue.amazonaws.com",
                        "ingest-functions-router-role": "lambda.amazonaws.com",
                        "ingest-functions-dispatcher-role": "lambda.amazonaws.com",
                        "ingest-functions-completion-role": "lambda.amazonaws.com",
                        "ingest-functions-reconciler-role": "lambda.amazonaws.com",
                        "ingest-functions-reconciler-scheduler-role": "scheduler.amazonaws.com"}
    assert len({r.outputs["arn"] for r in run.of_type("aws:iam/role:Role")}) == 6  # no shared role


# boto3 operation -> IAM action, for the clients the runtime uses
_CALL = re.compile(r"\.(sqs|glue|glue_starts|s3|client)\.(\w+)\(")
_NAMED_CLIENT = re.compile(r'\.client\("(\w+)"\)\.(\w+)\(')  # ctx.client("cloudwatch").put_metric_data(
_PAGINATED = re.compile(r'_paginate\("(\w+)"')  # Ledger._paginate("query", ...) on its DynamoDB client
# the ledger calls self.client.<op> on its DynamoDB client; glue_starts is the Glue client without SDK retries
_SERVICE_OF_CLIENT = {"client": "dynamodb", "glue_starts": "glue"}
_ACTION_NAMES = {"head_object": "GetObject"}
_TRANSACTION_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                      "ConditionCheck": "ConditionCheckItem"}
"""IAM has no TransactWriteItems action: each item of a transaction is authorised by its own action."""


def _iam_actions(service: str, operation: str, source: str) -> set[str]:
    if (service, operation) == ("dynamodb", "transact_write_items"):
        return {f"dynamodb:{action}" for kind, action in _TRANSACTION_ITEMS.items() if f'"{kind}"' in source} or {
            f"dynamodb:{action}" for action in _TRANSACTION_ITEMS.values()}
    name = _ACTION_NAMES.get(operation) or "".join(part.title() for part in operation.split("_"))
    return {f"{service}:{name}"}


def test_every_aws_call_the_lambda_runtime_makes_is_granted_to_some_function() -> None:
    run = plan("dev")
    granted = set()
    for function in ("router", "dispatcher", "completion", "reconciler"):
        granted |= set(grants(run, f"ingest-functions-{function}-role-policy"))
    called = set()
    for path in RUNTIME.glob("*.py"):  # runtime/jobs/ runs on Glue, with the job role
        source = path.read_text(encoding="utf-8")
        calls = _CALL.findall(source) + _NAMED_CLIENT.findall(source) + [
            ("client", op) for op in _PAGINATED.findall(source)]
        for client, operation in calls:
            if operation in ("scan",):  # Ledger.all_files: the operator CLI, with the operator's credentials
                continue
            called |= _iam_actions(_SERVICE_OF_CLIENT.get(client, client), operation, source)
    assert {"sqs:SendMessage", "glue:StartJobRun", "dynamodb:Query", "cloudwatch:PutMetricData"} <= called, \
        "the scan no longer matches the runtime"
    assert called <= granted, f"called but not granted: {sorted(called - granted)}"
