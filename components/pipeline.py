"""``IngestionPipeline``: the whole ordered-ingestion pipeline as one reusable component.

S3 landing bucket -> EventBridge -> intake queue -> router (records the file in the
ledger, wakes its group) -> FIFO ordered queue (wake-ups) -> dispatcher (takes the
group's lease, starts the run) -> Glue job -> "Glue Job State Change" -> completion
queue -> completion Lambda; the reconciler on a schedule; plus the ledger, the
dead-files queue, the output bucket and monitoring. Every part is its own component in this package; this one only
validates the args (before registering anything, so a bad setting never leaves
half a stack), wires the parts together and publishes the names users need.

No ``from __future__ import annotations`` here or in ``components/args.py``: Pulumi's component
analyzer reads the annotations of ``__init__``'s ``args`` and of the outputs at run time, and
needs real types, not strings.
"""

from contextvars import ContextVar
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.args import IngestionPipelineArgs as IngestionPipelineArgs
from landing_pipeline.components.args import args_from_spec, spec_from_args
from landing_pipeline.components.catalog import FeedCatalog, catalog_database
from landing_pipeline.components.completion_path import CompletionPath
from landing_pipeline.components.dead_files import DeadFilesQueue
from landing_pipeline.components.functions import PipelineFunctions, PipelineResources
from landing_pipeline.components.intake import Intake
from landing_pipeline.components.lambda_function import QueueFunction
from landing_pipeline.components.landing_bucket import LandingBucket
from landing_pipeline.components.ledger import Ledger
from landing_pipeline.components.monitoring import Monitoring, Watched, dashboard_name_for
from landing_pipeline.components.ordered_queue import OrderedQueue
from landing_pipeline.components.processing_job import ProcessingJob
from landing_pipeline.components.reconciler import Reconciler
from landing_pipeline.components.secure_bucket import SecureBucket
from landing_pipeline.runtime.spec import PipelineSpec

TYPE_TOKEN = "landing:index:IngestionPipeline"

BUILT_PIPELINES: ContextVar[list[tuple[str, PipelineSpec]] | None] = ContextVar("built_pipelines", default=None)
"""Set by ``components/program_runner.py`` for one mock run: every pipeline built appends (name, spec), so
``landing plan`` and the emulator deploy the settings the program passed, not a re-read of the stack file
(which a program giving its own args never consults). Unset (None) under ``pulumi up``: nothing is kept."""


