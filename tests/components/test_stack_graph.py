"""The full resource graph `pulumi up` would create for the dev and prod stacks."""

from __future__ import annotations

from collections import Counter

from landing_pipeline.components.program_runner import ProgramRun
from landing_pipeline.runtime.spec import PipelineSpec
from tests.components.conftest import plan

S3 = "aws:s3/"
SECURE_BUCKET = Counter({
    "aws:s3/bucket:Bucket": 1, "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1, "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1, "aws:s3/bucketPolicy:BucketPolicy": 1})
RULE_FED_QUEUE = Counter({
    "aws:sqs/queue:Queue": 2, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": 1,
    "aws:cloudwatch/eventRule:EventRule": 1, "aws:sqs/queuePolicy:QueuePolicy": 2,
    "aws:cloudwatch/eventTarget:EventTarget": 1})
QUEUE_FUNCTION = Counter({
    "aws:cloudwatch/logGroup:LogGroup": 1, "aws:iam/role:Role": 1, "aws:iam/rolePolicy:RolePolicy": 1,
    "aws:lambda/function:Function": 1, "aws:lambda/eventSourceMapping:EventSourceMapping": 1})

EXPECTED_CHILDREN = {
    "landing:index:IngestionPipeline": Counter({
        "landing:index:LandingBucket": 1, "landing:index:SecureBucket": 1, "landing:index:Intake": 1,
        "landing:index:OrderedQueue": 1, "landing:index:Ledger": 1, "landing:index:ProcessingJob": 1,
        "landing:index:CompletionPath": 1, "landing:index:PipelineFunctions": 1, "landing:index:Monitoring": 1,
        "landing:index:DeadFilesQueue": 1, "landing:index:FeedCatalog": 1}),
    "landing:index:LandingBucket": Counter({"landing:index:SecureBucket": 1,
                                            "aws:s3/bucketNotification:BucketNotification": 1}),
    "landing:index:SecureBucket": SECURE_BUCKET,
    "landing:index:Intake": RULE_FED_QUEUE,
    "landing:index:CompletionPath": RULE_FED_QUEUE,
    "landing:index:OrderedQueue": Counter({"aws:sqs/queue:Queue": 2, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": 1,
                                           "aws:sqs/queuePolicy:QueuePolicy": 2}),
    "landing:index:Ledger": Counter({"aws:dynamodb/table:Table": 1}),
    "landing:index:ProcessingJob": Counter({"aws:s3/bucketObjectv2:BucketObjectv2": 2,
                                            "aws:cloudwatch/logGroup:LogGroup": 2, "aws:iam/role:Role": 1,
                                            "aws:iam/rolePolicy:RolePolicy": 1, "aws:glue/job:Job": 1}),
    "landing:index:DeadFilesQueue": Counter({"aws:sqs/queue:Queue": 1, "aws:sqs/queuePolicy:QueuePolicy": 1}),
    "landing:index:PipelineFunctions": Counter({"landing:index:QueueFunction": 3, "landing:index:Reconciler": 1}),
    "landing:index:QueueFunction": QUEUE_FUNCTION,
    "landing:index:Reconciler": Counter({
        "aws:cloudwatch/logGroup:LogGroup": 1, "aws:iam/role:Role": 2, "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:lambda/function:Function": 1, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 1,
        "aws:scheduler/schedule:Schedule": 1}),
    "landing:index:Monitoring": Counter({"aws:cloudwatch/eventRule:EventRule": 1,
                                         "aws:cloudwatch/metricAlarm:MetricAlarm": 11,
                                         "aws:cloudwatch/dashboard:Dashboard": 1}),
}


def child_types(run: ProgramRun, urn: str) -> Counter[str]:
    return Counter(r.type for r in run.children_of(urn))


