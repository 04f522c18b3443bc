"""Bridge handlers for compute: Lambda functions, permissions and event source mappings, the Glue job."""

from __future__ import annotations

import functools
import io
import zipfile
from typing import Any

from landing_pipeline.emulator.bridge import (
    BridgeContext,
    BridgeError,
    Handler,
    pascal,
    require,
    whole,
    write_zip_entry,
)

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
    entries: list[tuple[str, bytes]] = []
    _add_to_zip(ctx, entries, archive, "")
    return {"ZipFile": _zipped(tuple(entries))}


@functools.lru_cache(maxsize=8)
def _zipped(entries: tuple[tuple[str, bytes], ...]) -> bytes:
    """The zip of these entries, remembered: every entry has a fixed timestamp and mode (``write_zip_entry``),
    so the same names and contents always zip to the same bytes, and a sweep's deploys (four functions of one
    code archive per seed) read the files again but deflate them once (0.1-0.15 CPU s per seed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries:
            write_zip_entry(zipped, name, data)
    return buffer.getvalue()


def _add_to_zip(ctx: BridgeContext, entries: list[tuple[str, bytes]], item: Any, at: str) -> None:
    """Pulumi's archive semantics: an AssetArchive maps archive paths to assets or archives; a FileArchive of a
    folder puts the folder's contents at its key."""
    if hasattr(item, "assets"):
        for key, value in item.assets.items():
            _add_to_zip(ctx, entries, value, f"{at}{key}" if not at else f"{at}/{key}")
    elif hasattr(item, "text"):
        entries.append((at, item.text.encode()))
    elif hasattr(item, "path"):
        source = ctx.resolve_path(item.path)
        if source.is_dir():
            for file in sorted(source.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                    relative = file.relative_to(source).as_posix()
                    entries.append((f"{at}/{relative}" if at else relative, file.read_bytes()))
        else:
            entries.append((at or source.name, source.read_bytes()))
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


HANDLERS: dict[str, Handler] = {
    "aws:lambda/function:Function": function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": event_source_mapping,
    "aws:lambda/permission:Permission": permission,
    "aws:glue/job:Job": glue_job,
}
