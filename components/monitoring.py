"""What operators watch: dead files, every DLQ, the wake-up backlog's age, Lambda errors, Glue failures.

"A file is dead" is alarmed from the ledger, not from a queue: the reconciler publishes the count of DEAD
files (``DeadFiles`` in the pipeline's namespace, one dimension: the ledger table) on every pass, so the
alarm stays in ALARM for as long as a file is dead, however long that is; a queue's depth drops when its
retention deletes the message (F6). The dead-files queue's depth is alarmed too, as the inbox it is.

Glue publishes no "failed runs" metric, so failures are counted the way the
AWS CDK's ``Job.metricFailure`` does it: a rule matching this job's FAILED,
TIMEOUT and ERROR state changes, and the ``AWS/Events TriggeredRules`` metric
of that rule. Alarms go to the stack's SNS topic: an existing one by ARN, or
one created here when only an e-mail address is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child, region
from landing_pipeline.components.completion_path import job_state_pattern
from landing_pipeline.runtime.contract import (
    DEAD_FILES_METRIC,
    GLUE_ALARM_STATES,
    METRICS_NAMESPACE,
    PIPELINE_DIMENSION,
    pipeline_dimensions,
)
from landing_pipeline.runtime.spec import PipelineSpec


@dataclass(frozen=True)
class Watched:
    """Names of what the monitoring watches (Outputs of the other components)."""

    queues: Mapping[str, pulumi.Input[str]]
    """Label -> queue name, for every queue (main queues and DLQs)."""
    dlqs: Mapping[str, pulumi.Input[str]]
    """Label -> DLQ name."""
    ordered_queue: pulumi.Input[str]
    dead_files_queue: pulumi.Input[str]
    functions: Mapping[str, pulumi.Input[str]]
    """Label -> Lambda function name."""
    job_name: pulumi.Input[str]
    ledger_table: pulumi.Input[str]
    """The ledger table's name: the dimension of the pipeline's own metrics."""


class Monitoring(pulumi.ComponentResource):
    """CloudWatch alarms, an optional SNS topic, and a dashboard."""

    dashboard_name: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, watched: Watched, dashboard_name: str,
                 tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Monitoring", name, None, opts)
        failure_rule = None
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        """Suffix (``ordered-dlq-depth``, ``router-errors``, ``glue-failures``, ...) -> alarm; empty without alarms."""
        self.alarm_topic: aws.sns.Topic | None = None
        """The topic created for ``alarm_email``; None when an existing topic ARN is used or there is none."""
        self.dashboard: aws.cloudwatch.Dashboard | None = None
        if spec.enable_alarms or spec.enable_dashboard:
            failure_rule = aws.cloudwatch.EventRule(
                f"{name}-glue-failures", description="Failed, timed-out and errored runs of the ingest job "
                "(counted by the AWS/Events TriggeredRules metric)",
                event_pattern=pulumi.Output.from_input(watched.job_name).apply(
                    lambda job: json.dumps(job_state_pattern(job, GLUE_ALARM_STATES))),
                tags=dict(tags), opts=child(self))
        topic_arn: pulumi.Input[str] = spec.alarm_topic_arn
        if spec.enable_alarms and not spec.alarm_topic_arn and spec.alarm_email:
            topic = aws.sns.Topic(f"{name}-alarms", tags=dict(tags), opts=child(self))
            aws.sns.TopicSubscription(f"{name}-alarm-email", topic=topic.arn, protocol="email",
                                      endpoint=spec.alarm_email, opts=child(self))
            topic_arn = topic.arn
            self.alarm_topic = topic
        if spec.enable_alarms:
            assert failure_rule is not None
            self._alarms(name, spec, watched, failure_rule.name, topic_arn, tags)
        self.dashboard_name = pulumi.Output.from_input("")
        if spec.enable_dashboard:
            assert failure_rule is not None
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard", dashboard_name=dashboard_name,
                dashboard_body=pulumi.Output.all(region(), watched.ordered_queue, dict(watched.queues),
                                                 dict(watched.dlqs), dict(watched.functions), watched.job_name,
                                                 failure_rule.name, watched.ledger_table, watched.dead_files_queue
                                                 ).apply(lambda a: json.dumps(dashboard_body(*a))),
                opts=child(self))
            self.dashboard = dashboard
            self.dashboard_name = dashboard.dashboard_name
        self.failure_rule: aws.cloudwatch.EventRule | None = failure_rule
        """Matches this job's failed runs; its ``TriggeredRules`` metric counts them (None: no alarms, no dashboard)."""
        self.alarm_topic_arn = pulumi.Output.from_input(topic_arn)
        self.register_outputs({"dashboard_name": self.dashboard_name, "alarm_topic_arn": self.alarm_topic_arn})

    def _alarms(self, name: str, spec: PipelineSpec, watched: Watched, failure_rule: pulumi.Input[str],
                topic_arn: pulumi.Input[str], tags: Mapping[str, str]) -> None:
        actions = [topic_arn] if topic_arn else []

        def alarm(suffix: str, description: str, namespace: str, metric: str, dimensions: Mapping[str, Any],
                  statistic: str, threshold: float, comparison: str = "GreaterThanThreshold",
                  period: int = 60, missing: str = "notBreaching") -> None:
            self.alarms[suffix] = aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}", alarm_description=description, namespace=namespace, metric_name=metric,
                dimensions=dict(dimensions), statistic=statistic, period=period, evaluation_periods=1,
                threshold=threshold, comparison_operator=comparison, treat_missing_data=missing,
                alarm_actions=actions, ok_actions=actions, tags=dict(tags), opts=child(self))

        alarm("dead-files", "A file is DEAD (counted from the ledger by the reconciler), or the reconciler has "
              f"published no count for {2 * spec.reconcile_minutes} minutes: `landing status`, then "
              "`landing redrive` or `landing skip`", METRICS_NAMESPACE, DEAD_FILES_METRIC,
              {PIPELINE_DIMENSION: watched.ledger_table}, "Maximum", 0,
              period=dead_files_period_s(spec), missing="breaching")
        alarm("dead-files-queue-depth", "Announcements of dead files wait in the dead-files queue: read them "
              "(landing status), then redrive or skip the files and delete the messages", "AWS/SQS",
              "ApproximateNumberOfMessagesVisible", {"QueueName": watched.dead_files_queue}, "Maximum",
              spec.dlq_depth_alarm_threshold)

        for label, queue in watched.dlqs.items():
            what = ("wake-ups the dispatcher failed on again and again (poison messages)" if label == "ordered-dlq"
                    else "messages parked in the " + label.replace("-", " "))
            alarm(f"{label}-depth", f"{what[:1].upper()}{what[1:]}: inspect them (the function's logs), fix the "
                  "cause, then redrive them", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue},
                  "Maximum", spec.dlq_depth_alarm_threshold)
        alarm("ordered-oldest-message", "The oldest wake-up in the ordered queue is older than "
              f"{spec.oldest_message_alarm_s} s: the dispatcher is not taking them (errors, throttling)", "AWS/SQS",
              "ApproximateAgeOfOldestMessage", {"QueueName": watched.ordered_queue}, "Maximum",
              spec.oldest_message_alarm_s, period=300)
        for label, function in watched.functions.items():
            alarm(f"{label}-errors", f"The {label} Lambda function failed (unhandled errors)", "AWS/Lambda",
                  "Errors", {"FunctionName": function}, "Sum", 0, period=300)
        alarm("glue-failures", "A run of the ingest job failed, timed out or errored (it will be retried up to "
              f"{spec.max_attempts} attempts)", "AWS/Events", "TriggeredRules", {"RuleName": failure_rule},
              "Sum", 1, comparison="GreaterThanOrEqualToThreshold", period=300)


