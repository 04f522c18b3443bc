"""Pulumi mocks that answer like AWS would, for running the real program without a cloud.

``landing plan``, the tests and the emulator run ``__main__.py`` under Pulumi's
mock runtime. The program reads outputs of the resources it declares (queue
URLs, ARNs, names) to build IAM policies, environment variables and event
patterns, so a mock that echoes inputs is not enough: these mocks compute the
outputs AWS (and the provider's auto-naming) would give, deterministically, so
two runs of one stack produce the same plan.

``call`` raises on any function token it does not know (as pulumi-awsx's tests
do): a silent ``{}`` would let a missing mock turn into an empty ARN deep inside
a policy document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


class UnknownCall(LookupError):
    """The program called a provider function these mocks do not answer."""

    def __init__(self, token: str):
        self.token = token
        super().__init__(f"no mock for provider function {token!r}; add it to {AwsMocks.__name__}.calls "
                         "(a silent {} would hide a missing value)")


def auto_name(logical_name: str, type_token: str, *, max_length: int = 80, lower: bool = False) -> str:
    """Pulumi-style auto-name ``<logical>-<7 hex>``, but stable across runs (hash instead of random)."""
    suffix = hashlib.sha256(f"{type_token}::{logical_name}".encode()).hexdigest()[:7]
    base = logical_name.lower() if lower else logical_name
    return f"{base[: max_length - 8]}-{suffix}"


class AwsMocks(pulumi.runtime.Mocks):
    """Mocks that return AWS-shaped outputs for the resource types this project declares.

    Subclass and override :meth:`create` to do real work per resource (the emulator creates each
    resource in moto); call ``super().create(args)`` for the computed names and ARNs.
    """

    def __init__(self, region: str | None = None, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id

    # -- identity of the fake account ---------------------------------------------------------
    @property
    def effective_region(self) -> str:
        return self.region or DEFAULT_REGION

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.effective_region if regional else ""
        acct = self.account_id if account else ""
        return f"arn:aws:{service}:{region}:{acct}:{resource}"

    # -- provider functions ---------------------------------------------------------------------
    @property
    def calls(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        region, account = self.effective_region, self.account_id
        return {
            "aws:index/getRegion:getRegion": lambda _: {
                "name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region},
            "aws:index/getCallerIdentity:getCallerIdentity": lambda _: {
                "accountId": account, "arn": f"arn:aws:iam::{account}:user/plan", "userId": "AIDAPLAN",
                "id": account},
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws",
                "id": "aws"},
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = self.calls.get(args.token)
        if answer is None:
            raise UnknownCall(args.token)
        return answer(dict(args.args)), []  # MockMonitor iterates the failures: [] not None

    # -- resources ------------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return self.create(args)

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """The physical id and the full state (inputs plus computed outputs) of one resource."""
        builder = _BUILDERS.get(args.typ)
        state = dict(args.inputs)
        if builder is None:
            return f"{args.name}-id", state
        resource_id, computed = builder(self, args.name, state)
        state.update(computed)
        return resource_id, state


Builder = Callable[[AwsMocks, str, dict[str, Any]], tuple[str, dict[str, Any]]]


def _bucket(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket = inputs.get("bucket") or auto_name(name, "bucket", max_length=63, lower=True)
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": m.effective_region,
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{m.effective_region}.amazonaws.com"}


def _queue(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    queue = inputs.get("name")
    if not queue:
        queue = auto_name(name, "queue", max_length=75)
        if inputs.get("fifoQueue"):
            queue += ".fifo"  # what the provider's auto-naming does for FIFO queues
    url = f"https://sqs.{m.effective_region}.amazonaws.com/{m.account_id}/{queue}"
    return url, {"name": queue, "url": url, "arn": m.arn("sqs", queue)}


def _named(service: str, resource: Callable[[str], str], *, key: str = "name",
           max_length: int = 64) -> Builder:
    def build(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        physical = inputs.get(key) or auto_name(name, service, max_length=max_length)
        return physical, {key: physical, "arn": m.arn(service, resource(physical))}
    return build


def _role(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    role = inputs.get("name") or auto_name(name, "role", max_length=64)
    return role, {"name": role, "arn": m.arn("iam", f"role/{role}", regional=False), "uniqueId": f"AROA{role[:8]}"}


def _log_group(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    group = inputs.get("name") or (inputs.get("namePrefix") or f"{name}-") + auto_name(name, "lg")[-7:]
    return group, {"name": group, "arn": m.arn("logs", f"log-group:{group}")}


def _function(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    function = inputs.get("name") or auto_name(name, "function", max_length=64)
    arn = m.arn("lambda", f"function:{function}")
    return function, {"name": function, "arn": arn, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST",
                      "invokeArn": f"arn:aws:apigateway:{m.effective_region}:lambda:path/2015-03-31/functions/"
                                   f"{arn}/invocations"}


def _mapping(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    uuid = hashlib.sha256(name.encode()).hexdigest()
    uuid = f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:32]}"
    return uuid, {"uuid": uuid, "arn": m.arn("lambda", f"event-source-mapping:{uuid}"), "state": "Enabled"}


def _dashboard(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dashboard = inputs["dashboardName"]
    return dashboard, {"dashboardArn": m.arn("cloudwatch", f"dashboard/{dashboard}", regional=False)}


def _object(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return inputs["key"], {"etag": hashlib.md5(name.encode()).hexdigest(), "versionId": "1"}


def _schedule(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    schedule = inputs.get("name") or auto_name(name, "schedule", max_length=64)
    group = inputs.get("groupName") or "default"
    return f"{group}/{schedule}", {"name": schedule, "groupName": group,
                                   "arn": m.arn("scheduler", f"schedule/{group}/{schedule}")}


def _plain_id(m: AwsMocks, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return auto_name(name, "id"), {}


_BUILDERS: dict[str, Builder] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:sqs/queue:Queue": _queue,
    "aws:iam/role:Role": _role,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:lambda/function:Function": _function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _mapping,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:s3/bucketObjectv2:BucketObjectv2": _object,
    "aws:dynamodb/table:Table": _named("dynamodb", lambda n: f"table/{n}"),
    "aws:glue/job:Job": _named("glue", lambda n: f"job/{n}"),
    "aws:cloudwatch/eventRule:EventRule": _named("events", lambda n: f"rule/{n}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _named("cloudwatch", lambda n: f"alarm:{n}", key="name"),
    "aws:sns/topic:Topic": _named("sns", lambda n: n),
    "aws:scheduler/schedule:Schedule": _schedule,
    "aws:cloudwatch/eventTarget:EventTarget": _plain_id,
    "aws:sqs/queuePolicy:QueuePolicy": _plain_id,
    "aws:iam/rolePolicy:RolePolicy": _plain_id,
}
