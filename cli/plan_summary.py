"""One-line descriptions of planned resources: the settings a reviewer checks before ``pulumi up``.

Pure functions over the recorded inputs of each resource (what the program
would send to AWS), so ``landing plan`` shows the real values: FIFO and dedup,
redrive ceilings, batch sizes and concurrency, MaxConcurrentRuns, timeouts,
encryption, and every IAM statement. The lines are plain text holding user values (a key prefix
``in[bound]/``, a policy's ``arn:...:bucket/[a-z]*``): ``landing plan`` renders them as ``rich.text.Text``
(never markup); anything printing them through a markup string must ``rich.markup.escape`` them first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from landing_pipeline.components.program_runner import ResourceRecord

Summary = Callable[[dict[str, Any]], list[str]]


def short_arn(arn: Any) -> str:
    """The readable tail of an ARN (``queue-name``, ``table/x/index/by_group``, ``bucket/prefix/*``)."""
    text = str(arn)
    if not text.startswith("arn:"):
        return text
    parts = text.split(":", 5)
    return parts[5] if len(parts) == 6 else text


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _queue(i: dict[str, Any]) -> list[str]:
    kind = "FIFO" if i.get("fifoQueue") else "standard"
    line = f"{kind}, visibility {i.get('visibilityTimeoutSeconds', 30)} s, retention " \
           f"{int(i.get('messageRetentionSeconds', 345600)) // 86400} d, SSE-SQS {_yes(i.get('sqsManagedSseEnabled'))}"
    lines = [line]
    if i.get("fifoQueue"):
        lines.append(f"content-based dedup {_yes(i.get('contentBasedDeduplication'))}, dedup scope "
                     f"{i.get('deduplicationScope', 'queue')}, throughput {i.get('fifoThroughputLimit', 'perQueue')}")
    redrive = _json(i.get("redrivePolicy"))
    if isinstance(redrive, dict):
        lines.append(f"redrive to {short_arn(redrive.get('deadLetterTargetArn'))} after "
                     f"maxReceiveCount={redrive.get('maxReceiveCount')}")
    return lines


def _mapping(i: dict[str, Any]) -> list[str]:
    scaling = i.get("scalingConfig") or {}
    concurrency = scaling.get("maximumConcurrency", "unlimited")
    return [f"from {short_arn(i.get('eventSourceArn'))}: batch size {i.get('batchSize')}, "
            f"{', '.join(i.get('functionResponseTypes') or ['no partial batch responses'])}, "
            f"maximum concurrency {concurrency}"]


def _function(i: dict[str, Any]) -> list[str]:
    logging = i.get("loggingConfig") or {}
    env = (i.get("environment") or {}).get("variables") or {}
    return [f"{i.get('handler')} on {i.get('runtime')}/{','.join(i.get('architectures') or [])}, timeout "
            f"{i.get('timeout')} s, {i.get('memorySize')} MB, {len(env)} env vars",
            f"layers: {', '.join(short_arn(x) for x in i.get('layers') or []) or 'none'}; logs to "
            f"{logging.get('logGroup')} ({logging.get('logFormat')})"]


def _job(i: dict[str, Any]) -> list[str]:
    command = i.get("command") or {}
    runs = (i.get("executionProperty") or {}).get("maxConcurrentRuns")
    return [f"Glue {i.get('glueVersion')} {command.get('name')}, {i.get('numberOfWorkers')} x "
            f"{i.get('workerType')}, timeout {i.get('timeout')} min, MaxConcurrentRuns {runs}, "
            f"maxRetries {i.get('maxRetries')}",
            f"script {command.get('scriptLocation')}"]


def _table(i: dict[str, Any]) -> list[str]:
    indexes = ", ".join(f"{g['name']}({g.get('hashKey')}, {g.get('rangeKey')})"
                        for g in i.get("globalSecondaryIndexes") or [])
    key = f"{i.get('hashKey')}" + (f" + {i['rangeKey']}" if i.get("rangeKey") else "")
    return [f"{i.get('billingMode')}, key {key}, GSI {indexes or 'none'}, PITR "
            f"{_yes((i.get('pointInTimeRecovery') or {}).get('enabled'))}, SSE "
            f"{_yes((i.get('serverSideEncryption') or {}).get('enabled'))}"]


def _catalog_table(i: dict[str, Any]) -> list[str]:
    descriptor = i.get("storageDescriptor") or {}
    columns = ", ".join(f"{c.get('name')} {c.get('type')}" for c in descriptor.get("columns") or [])
    keys = ", ".join(str(k.get("name")) for k in i.get("partitionKeys") or [])
    return [f"{i.get('databaseName')}.{i.get('name')}: Parquet at {descriptor.get('location')}, partitioned by "
            f"{keys or 'nothing'}", f"columns {columns}"]


def _encryption(i: dict[str, Any]) -> list[str]:
    rule = (i.get("rules") or [{}])[0]
    default = rule.get("applyServerSideEncryptionByDefault") or {}
    key = default.get("kmsMasterKeyId")
    return [f"{default.get('sseAlgorithm')}" + (f" with {short_arn(key)}, bucket key" if key else "")]


def _public_access(i: dict[str, Any]) -> list[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return ["all public access blocked" if all(i.get(f) for f in flags)
            else "OPEN: " + ", ".join(f for f in flags if not i.get(f))]


def _lifecycle(i: dict[str, Any]) -> list[str]:
    return [", ".join(r.get("id", "?") for r in i.get("rules") or [])]


def _log_group(i: dict[str, Any]) -> list[str]:
    return [f"{i.get('name') or i.get('namePrefix', '') + '*'}, retention {i.get('retentionInDays')} d"]


def _rule(i: dict[str, Any]) -> list[str]:
    return [f"pattern {json.dumps(_json(i.get('eventPattern')), separators=(',', ':'))}"]


def _target(i: dict[str, Any]) -> list[str]:
    dlq = (i.get("deadLetterConfig") or {}).get("arn")
    return [f"to {short_arn(i.get('arn'))}" + (f", undeliverable events to {short_arn(dlq)}" if dlq else "")]


def _alarm(i: dict[str, Any]) -> list[str]:
    dims = ",".join(f"{k}={v}" for k, v in (i.get("dimensions") or {}).items())
    return [f"{i.get('namespace')} {i.get('metricName')}[{dims}] {i.get('statistic')} "
            f"{i.get('comparisonOperator')} {i.get('threshold')} over {i.get('period')} s"
            + (f" -> {', '.join(short_arn(a) for a in i['alarmActions'])}" if i.get("alarmActions") else "")]


def _schedule(i: dict[str, Any]) -> list[str]:
    target = i.get("target") or {}
    retry = target.get("retryPolicy") or {}
    window = (i.get("flexibleTimeWindow") or {}).get("mode")
    return [f"{i.get('scheduleExpression')}, flexible window {window}, {i.get('state')}, invokes "
            f"{short_arn(target.get('arn'))} as {short_arn(target.get('roleArn'))}, retries "
            f"{retry.get('maximumRetryAttempts')} within {retry.get('maximumEventAgeInSeconds')} s"]


def policy_lines(document: Any) -> list[str]:
    """Every statement of a policy: effect, actions, resources, conditions."""
    doc = _json(document)
    lines = []
    for st in (doc or {}).get("Statement", []) if isinstance(doc, dict) else []:
        actions = st.get("Action")
        resources = st.get("Resource")
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        who = st.get("Principal")
        principal = "" if who is None else f" for {json.dumps(who, separators=(',', ':'))}"
        condition = f" if {json.dumps(st['Condition'], separators=(',', ':'))}" if st.get("Condition") else ""
        lines.append(f"{st.get('Sid', '-')}: {st.get('Effect')} {', '.join(actions)}{principal} on "
                     f"{', '.join(short_arn(r) for r in resources)}{condition}")
    return lines


def _policy(i: dict[str, Any]) -> list[str]:
    return policy_lines(i.get("policy"))


def _role(i: dict[str, Any]) -> list[str]:
    statements = (_json(i.get("assumeRolePolicy")) or {}).get("Statement", [])
    services = [s.get("Principal", {}).get("Service") for s in statements]
    return [f"assumed by {', '.join(str(s) for s in services)}"]


SUMMARIES: dict[str, Summary] = {
    "aws:sqs/queue:Queue": _queue,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _mapping,
    "aws:lambda/function:Function": _function,
    "aws:glue/job:Job": _job,
    "aws:dynamodb/table:Table": _table,
    "aws:glue/catalogDatabase:CatalogDatabase": lambda i: [f"database {i.get('name')}"],
    "aws:glue/catalogTable:CatalogTable": _catalog_table,
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _public_access,
    "aws:s3/bucketVersioning:BucketVersioning": lambda i: [
        f"versioning {(i.get('versioningConfiguration') or {}).get('status')}"],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _lifecycle,
    "aws:s3/bucketPolicy:BucketPolicy": _policy,
    "aws:s3/bucketNotification:BucketNotification": lambda i: [f"EventBridge {_yes(i.get('eventbridge'))}"],
    "aws:s3/bucketObjectv2:BucketObjectv2": lambda i: [f"key {i.get('key')}"],
    "aws:sqs/queuePolicy:QueuePolicy": _policy,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": lambda i: [
        f"redrive only from {', '.join(short_arn(a) for a in (_json(i.get('redriveAllowPolicy')) or {}).get('sourceQueueArns', []))}"],  # noqa: E501
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _policy,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/eventRule:EventRule": _rule,
    "aws:cloudwatch/eventTarget:EventTarget": _target,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": lambda i: [
        f"{i.get('dashboardName')}: {len((_json(i.get('dashboardBody')) or {}).get('widgets', []))} widgets"],
}


def summarize(record: ResourceRecord) -> list[str]:
    """What to show under one resource (nothing for components and types without a summary)."""
    summary = SUMMARIES.get(record.type)
    return summary(record.inputs) if summary else []


def short_type(type_token: str) -> str:
    """``aws:sqs/queue:Queue`` -> ``aws.sqs.Queue``; component tokens stay as they are."""
    package, module, name = [*type_token.split(":"), "", ""][:3]
    if package == "aws" and module:
        return f"aws.{module.split('/')[0]}.{name}"
    return type_token
