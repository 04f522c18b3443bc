"""Bridge handlers for control and observation: IAM roles and policies, log groups, alarms, the dashboard."""

from __future__ import annotations

import json
from typing import Any

from landing_pipeline.emulator.bridge import BridgeContext, BridgeError, Handler, pascal, require, tag_list, whole


def role(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, allowed=r"A-Za-z0-9+=,.@_-")
    create: dict[str, Any] = {"RoleName": physical,
                              "AssumeRolePolicyDocument": require(inputs, "assumeRolePolicy", "Role", name),
                              "Path": inputs.get("path") or "/"}
    for key, api in (("description", "Description"), ("maxSessionDuration", "MaxSessionDuration"),
                     ("permissionsBoundary", "PermissionsBoundary")):
        if inputs.get(key):
            create[api] = whole(inputs[key])
    if inputs.get("tags"):
        create["Tags"] = tag_list(inputs["tags"])
    iam = ctx.client("iam")
    created = iam.create_role(**create)["Role"]
    for inline in inputs.get("inlinePolicies") or []:
        if inline.get("name") and inline.get("policy"):
            iam.put_role_policy(RoleName=physical, PolicyName=inline["name"], PolicyDocument=inline["policy"])
    return physical, {"name": physical, "arn": created["Arn"], "uniqueId": created["RoleId"]}


def role_policy(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role_name = require(inputs, "role", "RolePolicy", name)
    policy_name = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, max_length=128)
    document = require(inputs, "policy", "RolePolicy", name)
    ctx.client("iam").put_role_policy(RoleName=role_name, PolicyName=policy_name,
                                      PolicyDocument=document if isinstance(document, str) else json.dumps(document))
    return f"{role_name}:{policy_name}", {"name": policy_name}