def dead_files_period_s(spec: PipelineSpec) -> int:
    """Two reconciler intervals, so every period holds at least one pass's count even when a pass runs late;
    CloudWatch allows at most a day (why ``reconcileMinutes`` stops at 720)."""
    return min(2 * 60 * spec.reconcile_minutes, 24 * 3600)


def dashboard_name_for(project: str, stack: str, name: str) -> str:
    """CloudWatch dashboard names allow letters, digits, '-' and '_' only."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}-{name}")[:255]


def dashboard_body(region_name: str, ordered_queue: str, queues: Mapping[str, str], dlqs: Mapping[str, str],
                   functions: Mapping[str, str], job_name: str, failure_rule: str, ledger_table: str = "",
                   dead_files_queue: str = "") -> dict[str, Any]:
    """Backlog, wake-ups in flight, DLQ depth, oldest message, run durations, errors, dead files."""

    def widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Maximum") -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "region": region_name, "stat": stat, "period": 60,
                               "view": "timeSeries", "metrics": metrics}}

    sqs = "AWS/SQS"
    return {"widgets": [
        widget("Backlog: files waiting (visible messages)",
               [[sqs, "ApproximateNumberOfMessagesVisible", "QueueName", q, {"label": label}]
                for label, q in queues.items() if label not in dlqs], 0, 0),
        widget("Wake-ups being handled (ordered queue, in flight)",
               [[sqs, "ApproximateNumberOfMessagesNotVisible", "QueueName", ordered_queue,
                 {"label": "ordered queue"}]], 12, 0),
        widget("DLQ depth", [[sqs, "ApproximateNumberOfMessagesVisible", "QueueName", q, {"label": label}]
                             for label, q in dlqs.items()], 0, 6),
        widget("Age of the oldest ordered message (s)",
               [[sqs, "ApproximateAgeOfOldestMessage", "QueueName", ordered_queue]], 12, 6),
        widget("Glue run duration (ms)",
               [["Glue", "glue.driver.aggregate.elapsedTime", "JobName", job_name, "JobRunId", "ALL", "Type",
                 "count"]], 0, 12, stat="Average"),
        widget("Failed runs and Lambda errors",
               [["AWS/Events", "TriggeredRules", "RuleName", failure_rule, {"label": "failed Glue runs"}]]
               + [["AWS/Lambda", "Errors", "FunctionName", f, {"label": f"{label} errors"}]
                  for label, f in functions.items()], 12, 12, stat="Sum"),
        widget("Dead files (ledger count, published by the reconciler)",
               [[METRICS_NAMESPACE, DEAD_FILES_METRIC, *sum(pipeline_dimensions(ledger_table).items(), ()),
                 {"label": "dead files"}],
                [sqs, "ApproximateNumberOfMessagesVisible", "QueueName", dead_files_queue,
                 {"label": "dead-files queue"}]], 0, 18),
    ]}
