"""The three Lambda functions: router, dispatcher (the hold) and completion.

Each has its own role listing exactly the actions it performs on exactly the
resources it touches (see the table in docs/components.md), and all three get
the same environment: the spec's runtime part (``to_env``) plus the names of
the resources they use, as fixed in docs/interfaces.md.

The dispatcher's trigger has batch size 1 (so a receive is one file, and a
returned message is never a bystander of another file's start) and maximum
concurrency ``max(2, max_parallel_groups)`` (``contract.dispatcher_concurrency``): AWS's minimum is 2, and
Glue's ``MaxConcurrentRuns`` (exactly ``max_parallel_groups``) is the real limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from landing_pipeline.components.code_archive import code_archive, powertools_layer_arn
from landing_pipeline.components.common import Statement, allow, partition, region, s3_arn
from landing_pipeline.components.lambda_function import QueueFunction
from landing_pipeline.runtime.contract import (
    COMPLETION_HANDLER,
    DISPATCHER_HANDLER,
    GROUP_INDEX,
    INTAKE_DLQ_URL_ENV,
    JOB_NAME_ENV,
    LEDGER_TABLE_ENV,
    ORDERED_DLQ_URL_ENV,
    ORDERED_QUEUE_URL_ENV,
    OUTPUT_BUCKET_ENV,
    ROUTER_HANDLER,
    WAIT_INDEX,
    dispatcher_concurrency,
)
from landing_pipeline.runtime.spec import PipelineSpec, to_env

STANDARD_BATCH_SIZE = 10
POWERTOOLS_SERVICE_NAME = "landing-pipeline"
POWERTOOLS_METRICS_NAMESPACE = "LandingPipeline"
LEDGER_WRITE = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


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


def function_environment(spec: PipelineSpec, res: PipelineResources) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = dict(to_env(spec))
    env.update({
        ORDERED_QUEUE_URL_ENV: res.ordered_queue_url,
        ORDERED_DLQ_URL_ENV: res.ordered_dlq_url,
        INTAKE_DLQ_URL_ENV: res.intake_dlq_url,
        LEDGER_TABLE_ENV: res.ledger_table_name,
        JOB_NAME_ENV: res.job_name,
        OUTPUT_BUCKET_ENV: res.output_bucket_name,
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
    })
    return env


def role_statements(res: PipelineResources, spec: PipelineSpec) -> dict[str, list[Statement]]:
    """Per function, the statements beyond consuming its own trigger queue and writing its logs.

    Derived from the calls the handlers make (runtime/router.py, dispatcher.py, completion.py,
    queues.py, outcomes.py, ledger.py); a test keeps the two in step.
    """
    table = res.ledger_table_arn
    index = pulumi.Output.concat(table, f"/index/{GROUP_INDEX}")
    waiting = pulumi.Output.concat(table, f"/index/{WAIT_INDEX}")
    return {
        "router": [
            allow("EnqueueInOrder", ["sqs:SendMessage"], [res.ordered_queue_arn]),
            allow("RejectToIntakeDlq", ["sqs:SendMessage"], [res.intake_dlq_arn]),
            allow("RecordReceived", LEDGER_WRITE, [table]),
        ],
        "dispatcher": [
            # the mapping already deletes; the handler itself requeues behind a redriven file,
            # extends the hold and deletes duplicates
            allow("HoldRequeueOrRelease", ["sqs:ChangeMessageVisibility", "sqs:SendMessage"],
                  [res.ordered_queue_arn]),
            allow("ParkDeadFiles", ["sqs:SendMessage"], [res.ordered_dlq_arn]),
            allow("StartAndWatchJob", ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns"], [res.job_arn]),
            allow("TrackFiles", LEDGER_WRITE, [table]),
            allow("ReadGroupHistory", ["dynamodb:Query"], [index]),
            # a run found finished (lost completion event) frees a slot: wake the longest waiter
            allow("FindFilesWaitingForASlot", ["dynamodb:Query"], [waiting]),
            # HeadObject before starting: is the landed version still there?
            allow("CheckLandedObject", ["s3:GetObject", "s3:GetObjectVersion"],
                  [s3_arn(res.landing_bucket_name, f"{spec.key_prefix}*")]),
            # without ListBucket a missing key answers 403 instead of 404 and could not be told apart
            allow("TellMissingFromForbidden", ["s3:ListBucket"], [s3_arn(res.landing_bucket_name)],
                  Condition={"StringLike": {"s3:prefix": [f"{spec.key_prefix}*"]}}),
        ],
        "completion": [
            allow("ReleaseRetryOrWakeMessages", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage"],
                  [res.ordered_queue_arn]),
            allow("ParkDeadFiles", ["sqs:SendMessage"], [res.ordered_dlq_arn]),
            allow("ReadJobRun", ["glue:GetJobRun"], [res.job_arn]),
            allow("TrackFiles", LEDGER_WRITE, [table]),
            # every ended run frees a Glue slot: wake the file waiting longest (ChangeMessageVisibility above)
            allow("FindFilesWaitingForASlot", ["dynamodb:Query"], [waiting]),
        ],
    }


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
        "router": FunctionPlan(ROUTER_HANDLER, "Assigns each landed file its group and enqueues it in order",
                               STANDARD_BATCH_SIZE, None, spec.router_timeout_s),
        "dispatcher": FunctionPlan(DISPATCHER_HANDLER, "Starts the Glue run of a group's next file and holds "
                                   "its message until the run ends", 1,
                                   dispatcher_concurrency(spec.max_parallel_groups), spec.dispatcher_timeout_s),
        "completion": FunctionPlan(COMPLETION_HANDLER, "Records a finished Glue run and releases, retries or "
                                   "parks its held file", STANDARD_BATCH_SIZE, None, spec.completion_timeout_s),
    }


class PipelineFunctions(pulumi.ComponentResource):
    """Router, dispatcher and completion Lambdas with their triggers, roles and log groups."""

    router_function_name: pulumi.Output[str]
    dispatcher_function_name: pulumi.Output[str]
    completion_function_name: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, resources: PipelineResources, tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:PipelineFunctions", name, None, opts)
        code = code_archive()
        layer = pulumi.Output.all(partition(), region()).apply(lambda pr: powertools_layer_arn(pr[0], pr[1]))
        env = function_environment(spec, resources)
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
        self.router: QueueFunction = self.functions["router"]
        self.dispatcher: QueueFunction = self.functions["dispatcher"]
        self.completion: QueueFunction = self.functions["completion"]
        self.router_function_name = self.functions["router"].function_name
        self.dispatcher_function_name = self.functions["dispatcher"].function_name
        self.completion_function_name = self.functions["completion"].function_name
        self.register_outputs({"router_function_name": self.router_function_name,
                               "dispatcher_function_name": self.dispatcher_function_name,
                               "completion_function_name": self.completion_function_name})