class IngestionPipeline(pulumi.ComponentResource):
    """Ordered, exactly-once-in-effect ingestion of files landing in S3, one Glue run per file.

    Files of one group (derived from the file name) are processed strictly one after another in
    arrival order; different groups run in parallel, up to maxParallelGroups at once.
    """

    landing_bucket_name: pulumi.Output[str]
    """Bucket files land in (created, or the existing one named by existingBucketName)."""
    output_bucket_name: pulumi.Output[str]
    """Bucket the job writes processed Parquet, quarantined rows, manifests and snapshots to."""
    intake_queue_url: pulumi.Output[str]
    """URL of the standard SQS queue receiving the landing bucket's "Object Created" events."""
    intake_queue_arn: pulumi.Output[str]
    """ARN of the intake queue."""
    intake_dlq_url: pulumi.Output[str]
    """URL of the intake queue's dead-letter queue (undeliverable events and rejected keys)."""
    ordered_queue_url: pulumi.Output[str]
    """URL of the SQS FIFO queue of group wake-ups (at most one pending per group)."""
    ordered_queue_arn: pulumi.Output[str]
    """ARN of the ordered queue."""
    ordered_dlq_url: pulumi.Output[str]
    """URL of the ordered queue's FIFO dead-letter queue (wake-ups that kept failing: poison messages)."""
    dead_files_queue_url: pulumi.Output[str]
    """URL of the SQS FIFO queue announcing each DEAD file, once per death."""
    dead_files_queue_arn: pulumi.Output[str]
    """ARN of the dead-files queue."""
    completion_queue_url: pulumi.Output[str]
    """URL of the standard SQS queue receiving the job's "Glue Job State Change" events."""
    completion_queue_arn: pulumi.Output[str]
    """ARN of the completion queue."""
    completion_dlq_url: pulumi.Output[str]
    """URL of the completion queue's dead-letter queue."""
    job_name: pulumi.Output[str]
    """Name of the Glue job that processes one file per run."""
    ledger_table_name: pulumi.Output[str]
    """Name of the DynamoDB ledger table (each group's item and ordered files, a pointer per file id)."""
    dashboard_name: pulumi.Output[str]
    """Name of the CloudWatch dashboard (empty when enableDashboard is false)."""
    alarm_topic_arn: pulumi.Output[str]
    """SNS topic the alarms notify (empty when there is none)."""
    router_function_name: pulumi.Output[str]
    """Name of the router Lambda function."""
    dispatcher_function_name: pulumi.Output[str]
    """Name of the dispatcher Lambda function."""
    completion_function_name: pulumi.Output[str]
    """Name of the completion Lambda function."""
    reconciler_function_name: pulumi.Output[str]
    """Name of the reconciler Lambda function (invoked every reconcileMinutes)."""
    reconciler_schedule_name: pulumi.Output[str]
    """Name of the EventBridge Scheduler schedule that invokes the reconciler."""
    catalog_database_name: pulumi.Output[str]
    """Name of the Glue database holding each feed's tables (empty for a stack without feeds)."""

    def __init__(self, name: str, args: IngestionPipelineArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        spec = spec_from_args(args)  # raises SpecError before anything is registered
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.spec = spec
        built = BUILT_PIPELINES.get()
        if built is not None:
            built.append((name, spec))
        tags = spec.tag_map
        child = pulumi.ResourceOptions(parent=self)

        landing = LandingBucket(f"{name}-landing", tags=tags, existing_bucket_name=spec.existing_bucket_name,
                                kms_key_arn=spec.bucket_kms_key_arn,
                                expiration_days=spec.landed_object_expiration_days, key_prefix=spec.key_prefix,
                                opts=child)
        output = SecureBucket(f"{name}-output", tags=tags, kms_key_arn=spec.bucket_kms_key_arn, opts=child)
        intake = Intake(f"{name}-intake", bucket_name=landing.bucket_name, key_prefix=spec.key_prefix,
                        key_suffixes=spec.key_suffixes, visibility_timeout_s=spec.queue_visibility_s(
                            spec.router_timeout_s), tags=tags, opts=child)
        ordered = OrderedQueue(f"{name}-ordered", max_receive_count=spec.receive_ceiling,
                               visibility_timeout_s=spec.queue_visibility_s(spec.dispatcher_timeout_s),
                               tags=tags, opts=child)
        ledger = Ledger(f"{name}-ledger", tags=tags, opts=child)
        dead_files = DeadFilesQueue(f"{name}-dead-files", tags=tags, opts=child)
        stack_prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        job = ProcessingJob(f"{name}-processing", spec=spec, landing_bucket=landing.bucket_name,
                            output_bucket=output.bucket_name, ledger_table_arn=ledger.table_arn,
                            log_group_prefix=f"/aws-glue/jobs/{stack_prefix}",
                            tags=tags, opts=child)
        completion = CompletionPath(f"{name}-completion", job_name=job.job_name,
                                    visibility_timeout_s=spec.queue_visibility_s(spec.completion_timeout_s),
                                    tags=tags, opts=child)
        catalog = (FeedCatalog(f"{name}-catalog", spec=spec, output_bucket=output.bucket_name,
                               database=catalog_database(spec, name), tags=tags, opts=child)
                   if spec.feeds else None)
        functions = PipelineFunctions(f"{name}-functions", spec=spec, resources=PipelineResources(
            landing_bucket_name=landing.bucket_name, intake_queue_arn=intake.queue_arn,
            intake_dlq_url=intake.dlq_url, intake_dlq_arn=intake.dlq_arn, ordered_queue_url=ordered.queue_url,
            ordered_queue_arn=ordered.queue_arn, ordered_dlq_url=ordered.dlq_url, ordered_dlq_arn=ordered.dlq_arn,
            completion_queue_arn=completion.queue_arn, ledger_table_name=ledger.table_name,
            ledger_table_arn=ledger.table_arn, job_name=job.job_name, job_arn=job.job_arn,
            output_bucket_name=output.bucket_name, dead_files_queue_url=dead_files.queue_url,
            dead_files_queue_arn=dead_files.queue_arn,
            catalog_database_name=catalog.database_name if catalog else None,
            catalog_statements=tuple(catalog.statements(spec)) if catalog else ()), tags=tags, opts=child)
        monitoring = Monitoring(f"{name}-monitoring", spec=spec, watched=Watched(
            queues={"intake queue": intake.queue_name, "ordered queue": ordered.queue_name,
                    "completion queue": completion.queue_name, "intake-dlq": intake.dlq_name,
                    "ordered-dlq": ordered.dlq_name, "completion-dlq": completion.dlq_name},
            dlqs={"intake-dlq": intake.dlq_name, "ordered-dlq": ordered.dlq_name,
                  "completion-dlq": completion.dlq_name},
            ordered_queue=ordered.queue_name, dead_files_queue=dead_files.queue_name,
            functions={"router": functions.router_function_name, "dispatcher": functions.dispatcher_function_name,
                       "completion": functions.completion_function_name,
                       "reconciler": functions.reconciler_function_name},
            job_name=job.job_name, ledger_table=ledger.table_name),
            dashboard_name=dashboard_name_for(pulumi.get_project(), pulumi.get_stack(), name), tags=tags, opts=child)

        self.landing_bucket_name = landing.bucket_name
        self.output_bucket_name = output.bucket_name
        self.intake_queue_url, self.intake_queue_arn, self.intake_dlq_url = (
            intake.queue_url, intake.queue_arn, intake.dlq_url)
        self.ordered_queue_url, self.ordered_queue_arn, self.ordered_dlq_url = (
            ordered.queue_url, ordered.queue_arn, ordered.dlq_url)
        self.dead_files_queue_url, self.dead_files_queue_arn = dead_files.queue_url, dead_files.queue_arn
        self.completion_queue_url, self.completion_queue_arn, self.completion_dlq_url = (
            completion.queue_url, completion.queue_arn, completion.dlq_url)
        self.job_name = job.job_name
        self.ledger_table_name = ledger.table_name
        self.dashboard_name = monitoring.dashboard_name
        self.alarm_topic_arn = monitoring.alarm_topic_arn
        self.router_function_name = functions.router_function_name
        self.dispatcher_function_name = functions.dispatcher_function_name
        self.completion_function_name = functions.completion_function_name
        self.reconciler_function_name = functions.reconciler_function_name
        self.reconciler_schedule_name = functions.reconciler.schedule_name
        self.catalog_database_name = catalog.database_name if catalog else pulumi.Output.from_input("")
        self.catalog: FeedCatalog | None = catalog
        self._expose(landing, output, intake, ordered, ledger, dead_files, job, completion, functions, monitoring)
        self.register_outputs(self.outputs())

    def _expose(self, landing: LandingBucket, output: SecureBucket, intake: Intake, ordered: OrderedQueue,
                ledger: Ledger, dead_files: DeadFilesQueue, job: ProcessingJob, completion: CompletionPath,
                functions: PipelineFunctions, monitoring: Monitoring) -> None:
        """The parts as typed attributes (the awsx / AWS Solutions Constructs convention), so a program can
        attach its own alarms, policies and subscriptions to the real resources. Plain attributes, not
        class annotations: those are the component's outputs (``OUTPUT_NAMES``, the schema)."""
        # sub-components
        self.landing: LandingBucket = landing
        self.output: SecureBucket = output
        self.intake: Intake = intake
        self.ordered: OrderedQueue = ordered
        self.ledger: Ledger = ledger
        self.dead_files: DeadFilesQueue = dead_files
        self.processing: ProcessingJob = job
        self.completion_path: CompletionPath = completion
        self.functions: PipelineFunctions = functions
        self.monitoring: Monitoring = monitoring
        # the resources users attach to
        self.landing_bucket: aws.s3.Bucket | None = landing.bucket  # None for existing_bucket_name
        self.output_bucket: aws.s3.Bucket = output.bucket
        self.ledger_table: aws.dynamodb.Table = ledger.table
        self.intake_queue: aws.sqs.Queue = intake.queue
        self.intake_dlq: aws.sqs.Queue = intake.dlq
        self.intake_rule: aws.cloudwatch.EventRule = intake.rule
        self.ordered_queue: aws.sqs.Queue = ordered.queue
        self.ordered_dlq: aws.sqs.Queue = ordered.dlq
        self.dead_files_queue: aws.sqs.Queue = dead_files.queue
        self.completion_queue: aws.sqs.Queue = completion.queue
        self.completion_dlq: aws.sqs.Queue = completion.dlq
        self.completion_rule: aws.cloudwatch.EventRule = completion.rule
        self.router: QueueFunction = functions.router
        self.dispatcher: QueueFunction = functions.dispatcher
        self.completion: QueueFunction = functions.completion
        self.reconciler: Reconciler = functions.reconciler
        self.reconciler_schedule: aws.scheduler.Schedule = functions.reconciler.schedule
        self.glue_job: aws.glue.Job = job.job
        self.glue_job_role: aws.iam.Role = job.role
        self.glue_log_groups: list[aws.cloudwatch.LogGroup] = job.log_groups
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = monitoring.alarms
        self.alarm_topic: aws.sns.Topic | None = monitoring.alarm_topic
        self.dashboard: aws.cloudwatch.Dashboard | None = monitoring.dashboard
        self.glue_failure_rule: aws.cloudwatch.EventRule | None = monitoring.failure_rule

    @classmethod
    def from_spec(cls, name: str, spec: PipelineSpec,
                  opts: pulumi.ResourceOptions | None = None) -> "IngestionPipeline":
        """Build the pipeline from an already validated spec (what ``__main__.py`` does)."""
        return cls(name, args_from_spec(spec), opts)

    def outputs(self) -> dict[str, Any]:
        """Every output by its Python name: what ``register_outputs`` and ``__main__.py`` publish."""
        return {key: getattr(self, key) for key in OUTPUT_NAMES}


OUTPUT_NAMES = [name for name in IngestionPipeline.__annotations__ if not name.startswith("_")]
