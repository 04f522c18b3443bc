"""The reconciler's schedule, function and roles, the dead-files queue and the alarms that say a file is dead."""

from __future__ import annotations

import json

import pytest

from landing_pipeline.components.program_runner import ProgramRun
from landing_pipeline.components.reconciler import rate_expression
from landing_pipeline.runtime.contract import RECONCILER_HANDLER
from landing_pipeline.runtime.spec import PipelineSpec
from tests.components.conftest import plan, statements

SCHEDULE = "aws:scheduler/schedule:Schedule"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PREFIX = "ingest-functions-reconciler"


def reconciler_fn(run: ProgramRun) -> dict[str, object]:
    return run.find(FUNCTION, f"{PREFIX}-fn").outputs


def alarms(run: ProgramRun) -> dict[str, dict[str, object]]:
    return {a.name.removeprefix("ingest-monitoring-"): a.inputs for a in run.of_type(ALARM)}


# --- the schedule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "expression"), [(1, "rate(1 minute)"), (5, "rate(5 minutes)"),
                                                     (720, "rate(720 minutes)")])
def test_rate_is_singular_for_one_minute_and_plural_above(minutes: int, expression: str) -> None:
    assert rate_expression(minutes) == expression


@pytest.mark.parametrize("minutes", [1, 5, 30])
def test_schedule_runs_every_reconcile_minutes_with_no_flexible_window(minutes: int) -> None:
    run = plan("dev", reconcileMinutes=minutes)
    schedule = run.find(SCHEDULE).inputs
    assert schedule["scheduleExpression"] == rate_expression(minutes)
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["state"] == "ENABLED"
    target = schedule["target"]
    assert target["arn"] == reconciler_fn(run)["arn"]
    # a retry never outlives the interval: the next pass does the same work
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": max(60, 60 * minutes), "maximumRetryAttempts": 2}
    assert json.loads(target["input"])["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    invoke = run.find("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs
    assert invoke["functionName"] == reconciler_fn(run)["name"]
    assert invoke["maximumEventAgeInSeconds"] == max(60, 60 * minutes) and invoke["maximumRetryAttempts"] == 2


def test_the_scheduler_role_may_only_invoke_the_reconciler_for_this_account(run: ProgramRun) -> None:
    role = run.find("aws:iam/role:Role", f"{PREFIX}-scheduler-role")
    assert run.find(SCHEDULE).inputs["target"]["roleArn"] == role.outputs["arn"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                     "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    (grant,) = statements(run.find(ROLE_POLICY, f"{PREFIX}-scheduler-role-policy"))
    assert (grant["Effect"], grant["Action"], grant["Resource"]) == ("Allow", ["lambda:InvokeFunction"],
                                                                     [reconciler_fn(run)["arn"]])


# --- the function ----------------------------------------------------------------------------------


def test_reconciler_function_has_its_handler_timeout_memory_and_own_log_group(run: ProgramRun,
                                                                              spec: PipelineSpec) -> None:
    function = run.find(FUNCTION, f"{PREFIX}-fn")
    assert function.inputs["handler"] == RECONCILER_HANDLER
    assert function.inputs["timeout"] == spec.reconciler_timeout_s == min(300, 60 * spec.reconcile_minutes)
    assert function.inputs["memorySize"] == spec.lambda_memory_mb
    logs = run.find("aws:cloudwatch/logGroup:LogGroup", f"{PREFIX}-logs")
    assert function.inputs["loggingConfig"]["logGroup"] == logs.outputs["name"]
    assert logs.inputs["retentionInDays"] == spec.log_retention_days
    assert function.inputs["role"] == run.find("aws:iam/role:Role", f"{PREFIX}-role").outputs["arn"]
    # no trigger: the schedule is the only way in
    assert all(m.inputs["functionName"] != function.outputs["arn"]
               for m in run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"))


def test_a_one_minute_interval_keeps_a_pass_within_its_minute() -> None:
    assert plan("dev", reconcileMinutes=1).find(FUNCTION, f"{PREFIX}-fn").inputs["timeout"] == 60


# --- the dead-files queue --------------------------------------------------------------------------


def test_dead_files_queue_is_fifo_encrypted_kept_14_days_tls_only_and_never_redriven(run: ProgramRun) -> None:
    queue = run.find("aws:sqs/queue:Queue", "ingest-dead-files-queue")
    assert queue.inputs["fifoQueue"] is True and queue.outputs["name"].endswith(".fifo")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert "redrivePolicy" not in queue.inputs
    (deny,) = statements(run.find("aws:sqs/queuePolicy:QueuePolicy", "ingest-dead-files-queue-policy"))
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [queue.outputs["arn"]]
    assert run.exports["dead_files_queue_url"] == queue.outputs["url"]
    assert run.exports["dead_files_queue_arn"] == queue.outputs["arn"]


# --- alarms ----------------------------------------------------------------------------------------


def test_dead_files_alarm_reads_the_ledger_count_over_two_intervals_and_missing_data_breaches(
        run: ProgramRun, spec: PipelineSpec) -> None:
    alarm = alarms(run)["dead-files"]
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("LandingPipeline", "DeadFiles",
                                                                             "Maximum")
    assert alarm["dimensions"] == {"LedgerTable": run.exports["ledger_table_name"]}
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["period"] == 2 * 60 * spec.reconcile_minutes and alarm["evaluationPeriods"] == 1
    assert alarm["treatMissingData"] == "breaching"  # a reconciler that stopped counting is noticed


def test_dead_files_alarm_period_stays_within_cloudwatchs_day() -> None:
    assert alarms(plan("dev", reconcileMinutes=720))["dead-files"]["period"] == 24 * 3600


def test_dead_files_queue_depth_and_reconciler_errors_are_alarmed(run: ProgramRun, spec: PipelineSpec) -> None:
    found = alarms(run)
    depth = found["dead-files-queue-depth"]
    assert depth["dimensions"] == {"QueueName": run.find("aws:sqs/queue:Queue", "ingest-dead-files-queue")
                                   .outputs["name"]}
    assert (depth["metricName"], depth["threshold"]) == ("ApproximateNumberOfMessagesVisible",
                                                         spec.dlq_depth_alarm_threshold)
    errors = found["reconciler-errors"]
    assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
    assert errors["dimensions"] == {"FunctionName": run.exports["reconciler_function_name"]}


def test_without_alarms_there_are_none_but_the_schedule_stays() -> None:
    run = plan("dev", enableAlarms=False, enableDashboard=False)
    assert run.of_type(ALARM) == []
    assert run.find(SCHEDULE).inputs["state"] == "ENABLED"
