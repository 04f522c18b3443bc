"""The processing job: a Glue 5.0 Spark job that ingests one file per run.

``MaxConcurrentRuns`` is exactly ``max_parallel_groups`` (Glue's default of 1
would fail every second group with ``ConcurrentRunsExceededException``), Glue's
own retries are off (a retry is a new attempt the ledger must count, so the
completion handler decides), bookmarks are off (each run is told exactly which
file version to read), and metrics plus real-time logs go to two log groups the
job owns, with the stack's retention.

The role can read only the landing bucket's objects under the key prefix and
the job script, write only the processed, quarantine, manifests and
snapshots prefixes of the output bucket, and write the ledger items of its own
fencing: the claim of its group's lease (a conditional UpdateItem) and each
file's commit (a transaction: the open file item deleted, its pointer updated to
its history, on the condition that the claim is still its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pulumi
import pulumi_aws as aws

import landing_pipeline.runtime.jobs
from landing_pipeline.components.code_archive import job_library_archive
from landing_pipeline.components.common import Statement, allow, assume_role_policy, child, policy_document, s3_arn
from landing_pipeline.runtime.contract import EXTRA_PY_FILES_ARG
from landing_pipeline.runtime.job_args import RUNS_PREFIX
from landing_pipeline.runtime.spec import PipelineSpec

SCRIPT_SOURCE = Path(landing_pipeline.runtime.jobs.__file__).resolve().parent / "ingest_job.py"
SCRIPT_KEY = "scripts/ingest_job.py"
LIBRARY_KEY = "scripts/landing_runtime.zip"
"""The ``landing_pipeline.runtime`` package the bundled script imports, handed to Glue with ``--extra-py-files``."""
JOB_LEDGER_ACTIONS = ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"]
"""``Ledger.claim`` is an UpdateItem; ``Ledger.commit_file`` a transaction of a Delete (the open file item), an
Update (its pointer, now its history) and a ConditionCheck (the claim): IAM authorises each item of a
transaction by its own action (there is no TransactWriteItems action). The job reads nothing from the ledger."""
MANIFEST_PREFIX = "manifests/"
SNAPSHOT_PREFIX = "snapshots/"


def output_prefixes(spec: PipelineSpec) -> list[str]:
    """The prefixes of the output bucket the job writes (and nothing else); ``runs/``: a batch run's list and its
    per-file results (runtime/job_args.py)."""
    return [spec.output_prefix, spec.quarantine_prefix, MANIFEST_PREFIX, SNAPSHOT_PREFIX, RUNS_PREFIX]


class ProcessingJob(pulumi.ComponentResource):
    """Glue 5.0 Spark job, its script in S3, its role and its log groups."""

    job_name: pulumi.Output[str]
    job_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    script_location: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, landing_bucket: pulumi.Input[str],
                 output_bucket: pulumi.Input[str], ledger_table_arn: pulumi.Input[str], log_group_prefix: str,
                 tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:ProcessingJob", name, None, opts)
        library_location: pulumi.Input[str] | None = None
        self.script_object: aws.s3.BucketObjectv2 | None = None
        """The uploaded job script; None when ``script_location`` names one of yours."""
        self.library_object: aws.s3.BucketObjectv2 | None = None
        if spec.script_location:
            script_location: pulumi.Input[str] = spec.script_location
            script_bucket, _, script_key = spec.script_location.removeprefix("s3://").partition("/")
            script_arns: list[pulumi.Input[str]] = [s3_arn(script_bucket, script_key)]
        else:
            script = aws.s3.BucketObjectv2(f"{name}-script", bucket=output_bucket, key=SCRIPT_KEY,
                                           source=pulumi.FileAsset(str(SCRIPT_SOURCE)),
                                           content_type="text/x-python", tags=dict(tags), opts=child(self))
            library = aws.s3.BucketObjectv2(f"{name}-library", bucket=output_bucket, key=LIBRARY_KEY,
                                            source=job_library_archive(), content_type="application/zip",
                                            tags=dict(tags), opts=child(self))
            self.script_object, self.library_object = script, library
            script_location = pulumi.Output.concat("s3://", script.bucket, "/", script.key)
            library_location = pulumi.Output.concat("s3://", library.bucket, "/", library.key)
            script_arns = [s3_arn(output_bucket, SCRIPT_KEY), s3_arn(output_bucket, LIBRARY_KEY)]
        # Glue 5.0 writes to "<prefix>/error" (system, Spark, GlueLogger) and "<prefix>/output"
        # (stdout/stderr) when --custom-logGroup-prefix is set; created here to own their retention.
        log_groups = [aws.cloudwatch.LogGroup(f"{name}-{kind}-logs", name=f"{log_group_prefix}/{kind}",
                                              retention_in_days=spec.log_retention_days, tags=dict(tags),
                                              opts=child(self))
                      for kind in ("error", "output")]
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("glue.amazonaws.com"),
                            description="Glue ingest job: read landed files, write processed output",
                            tags=dict(tags), opts=child(self))
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=role.id,
            policy=policy_document(job_statements(spec, landing_bucket, output_bucket, script_arns,
                                                  [g.arn for g in log_groups], ledger_table_arn)),
            opts=child(self))
        job = aws.glue.Job(
            f"{name}-job", role_arn=role.arn, glue_version=spec.glue_version,
            command={"name": spec.job_type, "script_location": script_location, "python_version": "3"},
            worker_type=spec.worker_type, number_of_workers=spec.worker_count,
            timeout=spec.job_timeout_minutes, max_retries=0, execution_class="STANDARD",
            job_run_queuing_enabled=False,
            execution_property={"max_concurrent_runs": spec.glue_max_concurrent_runs},
            default_arguments=default_arguments(log_group_prefix, library_location),
            description="Ingests one landed file per run (started and held by the dispatcher)",
            tags=dict(tags), opts=child(self, depends_on=[policy, *log_groups]))
        self.job: aws.glue.Job = job
        self.role: aws.iam.Role = role
        self.role_policy: aws.iam.RolePolicy = policy
        self.log_groups: list[aws.cloudwatch.LogGroup] = log_groups
        """Glue's ``<prefix>/error`` and ``<prefix>/output`` groups, in that order."""
        self.job_name = job.name
        self.job_arn = job.arn
        self.role_arn = role.arn
        self.script_location = pulumi.Output.from_input(script_location)
        self.register_outputs({"job_name": self.job_name, "job_arn": self.job_arn, "role_arn": self.role_arn,
                               "script_location": self.script_location})


