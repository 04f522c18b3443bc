"""The Lambda functions: router, dispatcher and completion (queue-fed), and the reconciler (scheduled).

Each has its own role listing exactly the actions it performs on exactly the
resources it touches (see the table in docs/components.md), and all four get
the same environment: the spec's runtime part (``to_env``) plus the names of
the resources they use, as fixed in docs/interfaces.md.

The dispatcher's trigger has batch size 1 (a receive is one group's wake-up, so a
wake-up held for a settle wait is never a bystander of another group's start) and maximum
concurrency ``max(2, max_parallel_groups)`` (``contract.dispatcher_concurrency``): AWS's minimum is 2, and
the lease plus Glue's ``MaxConcurrentRuns`` (exactly ``max_parallel_groups``) are the real limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.code_archive import code_archive, powertools_layer_arn
from landing_pipeline.components.common import Statement, allow, partition, region, s3_arn
from landing_pipeline.components.lambda_function import QueueFunction
from landing_pipeline.components.reconciler import Reconciler
from landing_pipeline.runtime.contract import (
    CATALOG_DATABASE_ENV,
    CHECK_INDEX,
    COMPLETION_HANDLER,
    DEAD_FILES_QUEUE_URL_ENV,
    DISPATCHER_HANDLER,
    FEEDS_ENV_MAX_BYTES,
    FEEDS_URI_ENV,
    INTAKE_DLQ_URL_ENV,
    JOB_NAME_ENV,
    LEDGER_TABLE_ENV,
    METRICS_NAMESPACE,
    ORDERED_DLQ_URL_ENV,
    ORDERED_QUEUE_URL_ENV,
    OUTPUT_BUCKET_ENV,
    RECONCILER_HANDLER,
    ROUTER_HANDLER,
    dispatcher_concurrency,
)
from landing_pipeline.runtime.feeds import feeds_document
from landing_pipeline.runtime.job_args import RUNS_PREFIX
from landing_pipeline.runtime.spec import PipelineSpec, to_env

STANDARD_BATCH_SIZE = 10
POWERTOOLS_SERVICE_NAME = "landing-pipeline"
POWERTOOLS_METRICS_NAMESPACE = METRICS_NAMESPACE
LEDGER_RECORD = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
"""The router's ledger access: read the group item, record a file in one transaction of Puts and an Update."""
LEDGER_DECIDE = ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:Query", "dynamodb:UpdateItem"]
"""Load a group (strongly consistent Query of its partition, GetItem), commit a decision (a transaction of Put,
Update, Delete and ConditionCheck items: IAM has no TransactWriteItems action, each item needs its own)."""


@dataclass(frozen=True)
class PipelineResources:
    """The resources the functions read from and write to (Outputs of the other components)."""

    landing_bucket_name: pulumi.Input[str]
    intake_queue_arn: pulumi.Input[str]
    intake_dlq_url: pulumi.Input[str]
    intake_dlq_arn: pulumi.Input[str]
    ordered_queue_url: pulumi.Input[str]
    ordered_queue_arn: pulumi.Input[str]
    ordered_dlq_url: pulumi.Input[str]
    ordered_dlq_arn: pulumi.Input[str]
    completion_queue_arn: pulumi.Input[str]
    ledger_table_name: pulumi.Input[str]
    ledger_table_arn: pulumi.Input[str]
    job_name: pulumi.Input[str]
    job_arn: pulumi.Input[str]
    output_bucket_name: pulumi.Input[str]
    dead_files_queue_url: pulumi.Input[str]
    dead_files_queue_arn: pulumi.Input[str]
    catalog_database_name: pulumi.Input[str] | None = None
    """With feeds: the Glue database whose partitions completion and the reconciler register."""
    catalog_statements: tuple[Statement, ...] = ()
    """With feeds: the permissions that takes (``FeedCatalog.statements``)."""


def function_environment(spec: PipelineSpec, res: PipelineResources,
                         feeds_uri: pulumi.Input[str] | None = None) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = dict(to_env(spec))
    if feeds_uri is not None:   # feeds too long for the environment: the functions read them from S3
        env[FEEDS_URI_ENV] = feeds_uri
    env.update({
        ORDERED_QUEUE_URL_ENV: res.ordered_queue_url,
        ORDERED_DLQ_URL_ENV: res.ordered_dlq_url,
        INTAKE_DLQ_URL_ENV: res.intake_dlq_url,
        LEDGER_TABLE_ENV: res.ledger_table_name,
        JOB_NAME_ENV: res.job_name,
        OUTPUT_BUCKET_ENV: res.output_bucket_name,
        DEAD_FILES_QUEUE_URL_ENV: res.dead_files_queue_url,
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
    })
    if res.catalog_database_name is not None:
        env[CATALOG_DATABASE_ENV] = res.catalog_database_name
    return env


