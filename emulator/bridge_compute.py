"""Bridge handlers for compute and control: Lambda functions and mappings, the Glue job, IAM, CloudWatch."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from emulator.bridge import BridgeContext, BridgeError, Handler, pascal, require, tag_list, whole

ACKNOWLEDGED: dict[str, str] = {
    # type token -> why the emulator records it without creating anything in moto
    "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive": "IAM bookkeeping; moto does not evaluate IAM",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "IAM bookkeeping; moto does not "
                                                                             "evaluate IAM",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "asynchronous-invoke settings; the pipeline's "
                                                                      "functions are only invoked by SQS mappings",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "log delivery permission; nothing delivers logs locally",
}


def function(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name)
    create: dict[str, Any] = {
        "FunctionName": physical,
        "Role": require(inputs, "role", "Function", name),
        "Runtime": inputs.get("runtime") or "python3.11",
        "Handler": require(inputs, "handler", "Function", name),
        "Code": _code(ctx, name, inputs),
        "Timeout": whole(inputs.get("timeout") or 3),
        "MemorySize": whole(inputs.get("memorySize") or 128),
        "Publish": bool(inputs.get("publish")),
    }
    environment = (inputs.get("environment") or {}).get("variables")
    if environment:
        create["Environment"] = {"Variables": {k: str(v) for k, v in environment.items()}}
    for key, api in (("architectures", "Architectures"), ("description", "Description")):
        if inputs.get(key):
            create[api] = inputs[key]
    if inputs.get("loggingConfig"):
        create["LoggingConfig"] = pascal(inputs["loggingConfig"])
    if inputs.get("tracingConfig"):
        create["TracingConfig"] = pascal(inputs["tracingConfig"])
    if inputs.get("deadLetterConfig"):
        create["DeadLetterConfig"] = {"TargetArn": inputs["deadLetterConfig"]["targetArn"]}
    if inputs.get("tags"):
        create["Tags"] = {k: str(v) for k, v in inputs["tags"].items()}
    lambda_ = ctx.client("lambda")
    layers = list(inputs.get("layers") or [])
    layers_in_moto = [arn for arn in layers if _layer_exists(lambda_, arn)]
    if layers_in_moto:
        create["Layers"] = layers_in_moto
    config = lambda_.create_function(**create)
    if inputs.get("reservedConcurrentExecutions") not in (None, -1, -1.0):
        lambda_.put_function_concurrency(FunctionName=physical,
                                         ReservedConcurrentExecutions=whole(inputs["reservedConcurrentExecutions"]))
    outputs = {"name": physical, "arn": config["FunctionArn"], "qualifiedArn": f"{config['FunctionArn']}:$LATEST",
               "invokeArn": f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/"
                            f"{config['FunctionArn']}/invocations",
               "version": config.get("Version", "$LATEST"), "sourceCodeHash": config.get("CodeSha256", "")}
    missing = sorted(set(layers) - set(layers_in_moto))
    if missing:
        outputs["emulatorNote"] = (f"layers {missing} are not in the emulated account; the handlers import their "
                                   "packages from the local environment instead")
    return physical, outputs


def _layer_exists(lambda_: Any, arn: str) -> bool:
    try:
        lambda_.get_layer_version_by_arn(Arn=arn)
        return True
    except Exception:
        return False


def _code(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if inputs.get("s3Bucket"):
        code = {"S3Bucket": inputs["s3Bucket"], "S3Key": require(inputs, "s3Key", "Function", name)}
        if inputs.get("s3ObjectVersion"):
            code["S3ObjectVersion"] = inputs["s3ObjectVersion"]
        return code
    archive = inputs.get("code")
    if archive is None:
        raise BridgeError(f"Function {name!r} has neither code nor s3Bucket/s3Key")
    path = getattr(archive, "path", None)
    if isinstance(path, str) and path.endswith(".zip"):
        return {"ZipFile": ctx.resolve_path(path).read_bytes()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        _add_to_zip(ctx, zipped, archive, "")
    return {"ZipFile": buffer.getvalue()}


def _add_to_zip(ctx: BridgeContext, zipped: zipfile.ZipFile, item: Any, at: str) -> None:
    """Pulumi's archive semantics: an AssetArchive maps archive paths to assets or archives; a FileArchive of a
    folder puts the folder's contents at its key."""
    if hasattr(item, "assets"):
        for key, value in item.assets.items():
            _add_to_zip(ctx, zipped, value, f"{at}{key}" if not at else f"{at}/{key}")
    elif hasattr(item, "text"):
        zipped.writestr(at, item.text)
    elif hasattr(item, "path"):
        source = ctx.resolve_path(item.path)
        if source.is_dir():
            for file in sorted(source.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                    relative = file.relative_to(source).as_posix()
                    zipped.write(file, f"{at}/{relative}" if at else relative)
        else:
            zipped.write(source, at or source.name)
    else:
        raise BridgeError(f"cannot package {item!r} into a Lambda zip")


def event_source_mapping(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    create: dict[str, Any] = {
        "EventSourceArn": require(inputs, "eventSourceArn", "EventSourceMapping", name),
        "FunctionName": require(inputs, "functionName", "EventSourceMapping", name),
        "Enabled": inputs.get("enabled", True) is not False,
    }
    for key, api in (("batchSize", "BatchSize"), ("maximumBatchingWindowInSeconds", "MaximumBatchingWindowInSeconds"),
                     ("functionResponseTypes", "FunctionResponseTypes")):
        if inputs.get(key) is not None:
            create[api] = whole(inputs[key])
    if inputs.get("scalingConfig"):
        create["ScalingConfig"] = pascal(inputs["scalingConfig"])
    if inputs.get("filterCriteria"):
        create["FilterCriteria"] = pascal(inputs["filterCriteria"])
    mapping = ctx.client("lambda").create_event_source_mapping(**create)
    _detach_moto_invoker(ctx, mapping["EventSourceArn"], mapping["FunctionArn"])
    return mapping["UUID"], {"uuid": mapping["UUID"], "functionArn": mapping["FunctionArn"],
                             "arn": mapping.get("EventSourceMappingArn", ""), "state": mapping.get("State", "Enabled")}


def _detach_moto_invoker(ctx: BridgeContext, queue_arn: str, function_arn: str) -> None:
    """moto "runs" an SQS-mapped function itself on every send (an echo without Docker) and deletes the messages.
    The emulator's mapping runner replaces that, so moto's shortcut is unhooked; the mapping stays listed."""
    from moto.sqs.models import sqs_backends

    with ctx.aws.lock:
        for queue in sqs_backends[ctx.account][ctx.region].queues.values():
            if queue.queue_arn == queue_arn:
                queue.lambda_event_source_mappings.pop(function_arn, None)


def permission(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    statement = inputs.get("statementId") or ctx.physical_name(inputs.get("statementIdPrefix") or name)
    add: dict[str, Any] = {"FunctionName": require(inputs, "function", "Permission", name), "StatementId": statement,
                           "Action": require(inputs, "action", "Permission", name),
                           "Principal": require(inputs, "principal", "Permission", name)}
    for key, api in (("sourceArn", "SourceArn"), ("sourceAccount", "SourceAccount"), ("qualifier", "Qualifier")):
        if inputs.get(key):
            add[api] = inputs[key]
    ctx.client("lambda").add_permission(**add)
    return statement, {"statementId": statement}


def glue_job(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name, max_length=255)
    command = require(inputs, "command", "Job", name)
    create: dict[str, Any] = {
        "Name": physical, "Role": require(inputs, "roleArn", "Job", name),
        "Command": pascal(command),
        "DefaultArguments": {k: str(v) for k, v in (inputs.get("defaultArguments") or {}).items()},
        "ExecutionProperty": pascal(inputs.get("executionProperty") or {"maxConcurrentRuns": 1}),
    }
    for key, api in (("glueVersion", "GlueVersion"), ("workerType", "WorkerType"),
                     ("numberOfWorkers", "NumberOfWorkers"), ("timeout", "Timeout"), ("maxRetries", "MaxRetries"),
                     ("description", "Description"), ("executionClass", "ExecutionClass"),
                     ("securityConfiguration", "SecurityConfiguration"), ("maxCapacity", "MaxCapacity")):
        if inputs.get(key) not in (None, ""):
            create[api] = whole(inputs[key])
    if inputs.get("nonOverridableArguments"):
        create["NonOverridableArguments"] = {k: str(v) for k, v in inputs["nonOverridableArguments"].items()}
    if inputs.get("notificationProperty"):
        create["NotificationProperty"] = pascal(inputs["notificationProperty"])
    if inputs.get("tags"):
        create["Tags"] = {k: str(v) for k, v in inputs["tags"].items()}
    ctx.client("glue").create_job(**create)
    return physical, {"name": physical, "arn": f"arn:aws:glue:{ctx.region}:{ctx.account}:job/{physical}"}


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
    "aws:lambda/function:Function": function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": event_source_mapping,
    "aws:lambda/permission:Permission": permission,
    "aws:glue/job:Job": glue_job,
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/policy:Policy": managed_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
}