def default_arguments(log_group_prefix: str,
                      library_location: pulumi.Input[str] | None = None) -> dict[str, pulumi.Input[str]]:
    arguments: dict[str, pulumi.Input[str]] = {
        "--job-language": "python",
        "--job-bookmark-option": "job-bookmark-disable",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        "--enable-continuous-cloudwatch-log": "true",
        "--custom-logGroup-prefix": log_group_prefix,
    }
    if library_location is not None:
        arguments[EXTRA_PY_FILES_ARG] = library_location
    return arguments


def job_statements(spec: PipelineSpec, landing_bucket: pulumi.Input[str], output_bucket: pulumi.Input[str],
                   script_arns: Sequence[pulumi.Input[str]], log_group_arns: Sequence[pulumi.Input[str]],
                   ledger_table_arn: pulumi.Input[str]) -> list[Statement]:
    prefixes = output_prefixes(spec)
    statements = [
        allow("ReadLandedFiles", ["s3:GetObject", "s3:GetObjectVersion"],
              [s3_arn(landing_bucket, f"{spec.key_prefix}*")]),
        allow("ListLandedPrefix", ["s3:ListBucket"], [s3_arn(landing_bucket)],
              Condition={"StringLike": {"s3:prefix": [f"{spec.key_prefix}*"]}}),
        allow("ReadJobScript", ["s3:GetObject"], list(script_arns)),
        allow("WriteOutputPrefixes", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                      "s3:AbortMultipartUpload"],
              [s3_arn(output_bucket, f"{p}*") for p in prefixes]),
        allow("ListOutputPrefixes", ["s3:ListBucket"], [s3_arn(output_bucket)],
              Condition={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}),
        allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
              [pulumi.Output.concat(arn, ":*") for arn in log_group_arns]),
        # PutMetricData has no resource-level permissions in IAM: "*" is the only valid Resource.
        # The namespace condition limits it to Glue's own metrics (--enable-metrics).
        allow("PublishGlueMetrics", ["cloudwatch:PutMetricData"], ["*"],
              Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}}),
        # fencing: claim the lease, then commit each file only while the claim is the run's own; the items of
        # the table only (no index: the job reads nothing it would need a GSI for)
        allow("ClaimLeaseAndCommitFiles", JOB_LEDGER_ACTIONS, [ledger_table_arn]),
    ]
    if spec.bucket_kms_key_arn:
        statements.append(allow("UseBucketKey", ["kms:Decrypt", "kms:GenerateDataKey"], [spec.bucket_kms_key_arn]))
    return statements