def role_statements(res: PipelineResources, spec: PipelineSpec) -> dict[str, list[Statement]]:
    """Per function, the statements beyond consuming its own trigger queue and writing its logs.

    Derived from the calls the handlers make (runtime/router.py, dispatcher.py, completion.py, reconciler.py and
    what they share: acting.py, ledger.py, wakeups.py, queues.py); a test keeps the two in step. Every decision
    reads the group's partition of the table strongly (a Query on the table, never an index) and commits with a
    transaction, which IAM authorises item by item (``LEDGER_DECIDE``).
    """
    table = res.ledger_table_arn
    due = pulumi.Output.concat(table, f"/index/{CHECK_INDEX}")
    deciding = allow("DecideOnGroups", LEDGER_DECIDE, [table])
    wake = allow("WakeGroups", ["sqs:SendMessage"], [res.ordered_queue_arn])
    announce = allow("AnnounceDeadFiles", ["sqs:SendMessage"], [res.dead_files_queue_arn])
    # a batch whose list is too long for the run's arguments: the list goes to an object the run reads
    # (runtime/job_args.run_arguments), written by whoever starts the run (the dispatcher, or the reconciler's restart)
    batch_lists = [allow("WriteBatchLists", ["s3:PutObject"], [s3_arn(res.output_bucket_name, f"{RUNS_PREFIX}*")])]
    if spec.bucket_kms_key_arn:
        batch_lists.append(allow("EncryptBatchLists", ["kms:GenerateDataKey"], [spec.bucket_kms_key_arn]))
    catalog = catalog_statements(res, spec)
    feeds_read: list[Statement] = []
    document = feeds_document(spec.feeds, FEEDS_ENV_MAX_BYTES)
    if document is not None:   # every function reads the feeds at cold start
        feeds_read.append(allow("ReadFeeds", ["s3:GetObject"], [s3_arn(res.output_bucket_name, document[0])]))
        if spec.bucket_kms_key_arn:
            feeds_read.append(allow("DecryptFeeds", ["kms:Decrypt"], [spec.bucket_kms_key_arn]))
    return {
        "router": [
            # records the file, its pointer and the group's seq in one transaction (Put, Put, Update)
            allow("RecordFiles", LEDGER_RECORD, [table]),
            allow("WakeGroups", ["sqs:SendMessage"], [res.ordered_queue_arn]),
            allow("RejectToIntakeDlq", ["sqs:SendMessage"], [res.intake_dlq_arn]),
            *feeds_read,
        ],
        "dispatcher": [
            deciding, wake, announce,
            # the mapping deletes a handled wake-up; the handler keeps one invisible while its group settles
            allow("HoldWakeUpWhileSettling", ["sqs:ChangeMessageVisibility"], [res.ordered_queue_arn]),
            # a body that is not a wake-up (hand-sent, or v1's) is parked with its reason; retrying cannot help
            allow("ParkMalformedWakeUps", ["sqs:SendMessage"], [res.ordered_dlq_arn]),
            # starts through a client without SDK retries; an unanswered start is found by its run token
            allow("StartAndFindRuns", ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns"], [res.job_arn]),
            *batch_lists,
            *feeds_read,
        ],
        "completion": [
            deciding, wake, announce,
            # a run the ledger does not know yet (its start's answer was lost) is looked up to adopt it
            allow("ReadJobRun", ["glue:GetJobRun"], [res.job_arn]),
            *catalog, *feeds_read,
        ],
        "reconciler": [
            deciding, wake, announce,
            # a hint only: every group found is re-read strongly from the table before anything is done
            allow("FindGroupsDue", ["dynamodb:Query"], [due]),
            # a run whose end was never announced is looked up; an unanswered start is found by its token, or
            # started again with the same token past its grace (fencing makes a second run do nothing)
            allow("FinishOrResolveRuns", ["glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"], [res.job_arn]),
            *batch_lists,
            *catalog, *feeds_read,
            # PutMetricData has no resource-level permissions: "*" with the namespace condition is the narrowest
            allow("PublishDeadFileCount", ["cloudwatch:PutMetricData"], ["*"],
                  Condition={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}),
        ],
    }


def catalog_statements(res: PipelineResources, spec: PipelineSpec) -> list[Statement]:
    """Whoever settles a run registers its group's partitions (runtime/catalog_sync.py): the catalog calls, and
    reading the snapshot pointers (and, for a feed without a schema, the manifests) that say what to register."""
    if not res.catalog_statements:
        return []
    reads = [s3_arn(res.output_bucket_name, f"snapshots/{feed.table_name}/*") for feed in spec.feeds if feed.merge_keys]
    if any(not feed.schema for feed in spec.feeds):
        reads.append(s3_arn(res.output_bucket_name, "manifests/*"))
    statements = list(res.catalog_statements)
    if reads:
        statements.append(allow("ReadWhatRunsPublished", ["s3:GetObject"], reads))
    if spec.bucket_kms_key_arn:
        statements.append(allow("DecryptWhatRunsPublished", ["kms:Decrypt"], [spec.bucket_kms_key_arn]))
    return statements


@dataclass(frozen=True)
class FunctionPlan:
    """How one of the three functions is built: handler, trigger and limits."""

    handler: str
    description: str
    batch_size: int
    maximum_concurrency: int | None
    timeout_s: int


def function_plans(spec: PipelineSpec) -> dict[str, FunctionPlan]:
    return {
        "router": FunctionPlan(ROUTER_HANDLER, "Records each landed file in its group's ledger partition and "
                               "wakes the group", STANDARD_BATCH_SIZE, None, spec.router_timeout_s),
        "dispatcher": FunctionPlan(DISPATCHER_HANDLER, "On a group's wake-up: takes its lease and starts the Glue "
                                   "run of its next files", 1,
                                   dispatcher_concurrency(spec.max_parallel_groups), spec.dispatcher_timeout_s),
        "completion": FunctionPlan(COMPLETION_HANDLER, "Records a finished Glue run: releases the group's lease, "
                                   "retries, blocks or marks files dead, wakes what has work",
                                   STANDARD_BATCH_SIZE, None, spec.completion_timeout_s),
    }


class PipelineFunctions(pulumi.ComponentResource):
    """Router, dispatcher and completion Lambdas with their triggers, roles and log groups; the reconciler with its
    schedule."""

    router_function_name: pulumi.Output[str]
    dispatcher_function_name: pulumi.Output[str]
    completion_function_name: pulumi.Output[str]
    reconciler_function_name: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, resources: PipelineResources, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:PipelineFunctions", name, None, opts)
        code = code_archive()
        layer = pulumi.Output.all(partition(), region()).apply(lambda pr: powertools_layer_arn(pr[0], pr[1]))
        document = feeds_document(spec.feeds, FEEDS_ENV_MAX_BYTES)
        self.feeds_object: aws.s3.BucketObjectv2 | None = None
        """The feeds as a document in the output bucket, when they are too long for the environment."""
        feeds_uri: pulumi.Input[str] | None = None
        if document is not None:
            self.feeds_object = aws.s3.BucketObjectv2(
                f"{name}-feeds", bucket=resources.output_bucket_name, key=document[0], content=document[1],
                content_type="application/json", tags=dict(tags), opts=pulumi.ResourceOptions(parent=self))
            feeds_uri = pulumi.Output.concat("s3://", self.feeds_object.bucket, "/", self.feeds_object.key)
        env = function_environment(spec, resources, feeds_uri)
        statements = role_statements(resources, spec)
        sources = {"router": resources.intake_queue_arn, "dispatcher": resources.ordered_queue_arn,
                   "completion": resources.completion_queue_arn}
        self.functions = {
            label: QueueFunction(
                f"{name}-{label}", handler=plan.handler, description=plan.description, code=code, layers=[layer],
                source_queue_arn=sources[label], batch_size=plan.batch_size,
                maximum_concurrency=plan.maximum_concurrency, timeout_s=plan.timeout_s,
                memory_mb=spec.lambda_memory_mb, environment=env, statements=statements[label],
                log_retention_days=spec.log_retention_days, tags=tags, opts=pulumi.ResourceOptions(parent=self))
            for label, plan in function_plans(spec).items()}
        self.reconciler: Reconciler = Reconciler(
            f"{name}-reconciler", spec=spec, handler=RECONCILER_HANDLER, code=code, layers=[layer], environment=env,
            statements=statements["reconciler"], tags=tags, opts=pulumi.ResourceOptions(parent=self))
        self.router: QueueFunction = self.functions["router"]
        self.dispatcher: QueueFunction = self.functions["dispatcher"]
        self.completion: QueueFunction = self.functions["completion"]
        self.router_function_name = self.functions["router"].function_name
        self.dispatcher_function_name = self.functions["dispatcher"].function_name
        self.completion_function_name = self.functions["completion"].function_name
        self.reconciler_function_name = self.reconciler.function_name
        self.register_outputs({"router_function_name": self.router_function_name,
                               "dispatcher_function_name": self.dispatcher_function_name,
                               "completion_function_name": self.completion_function_name,
                               "reconciler_function_name": self.reconciler_function_name})
