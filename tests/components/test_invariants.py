"""Every invariant the design depends on, asserted on the inputs the program would send to AWS."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from landing_pipeline.components.code_archive import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_CACHE_TAG,
    LAMBDA_RUNTIME,
    archive_files,
    bytecode_name,
)
from landing_pipeline.components.program_runner import ProgramRun, ResourceRecord
from landing_pipeline.runtime.spec import SQS_MAX_VISIBILITY_S, PipelineSpec, to_env
from tests.components.conftest import as_list, plan, statements

QUEUE = "aws:sqs/queue:Queue"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"


def queue(run: ProgramRun, name: str) -> ResourceRecord:
    return run.find(QUEUE, name)


def redrive(record: ResourceRecord) -> dict[str, object]:
    return dict(json.loads(record.inputs["redrivePolicy"]))


def mapping_of(run: ProgramRun, function: str) -> ResourceRecord:
    return run.find(MAPPING, f"ingest-functions-{function}-trigger")


# --- ordered queue ---------------------------------------------------------------------------------


def test_ordered_queue_is_fifo_with_content_based_dedup_and_a_fifo_dlq(run: ProgramRun) -> None:
    ordered, dlq = queue(run, "ingest-ordered-queue"), queue(run, "ingest-ordered-dlq")
    assert ordered.inputs["fifoQueue"] is True and ordered.inputs["contentBasedDeduplication"] is True
    assert dlq.inputs["fifoQueue"] is True  # a FIFO queue's DLQ must be FIFO
    assert redrive(ordered)["deadLetterTargetArn"] == dlq.outputs["arn"]
    assert dlq.outputs["name"].endswith(".fifo") and ordered.outputs["name"].endswith(".fifo")


def test_max_receive_count_is_the_receive_ceiling_above_max_attempts(run: ProgramRun, spec: PipelineSpec) -> None:
    count = redrive(queue(run, "ingest-ordered-queue"))["maxReceiveCount"]
    assert count == spec.receive_ceiling
    assert isinstance(count, int) and count > spec.max_attempts


def test_explicit_max_receives_is_used_as_is() -> None:
    assert redrive(queue(plan("dev", maxReceives=40), "ingest-ordered-queue"))["maxReceiveCount"] == 40


def test_visibility_timeouts_are_six_times_the_consuming_function_timeout(run: ProgramRun, spec: PipelineSpec) -> None:
    for queue_name, timeout in (("ingest-ordered-queue", spec.dispatcher_timeout_s),
                                ("ingest-intake-queue", spec.router_timeout_s),
                                ("ingest-completion-queue", spec.completion_timeout_s)):
        visibility = queue(run, queue_name).inputs["visibilityTimeoutSeconds"]
        assert visibility == 6 * timeout, queue_name


def test_the_hold_fits_in_sqs_twelve_hours_and_the_job_ends_before_it(run: ProgramRun, spec: PipelineSpec) -> None:
    job = run.find("aws:glue/job:Job")
    assert job.inputs["timeout"] == spec.job_timeout_minutes
    assert job.inputs["timeout"] * 60 + spec.hold_margin_s == spec.hold_visibility_s <= SQS_MAX_VISIBILITY_S
    env = run.find("aws:lambda/function:Function", "ingest-functions-dispatcher-fn").inputs["environment"]
    assert env["variables"]["LANDING_JOB_TIMEOUT_MINUTES"] == str(job.inputs["timeout"])


# --- triggers --------------------------------------------------------------------------------------


def test_dispatcher_trigger_batch_size_one_partial_batch_and_concurrency(run: ProgramRun, spec: PipelineSpec) -> None:
    mapping = mapping_of(run, "dispatcher")
    assert mapping.inputs["batchSize"] == 1
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["scalingConfig"]["maximumConcurrency"] == max(2, spec.max_parallel_groups)
    assert mapping.inputs["eventSourceArn"] == queue(run, "ingest-ordered-queue").outputs["arn"]


def test_dispatcher_concurrency_never_goes_below_the_aws_minimum_of_two() -> None:
    run = plan("dev", maxParallelGroups=1)
    assert mapping_of(run, "dispatcher").inputs["scalingConfig"]["maximumConcurrency"] == 2
    assert run.find("aws:glue/job:Job").inputs["executionProperty"]["maxConcurrentRuns"] == 1


@pytest.mark.parametrize("function, source", [("router", "ingest-intake-queue"),
                                              ("completion", "ingest-completion-queue")])
def test_router_and_completion_report_partial_batch_failures(run: ProgramRun, function: str, source: str) -> None:
    mapping = mapping_of(run, function)
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["batchSize"] == 10
    assert mapping.inputs["eventSourceArn"] == queue(run, source).outputs["arn"]


# --- processing job --------------------------------------------------------------------------------


def test_glue_job_settings_come_from_the_spec(run: ProgramRun, spec: PipelineSpec) -> None:
    job = run.find("aws:glue/job:Job").inputs
    assert job["executionProperty"]["maxConcurrentRuns"] == spec.max_parallel_groups
    assert (job["glueVersion"], job["command"]["name"]) == ("5.0", "glueetl")
    assert (job["workerType"], job["numberOfWorkers"]) == (spec.worker_type, spec.worker_count)
    assert job["maxRetries"] == 0  # retries are attempts the ledger counts, not Glue's
    args = job["defaultArguments"]
    assert args["--enable-metrics"] == "true" and args["--enable-continuous-cloudwatch-log"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    script = run.find("aws:s3/bucketObjectv2:BucketObjectv2", "ingest-processing-script")
    assert script.inputs["key"] == "scripts/ingest_job.py"
    assert script.inputs["source"]["path"].endswith("runtime/jobs/ingest_job.py")
    output_bucket = run.find("aws:s3/bucket:Bucket", "ingest-output").outputs["bucket"]
    assert job["command"]["scriptLocation"] == f"s3://{output_bucket}/scripts/ingest_job.py"


def test_the_job_gets_the_runtime_package_it_imports(run: ProgramRun) -> None:
    """The script imports runtime.jobs.*: without --extra-py-files every Glue run would fail at import."""
    library = run.find("aws:s3/bucketObjectv2:BucketObjectv2", "ingest-processing-library")
    assert library.inputs["key"] == "scripts/landing_runtime.zip"
    members = set(library.inputs["source"]["assets"])
    assert {"landing_pipeline/__init__.py", "landing_pipeline/runtime/__init__.py", "landing_pipeline/runtime/spec.py",
            "landing_pipeline/runtime/jobs/ingest_job.py", "landing_pipeline/runtime/jobs/schema.py"} <= members
    assert not any("__pycache__" in m or "/tests/" in m for m in members)
    output_bucket = run.find("aws:s3/bucket:Bucket", "ingest-output").outputs["bucket"]
    job = run.find("aws:glue/job:Job").inputs
    assert job["defaultArguments"]["--extra-py-files"] == f"s3://{output_bucket}/scripts/landing_runtime.zip"


def test_a_users_own_script_is_not_uploaded_and_only_it_is_readable() -> None:
    run = plan("dev", scriptLocation="s3://my-scripts/jobs/custom.py")
    assert not run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert run.find("aws:glue/job:Job").inputs["command"]["scriptLocation"] == "s3://my-scripts/jobs/custom.py"
    read = [s for s in statements(run.find("aws:iam/rolePolicy:RolePolicy", "ingest-processing-role-policy"))
            if s["Sid"] == "ReadJobScript"]
    assert read[0]["Resource"] == ["arn:aws:s3:::my-scripts/jobs/custom.py"]


# --- encryption, TLS, public access --------------------------------------------------------------


def test_every_queue_is_encrypted_with_sse_sqs(run: ProgramRun) -> None:
    queues = run.of_type(QUEUE)
    assert len(queues) == 7 and all(q.inputs["sqsManagedSseEnabled"] is True for q in queues)


def test_buckets_are_encrypted_versioned_private_and_tls_only(run: ProgramRun) -> None:
    for bucket in run.of_type("aws:s3/bucket:Bucket"):
        name, component = bucket.outputs["bucket"], bucket.parent
        parts = {r.type.rsplit(":", 1)[-1]: r for r in run.resources if r.parent == component and r.custom}
        assert parts["BucketServerSideEncryptionConfiguration"].inputs["rules"][0][
            "applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        assert parts["BucketVersioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
        block = parts["BucketPublicAccessBlock"].inputs
        assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                              "restrictPublicBuckets"))
        (deny,) = [s for s in statements(parts["BucketPolicy"]) if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == "*"
        assert sorted(deny["Resource"]) == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        assert all(r.inputs["bucket"] == name for r in parts.values() if r.type != "aws:s3/bucket:Bucket")


def test_a_customer_kms_key_switches_buckets_to_sse_kms_and_the_job_may_use_it() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"
    run = plan("dev", bucketKmsKeyArn=key)
    for config in run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"):
        rule = config.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
        assert rule["bucketKeyEnabled"] is True
    job_statements = statements(run.find("aws:iam/rolePolicy:RolePolicy", "ingest-processing-role-policy"))
    assert {"Sid": "UseBucketKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key]} in job_statements


def test_queue_policies_deny_insecure_transport(run: ProgramRun) -> None:
    policies = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == 7
    for policy_record in policies:
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements(policy_record))


def test_ledger_is_on_demand_recoverable_encrypted_with_the_v2_key_schema_and_indexes(run: ProgramRun) -> None:
    table = run.find("aws:dynamodb/table:Table").inputs
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert (table["hashKey"], table["rangeKey"]) == ("pk", "sk")  # a group's items in one partition, in order
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"]["enabled"] is True
    indexes = {index["name"]: index for index in table["globalSecondaryIndexes"]}
    assert set(indexes) == {"by_check", "by_group_files"}
    check = indexes["by_check"]
    assert (check["hashKey"], check["rangeKey"]) == ("check_pool", "next_check_at")
    # all the reconciler reads from the hint: which group; the group itself is re-read strongly
    assert check["projectionType"] == "INCLUDE" and check["nonKeyAttributes"] == ["group"]
    history = indexes["by_group_files"]
    assert (history["hashKey"], history["rangeKey"], history["projectionType"]) == ("group", "sort_key", "ALL")
    assert {a["name"]: a["type"] for a in table["attributes"]} == {
        "pk": "S", "sk": "S", "check_pool": "S", "next_check_at": "N", "group": "S", "sort_key": "S"}


def test_landed_objects_expire_only_when_asked(run: ProgramRun, spec: PipelineSpec) -> None:
    lifecycle = run.find("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                         "ingest-landing-bucket-lifecycle").inputs["rules"]
    expiring = [r for r in lifecycle if "expiration" in r]
    if spec.landed_object_expiration_days:
        (rule,) = expiring
        assert rule["expiration"]["days"] == spec.landed_object_expiration_days
        assert rule["filter"]["prefix"] == spec.key_prefix
    else:
        assert expiring == []
    output = run.find("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ingest-output-lifecycle")
    assert all("expiration" not in r for r in output.inputs["rules"])  # processed output is never expired


# --- logs ------------------------------------------------------------------------------------------


def test_every_log_group_has_the_stack_retention_and_each_function_logs_to_its_own(run: ProgramRun,
                                                                                   spec: PipelineSpec) -> None:
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 6 and all(g.inputs["retentionInDays"] == spec.log_retention_days for g in groups)
    used = set()
    for function in run.of_type("aws:lambda/function:Function"):
        group = function.inputs["loggingConfig"]["logGroup"]
        (own,) = [g for g in groups if g.outputs["name"] == group and g.parent == function.parent]
        used.add(own.name)
    assert len(used) == 4  # router, dispatcher, completion, reconciler
    prefix = run.find("aws:glue/job:Job").inputs["defaultArguments"]["--custom-logGroup-prefix"]
    assert {g.outputs["name"] for g in groups if g.parent == "ingest-processing"} == {f"{prefix}/error",
                                                                                       f"{prefix}/output"}


# --- functions -------------------------------------------------------------------------------------


def test_functions_pin_runtime_architecture_powertools_layer_and_the_environment(run: ProgramRun,
                                                                                 spec: PipelineSpec) -> None:
    expected_env = to_env(spec)
    resource_env = {"LANDING_ORDERED_QUEUE_URL": run.exports["ordered_queue_url"],
                    "LANDING_ORDERED_DLQ_URL": run.exports["ordered_dlq_url"],
                    "LANDING_INTAKE_DLQ_URL": run.exports["intake_dlq_url"],
                    "LANDING_LEDGER_TABLE": run.exports["ledger_table_name"],
                    "LANDING_JOB_NAME": run.exports["job_name"],
                    "LANDING_OUTPUT_BUCKET": run.exports["output_bucket_name"],
                    "LANDING_DEAD_FILES_QUEUE_URL": run.exports["dead_files_queue_url"],
                    "POWERTOOLS_SERVICE_NAME": "landing-pipeline", "POWERTOOLS_METRICS_NAMESPACE": "LandingPipeline"}
    if spec.feeds:   # where the feeds' tables are: completion and the reconciler register partitions there
        resource_env["LANDING_CATALOG_DATABASE"] = run.exports["catalog_database_name"]
    handlers = set()
    for function in run.of_type("aws:lambda/function:Function"):
        inputs = function.inputs
        assert inputs["runtime"] == LAMBDA_RUNTIME == "python3.11"
        assert inputs["architectures"] == [LAMBDA_ARCHITECTURE] == ["arm64"]
        (layer,) = inputs["layers"]
        assert layer.startswith("arn:aws:lambda:eu-west-1:017000801446:layer:"
                                "AWSLambdaPowertoolsPythonV3-python311-arm64:")
        assert inputs["environment"]["variables"] == {**expected_env, **resource_env}
        handlers.add(inputs["handler"])
        assert inputs["memorySize"] == spec.lambda_memory_mb
    assert handlers == {f"landing_pipeline.runtime.{name}.handler"
                        for name in ("router", "dispatcher", "completion", "reconciler")}


def test_code_archive_is_the_runtime_package_without_the_glue_job_tests_or_caches(run: ProgramRun) -> None:
    archive = run.find("aws:lambda/function:Function", "ingest-functions-router-fn").inputs["code"]
    names = set(archive["assets"])
    assert "landing_pipeline/runtime/__init__.py" in names and "landing_pipeline/runtime/spec.py" in names
    sources = {"landing_pipeline/__init__.py", *archive_files()}
    assert names == sources | {bytecode_name(name) for name in archive_files()}  # each module's bytecode, no more
    assert all(n.startswith("landing_pipeline/") and n.endswith((".py", f".{LAMBDA_CACHE_TAG}.pyc")) for n in names)
    assert not any(n.startswith("landing_pipeline/runtime/jobs/") or "/test_" in n for n in names)
    for module in ("router", "dispatcher", "completion", "reconciler"):  # the handlers the functions name
        assert f"landing_pipeline/runtime/{module}.py" in names


# --- events ----------------------------------------------------------------------------------------


def test_intake_rule_matches_this_bucket_prefix_and_suffixes(run: ProgramRun, spec: PipelineSpec) -> None:
    pattern = json.loads(run.find("aws:cloudwatch/eventRule:EventRule", "ingest-intake-rule").inputs["eventPattern"])
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [run.exports["landing_bucket_name"]]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": f"{spec.key_prefix}*{s}"} for s in spec.key_suffixes]


def test_completion_rule_matches_only_this_jobs_final_states(run: ProgramRun) -> None:
    rule = run.find("aws:cloudwatch/eventRule:EventRule", "ingest-completion-rule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern == {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
                       "detail": {"jobName": [run.exports["job_name"]],
                                  "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"]}}
    target = run.find("aws:cloudwatch/eventTarget:EventTarget", "ingest-completion-target").inputs
    assert target["arn"] == run.exports["completion_queue_arn"]


def test_only_the_own_rule_may_send_to_each_event_queue(run: ProgramRun) -> None:
    for prefix in ("ingest-intake", "ingest-completion"):
        rule_arn = run.find("aws:cloudwatch/eventRule:EventRule", f"{prefix}-rule").outputs["arn"]
        for target in ("queue", "dlq"):
            (allow,) = [s for s in statements(run.find("aws:sqs/queuePolicy:QueuePolicy", f"{prefix}-{target}-policy"))
                        if s["Effect"] == "Allow"]
            assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
            assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
            assert as_list(allow["Resource"]) == [queue(run, f"{prefix}-{target}").outputs["arn"]]
        event_target = run.find("aws:cloudwatch/eventTarget:EventTarget", f"{prefix}-target").inputs
        assert event_target["deadLetterConfig"]["arn"] == queue(run, f"{prefix}-dlq").outputs["arn"]


# --- monitoring ------------------------------------------------------------------------------------


def test_alarms_cover_every_dlq_the_oldest_message_each_function_and_glue_failures(run: ProgramRun,
                                                                                  spec: PipelineSpec) -> None:
    alarms = {a.name.removeprefix("ingest-monitoring-"): a.inputs
              for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    for dlq in ("intake", "ordered", "completion"):
        alarm = alarms[f"{dlq}-dlq-depth"]
        assert alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["dimensions"] == {"QueueName": queue(run, f"ingest-{dlq}-dlq").outputs["name"]}
        assert alarm["threshold"] == spec.dlq_depth_alarm_threshold
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    oldest = alarms["ordered-oldest-message"]
    assert (oldest["metricName"], oldest["threshold"]) == ("ApproximateAgeOfOldestMessage", spec.oldest_message_alarm_s)
    for function in ("router", "dispatcher", "completion", "reconciler"):
        assert alarms[f"{function}-errors"]["dimensions"] == {
            "FunctionName": run.exports[f"{function}_function_name"]}
    failures = run.find("aws:cloudwatch/eventRule:EventRule", "ingest-monitoring-glue-failures")
    assert alarms["glue-failures"]["dimensions"] == {"RuleName": failures.outputs["name"]}
    assert json.loads(failures.inputs["eventPattern"])["detail"]["state"] == ["FAILED", "TIMEOUT", "ERROR"]


def test_dashboard_shows_backlog_wake_ups_dlq_depth_run_durations_and_dead_files(run: ProgramRun) -> None:
    body = json.loads(run.find("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = " | ".join(w["properties"]["title"] for w in body["widgets"])
    for words in ("Backlog", "Wake-ups", "DLQ depth", "run duration", "Dead files"):
        assert words in titles
    assert all(w["properties"]["region"] == "eu-west-1" for w in body["widgets"])
    metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName",
            queue(run, "ingest-ordered-queue").outputs["name"], {"label": "ordered queue"}] in metrics


# --- tags ------------------------------------------------------------------------------------------


def _resource_class(type_token: str) -> type:
    _, module, name = type_token.split(":")
    module_name = module.split("/")[0]
    module_name = {"lambda": "lambda_"}.get(module_name, module_name)
    return getattr(importlib.import_module(f"pulumi_aws.{module_name}"), name)  # type: ignore[no-any-return]


def test_every_taggable_resource_carries_the_stack_tags(run: ProgramRun, spec: PipelineSpec) -> None:
    assert spec.tag_map  # both stacks declare tags
    taggable = 0
    for record in run.resources:
        if not record.custom:
            continue
        accepts_tags = "tags" in inspect.signature(_resource_class(record.type)._internal_init).parameters
        if accepts_tags:
            taggable += 1
            assert record.inputs.get("tags") == spec.tag_map, f"{record.type} {record.name} is not tagged"
    assert taggable >= 25
