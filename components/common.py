"""Small helpers every component uses: child options, tags, policy documents, ARNs.

Policies are built as plain statement dicts (values may be Outputs) and
serialised once with ``Output.json_dumps``; tests parse the resulting JSON, so
what they check is exactly what AWS would receive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = dict[str, Any]


def child(parent: pulumi.Resource, *, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options for a child resource: parented (so it appears under its component) and ordered."""
    return pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on) or None)


def policy_document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """An IAM/resource policy as JSON; statements may hold Outputs anywhere."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(sid: str, actions: Sequence[str], resources: Sequence[Any], **extra: Any) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    statement.update(extra)
    return statement


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service assume a role (plain JSON: no Outputs involved)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def assume_role_policy_for_account(service: str, account: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust policy for a service that acts for any caller (EventBridge Scheduler): only on behalf of resources
    of this account (``aws:SourceAccount``), AWS's guard against the confused-deputy problem."""
    return policy_document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                             "Condition": {"StringEquals": {"aws:SourceAccount": account}}}])


def deny_insecure_transport(sid: str, actions: str, resources: Sequence[Any]) -> Statement:
    """Deny every request not made over TLS (the AWS Foundational Security Best Practices control)."""
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": actions, "Resource": list(resources),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


_PARTITION: ContextVar[pulumi.Output[str] | None] = ContextVar("landing_partition", default=None)
_REGION: ContextVar[pulumi.Output[str] | None] = ContextVar("landing_region", default=None)
_ACCOUNT: ContextVar[pulumi.Output[str] | None] = ContextVar("landing_account", default=None)


def partition() -> pulumi.Output[str]:
    """The AWS partition (aws, aws-cn, aws-us-gov) of the provider, for ARNs we must spell out.

    Asked once per deployment (a context variable: every program run, and every mock run, has its
    own context), not once per ARN: each ask is a provider call.
    """
    cached = _PARTITION.get()
    if cached is None:
        cached = aws.get_partition_output().partition
        _PARTITION.set(cached)
    return cached


def region() -> pulumi.Output[str]:
    """The provider's region (for the Powertools layer ARN and the dashboard), asked once per deployment."""
    cached = _REGION.get()
    if cached is None:
        cached = aws.get_region_output().region
        _REGION.set(cached)
    return cached


def account_id() -> pulumi.Output[str]:
    """The provider's account id (trust policy conditions), asked once per deployment."""
    cached = _ACCOUNT.get()
    if cached is None:
        cached = aws.get_caller_identity_output().account_id
        _ACCOUNT.set(cached)
    return cached


def s3_arn(bucket: pulumi.Input[str], path: str | None = None) -> pulumi.Output[str]:
    """``arn:<partition>:s3:::bucket`` or ``.../path`` for an object path (may end in ``*``)."""
    suffix = "" if path is None else f"/{path}"
    return pulumi.Output.concat("arn:", partition(), ":s3:::", bucket, suffix)


def tags_of(tag_map: Mapping[str, str]) -> dict[str, str]:
    """A copy of the spec's tags for one resource (a fresh dict, so no resource shares state)."""
    return dict(tag_map)


def wildcard_escape(text: str) -> str:
    """Escape ``*`` and ``\\`` for an EventBridge wildcard pattern."""
    return text.replace("\\", "\\\\").replace("*", "\\*")