def test_every_component_has_exactly_its_expected_children(run: ProgramRun, spec: PipelineSpec) -> None:
    # with feeds (both stacks have them): one database, and a table per feed plus one per merging feed's snapshot
    assert spec.feeds
    tables = len(spec.feeds) + sum(1 for f in spec.feeds if f.merge_keys)
    expected = {**EXPECTED_CHILDREN, "landing:index:FeedCatalog": Counter({
        "aws:glue/catalogDatabase:CatalogDatabase": 1, "aws:glue/catalogTable:CatalogTable": tables})}
    components = [r for r in run.resources if not r.custom]
    assert {r.type for r in components} == set(expected)
    for component in components:
        assert child_types(run, component.urn) == expected[component.type], component.name
    custom = [r for r in run.resources if r.custom]
    # 2 buckets x 7, notification, 2 rule-fed queues x 7, ordered 5, table, job 7, 3 functions x 5,
    # reconciler 8, dead-files queue 2, monitoring 13, catalog: every custom resource sits in a component.
    assert len(custom) == 14 + 1 + 14 + 5 + 1 + 7 + 15 + 8 + 2 + 13 + 1 + tables


def test_one_pipeline_at_the_root_and_every_resource_parented_under_it(run: ProgramRun) -> None:
    roots = [r for r in run.resources if r.parent is None]
    assert [(r.type, r.name) for r in roots] == [("landing:index:IngestionPipeline", "ingest")]
    by_urn = {r.urn: r for r in run.resources}
    for record in run.resources:
        if record.parent_urn is None:
            continue
        parent = by_urn[record.parent_urn]
        assert not parent.custom, f"{record.name} is parented to a custom resource"
        assert record.name.startswith(parent.name), f"{record.name} not named after its component {parent.name}"


def test_the_stack_exports_every_name_users_need(run: ProgramRun) -> None:
    exports = run.exports
    for key in ("landing_bucket_name", "output_bucket_name", "intake_queue_url", "intake_queue_arn",
                "intake_dlq_url", "ordered_queue_url", "ordered_queue_arn", "ordered_dlq_url",
                "completion_queue_url", "completion_queue_arn", "completion_dlq_url", "job_name",
                "ledger_table_name", "dashboard_name", "router_function_name", "dispatcher_function_name",
                "completion_function_name", "reconciler_function_name", "reconciler_schedule_name",
                "dead_files_queue_url", "dead_files_queue_arn"):
        assert exports[key], key
    queues = {r.outputs["url"]: r for r in run.of_type("aws:sqs/queue:Queue")}
    assert queues[exports["ordered_queue_url"]].inputs["fifoQueue"] is True
    assert queues[exports["ordered_dlq_url"]].name == "ingest-ordered-dlq"
    assert run.find("aws:glue/job:Job").outputs["name"] == exports["job_name"]
    assert run.find("aws:dynamodb/table:Table").outputs["name"] == exports["ledger_table_name"]
    assert run.find("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardName"] == exports["dashboard_name"]


def test_prod_alarms_go_to_the_existing_oncall_topic_and_dev_has_no_topic() -> None:
    prod, dev = plan("prod"), plan("dev")
    oncall = "arn:aws:sns:eu-west-1:123456789012:data-platform-oncall"
    assert prod.exports["alarm_topic_arn"] == oncall
    assert all(a.inputs["alarmActions"] == [oncall] for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert not prod.of_type("aws:sns/topic:Topic") and not dev.of_type("aws:sns/topic:Topic")
    assert all(not a.inputs.get("alarmActions") for a in dev.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))


def test_an_alarm_email_without_a_topic_creates_a_topic_and_subscribes_it() -> None:
    run = plan("dev", alarmEmail="oncall@example.com")
    topic = run.find("aws:sns/topic:Topic")
    subscription = run.find("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["protocol"] == "email" and subscription.inputs["endpoint"] == "oncall@example.com"
    assert subscription.inputs["topic"] == topic.outputs["arn"] == run.exports["alarm_topic_arn"]


def test_alarms_and_dashboard_can_be_turned_off() -> None:
    run = plan("dev", enableAlarms=False, enableDashboard=False)
    monitoring = run.find("landing:index:Monitoring")
    assert run.children_of(monitoring.urn) == []
    assert run.exports["dashboard_name"] == ""
    only_dashboard = plan("dev", enableAlarms=False)
    assert not only_dashboard.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert only_dashboard.find("aws:cloudwatch/dashboard:Dashboard")