def managed_policy(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    policy_name = inputs.get("name") or ctx.physical_name(name, max_length=128)
    created = ctx.client("iam").create_policy(PolicyName=policy_name, Path=inputs.get("path") or "/",
                                              PolicyDocument=require(inputs, "policy", "Policy", name))["Policy"]
    return created["Arn"], {"arn": created["Arn"], "name": policy_name, "policyId": created["PolicyId"]}


def role_policy_attachment(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role_name = require(inputs, "role", "RolePolicyAttachment", name)
    policy_arn = require(inputs, "policyArn", "RolePolicyAttachment", name)
    outputs: dict[str, Any] = {}
    if policy_arn.startswith("arn:aws:iam::aws:policy/"):
        outputs["emulatorNote"] = "AWS-managed policy: recorded, not loaded into moto (moto does not evaluate IAM)"
    else:
        ctx.client("iam").attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return f"{role_name}-{policy_arn.rsplit('/', 1)[-1]}", outputs


def log_group(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, max_length=512,
                                                       allowed=r"A-Za-z0-9_./#-")
    logs = ctx.client("logs")
    create: dict[str, Any] = {"logGroupName": physical}
    if inputs.get("kmsKeyId"):
        create["kmsKeyId"] = inputs["kmsKeyId"]
    if inputs.get("tags"):
        create["tags"] = {k: str(v) for k, v in inputs["tags"].items()}
    logs.create_log_group(**create)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=physical, retentionInDays=whole(inputs["retentionInDays"]))
    return physical, {"name": physical, "arn": f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{physical}"}


def metric_alarm(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name, max_length=255)
    put: dict[str, Any] = {"AlarmName": physical,
                           "ComparisonOperator": require(inputs, "comparisonOperator", "MetricAlarm", name),
                           "EvaluationPeriods": whole(require(inputs, "evaluationPeriods", "MetricAlarm", name))}
    for key, api in (("metricName", "MetricName"), ("namespace", "Namespace"), ("period", "Period"),
                     ("statistic", "Statistic"), ("extendedStatistic", "ExtendedStatistic"), ("threshold", "Threshold"),
                     ("alarmActions", "AlarmActions"), ("okActions", "OKActions"),
                     ("insufficientDataActions", "InsufficientDataActions"), ("treatMissingData", "TreatMissingData"),
                     ("datapointsToAlarm", "DatapointsToAlarm"), ("alarmDescription", "AlarmDescription"),
                     ("actionsEnabled", "ActionsEnabled"), ("unit", "Unit"),
                     ("thresholdMetricId", "ThresholdMetricId")):
        if inputs.get(key) not in (None, "", []):
            put[api] = whole(inputs[key])
    if inputs.get("dimensions"):
        put["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in inputs["dimensions"].items()]
    if inputs.get("metricQueries"):
        put["Metrics"] = [_metric_query(query) for query in inputs["metricQueries"]]
    if inputs.get("tags"):
        put["Tags"] = tag_list(inputs["tags"])
    ctx.client("cloudwatch").put_metric_alarm(**put)
    return physical, {"arn": f"arn:aws:cloudwatch:{ctx.region}:{ctx.account}:alarm:{physical}", "name": physical}


def schedule(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An EventBridge Scheduler schedule, stored in moto (which never fires it: the emulator's own scheduler
    reads the expression and target from here and invokes the target in emulated time)."""
    physical = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, max_length=64)
    group = inputs.get("groupName") or "default"
    target = require(inputs, "target", "Schedule", name)
    create: dict[str, Any] = {
        "Name": physical, "GroupName": group,
        "ScheduleExpression": require(inputs, "scheduleExpression", "Schedule", name),
        "FlexibleTimeWindow": pascal(require(inputs, "flexibleTimeWindow", "Schedule", name)),
        "Target": pascal(target), "State": inputs.get("state") or "ENABLED"}
    if inputs.get("description"):
        create["Description"] = inputs["description"]
    arn = ctx.client("scheduler").create_schedule(**create)["ScheduleArn"]
    return f"{group}/{physical}", {"name": physical, "groupName": group, "arn": arn}


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"Id": query["id"]}
    for key, api in (("expression", "Expression"), ("label", "Label"), ("returnData", "ReturnData"),
                     ("period", "Period")):
        if query.get(key) is not None:
            result[api] = whole(query[key])
    metric = query.get("metric")
    if metric:
        inner: dict[str, Any] = {"MetricName": metric["metricName"], "Namespace": metric.get("namespace")}
        if metric.get("dimensions"):
            inner["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in metric["dimensions"].items()]
        result["MetricStat"] = {"Metric": inner, "Period": whole(metric["period"]), "Stat": metric["stat"]}
        if metric.get("unit"):
            result["MetricStat"]["Unit"] = metric["unit"]
    return result


def dashboard(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = require(inputs, "dashboardName", "Dashboard", name)
    body = require(inputs, "dashboardBody", "Dashboard", name)
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise BridgeError(f"Dashboard {name!r}: dashboardBody is not JSON ({exc.msg})") from None
    ctx.client("cloudwatch").put_dashboard(DashboardName=physical, DashboardBody=body)
    return physical, {"dashboardArn": f"arn:aws:cloudwatch::{ctx.account}:dashboard/{physical}"}


def policy_document(args: dict[str, Any]) -> str:
    """aws.iam.get_policy_document rendered the way the provider does (enough for the program's statements)."""
    statements = []
    for statement in args.get("statements") or []:
        rendered: dict[str, Any] = {"Effect": statement.get("effect", "Allow")}
        if statement.get("sid"):
            rendered["Sid"] = statement["sid"]
        for key, api in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"),
                         ("notResources", "NotResource")):
            values = statement.get(key)
            if values:
                rendered[api] = values[0] if len(values) == 1 else list(values)
        for key, api in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if statement.get(key):
                rendered[api] = {p["type"]: p["identifiers"][0] if len(p["identifiers"]) == 1 else p["identifiers"]
                                 for p in statement[key]}
        if statement.get("conditions"):
            conditions: dict[str, dict[str, Any]] = {}
            for condition in statement["conditions"]:
                values = condition["values"]
                conditions.setdefault(condition["test"], {})[condition["variable"]] = (
                    values[0] if len(values) == 1 else values)
            rendered["Condition"] = conditions
        statements.append(rendered)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


HANDLERS: dict[str, Handler] = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/policy:Policy": managed_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
    "aws:scheduler/schedule:Schedule": schedule,
}
