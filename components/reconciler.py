"""The reconciler: a Lambda function that EventBridge Scheduler invokes every ``reconcileMinutes``.

It closes the gaps that no event announces (design-v2.md, "The reconciler"): a run whose end event was lost
(Glue's events are best effort), a start whose answer was lost, a group with work and no wake-up, a dead file
not yet announced, a slot counter a crash left wrong. So its schedule is part of the pipeline's guarantees, and
these choices follow from that:

- **EventBridge Scheduler**, not a scheduled EventBridge rule: a retry policy of its own, an execution role
  instead of a resource policy on the function, and the schedule's time in the payload
  (``<aws.scheduler.scheduled-time>``), which gives a pass a deterministic identity for its dedup ids;
- **flexible time window off**: a lost Glue event must cost at most one interval, not an interval plus a window;
- **retries bounded by the interval**: the Scheduler retries a failed invoke (throttled, or Lambda unavailable)
  and Lambda retries a pass that failed, but never past the interval, because the next pass does the same work
  and passes are idempotent;
- **its own role** (``scheduler.amazonaws.com``, only for this account's schedules) allowed exactly
  ``lambda:InvokeFunction`` on this function; the function has its own execution role and log group, like every
  other function of the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import (
    Statement,
    account_id,
    allow,
    assume_role_policy_for_account,
    child,
    policy_document,
)
from landing_pipeline.components.lambda_function import function_with_role
from landing_pipeline.runtime.spec import PipelineSpec

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
SCHEDULE_INPUT = {"source": "landing-pipeline.reconciler", "scheduled_time": "<aws.scheduler.scheduled-time>",
                  "execution_id": "<aws.scheduler.execution-id>", "attempt": "<aws.scheduler.attempt-number>"}
"""The payload of every pass: the Scheduler fills in the context attributes (its user guide, "Adding context
attributes"); ``scheduled_time`` is the same for a pass and its retries."""
SCHEDULER_RETRY_ATTEMPTS = 2
"""Retries of an invoke the Scheduler could not deliver (its limit is 185; more only piles up late passes)."""
LAMBDA_ASYNC_MAX_EVENT_AGE_S = 6 * 3600
"""Lambda's limit for ``MaximumEventAgeInSeconds`` of an asynchronous invocation."""


def rate_expression(minutes: int) -> str:
    """``rate(1 minute)`` / ``rate(N minutes)``: the unit is singular for 1 and plural above, or AWS refuses it."""
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"


def retry_window_s(spec: PipelineSpec) -> int:
    """How long a pass may still be delivered or retried: one interval (at least the Scheduler's minimum, 60 s)."""
    return max(60, spec.reconcile_minutes * 60)


class Reconciler(pulumi.ComponentResource):
    """The reconciler function, its role and log group, and the schedule (with its role) that invokes it."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    schedule_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]

    def __init__(self, name: str, *, spec: PipelineSpec, handler: str, code: pulumi.Archive,
                 layers: Sequence[pulumi.Input[str]], environment: Mapping[str, pulumi.Input[str]],
                 statements: Sequence[Statement], tags: Mapping[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:Reconciler", name, None, opts)
        description = (f"Every {spec.reconcile_minutes} min: finishes runs whose end event was lost, resolves "
                       "unanswered starts, wakes groups with work, announces dead files")
        parts = function_with_role(
            self, name, handler=handler, description=description, code=code, layers=layers,
            timeout_s=spec.reconciler_timeout_s, memory_mb=spec.lambda_memory_mb, environment=environment,
            statements=statements, log_retention_days=spec.log_retention_days, tags=tags)
        window = retry_window_s(spec)
        invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", function_name=parts.function.name, maximum_retry_attempts=2,
            maximum_event_age_in_seconds=min(window, LAMBDA_ASYNC_MAX_EVENT_AGE_S), opts=child(self))
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role", assume_role_policy=assume_role_policy_for_account(SCHEDULER_PRINCIPAL,
                                                                                        account_id()),
            description="EventBridge Scheduler: invoke the reconciler", tags=dict(tags), opts=child(self))
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-role-policy", role=scheduler_role.id,
            policy=policy_document([allow("InvokeReconciler", ["lambda:InvokeFunction"], [parts.function.arn])]),
            opts=child(self))
        # The schedule waits for the role's policy: a pass fired before it exists would fail its invoke.
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule", description=f"The reconciler of {name}, every {spec.reconcile_minutes} min",
            schedule_expression=rate_expression(spec.reconcile_minutes), flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={"arn": parts.function.arn, "role_arn": scheduler_role.arn, "input": json.dumps(SCHEDULE_INPUT),
                    "retry_policy": {"maximum_event_age_in_seconds": window,
                                     "maximum_retry_attempts": SCHEDULER_RETRY_ATTEMPTS}},
            opts=child(self, depends_on=[scheduler_policy, invoke_config]))
        self.function: aws.lambda_.Function = parts.function
        self.role: aws.iam.Role = parts.role
        """The reconciler's execution role: attach extra policies here."""
        self.role_policy: aws.iam.RolePolicy = parts.role_policy
        self.log_group: aws.cloudwatch.LogGroup = parts.log_group
        self.invoke_config: aws.lambda_.FunctionEventInvokeConfig = invoke_config
        self.schedule: aws.scheduler.Schedule = schedule
        self.scheduler_role: aws.iam.Role = scheduler_role
        """The role EventBridge Scheduler assumes; it may only invoke this function."""
        self.function_name = parts.function.name
        self.function_arn = parts.function.arn
        self.role_arn = parts.role.arn
        self.log_group_name = parts.log_group.name
        self.schedule_name = schedule.name
        self.schedule_arn = schedule.arn
        self.register_outputs({"function_name": self.function_name, "function_arn": self.function_arn,
                               "role_arn": self.role_arn, "log_group_name": self.log_group_name,
                               "schedule_name": self.schedule_name, "schedule_arn": self.schedule_arn})
