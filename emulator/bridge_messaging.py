"""Bridge handlers for messaging: SQS queues and policies, EventBridge rules and targets, SNS topics."""

from __future__ import annotations

import json
from typing import Any

from landing_pipeline.emulator.bridge import BridgeContext, BridgeError, Handler, require, whole

_QUEUE_ATTRIBUTES = {
    "fifoQueue": "FifoQueue", "contentBasedDeduplication": "ContentBasedDeduplication",
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds", "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "maxMessageSize": "MaximumMessageSize", "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "kmsMasterKeyId": "KmsMasterKeyId", "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "policy": "Policy", "deduplicationScope": "DeduplicationScope", "fifoThroughputLimit": "FifoThroughputLimit",
}


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(whole(value))


def queue(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fifo = bool(inputs.get("fifoQueue"))
    physical = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, max_length=80,
                                                       suffix=".fifo" if fifo else "")
    if fifo and not physical.endswith(".fifo"):
        raise BridgeError(f"Queue {name!r} is FIFO but its name {physical!r} does not end in '.fifo' (AWS rejects it)")
    attributes = {api: _attribute(inputs[key]) for key, api in _QUEUE_ATTRIBUTES.items()
                  if inputs.get(key) not in (None, "")}
    if not fifo:
        attributes.pop("FifoQueue", None)
    sqs = ctx.client("sqs")
    create: dict[str, Any] = {"QueueName": physical, "Attributes": attributes}
    if inputs.get("tags"):
        create["tags"] = {k: str(v) for k, v in inputs["tags"].items()}
    url = sqs.create_queue(**create)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"url": url, "arn": arn, "name": physical}


def queue_attribute(attribute: str, key: str) -> Handler:
    def handler(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url = require(inputs, "queueUrl", attribute, name)
        value = require(inputs, key, attribute, name)
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={attribute: _attribute(value)})
        return url, {}

    return handler


def event_bus(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name)
    arn = ctx.client("events").create_event_bus(Name=physical)["EventBusArn"]
    return physical, {"name": physical, "arn": arn}


def event_rule(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(inputs.get("namePrefix") or name, allowed=r"A-Za-z0-9._-")
    put: dict[str, Any] = {"Name": physical, "State": inputs.get("state") or "ENABLED"}
    if put["State"] not in ("ENABLED", "DISABLED"):
        put["State"] = "ENABLED"  # ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS: enabled, as far as a demo sees
    for key, api in (("eventPattern", "EventPattern"), ("scheduleExpression", "ScheduleExpression"),
                     ("description", "Description"), ("roleArn", "RoleArn"), ("eventBusName", "EventBusName")):
        if inputs.get(key):
            put[api] = inputs[key]
    if "EventPattern" in put:
        try:
            json.loads(put["EventPattern"])
        except json.JSONDecodeError as exc:
            raise BridgeError(f"EventRule {name!r}: eventPattern is not JSON ({exc.msg})") from None
    if inputs.get("tags"):
        put["Tags"] = [{"Key": k, "Value": str(v)} for k, v in inputs["tags"].items()]
    arn = ctx.client("events").put_rule(**put)["RuleArn"]
    bus = inputs.get("eventBusName")
    rule_id = f"{bus}/{physical}" if bus and bus != "default" else physical
    return rule_id, {"name": physical, "arn": arn}


def event_target(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rule = require(inputs, "rule", "EventTarget", name)
    target_id = inputs.get("targetId") or ctx.physical_name(name)
    target: dict[str, Any] = {"Id": target_id, "Arn": require(inputs, "arn", "EventTarget", name)}
    if inputs.get("sqsTarget"):
        target["SqsParameters"] = {"MessageGroupId": inputs["sqsTarget"]["messageGroupId"]}
    if inputs.get("input"):
        target["Input"] = inputs["input"]
    if inputs.get("inputPath"):
        target["InputPath"] = inputs["inputPath"]
    transformer = inputs.get("inputTransformer")
    if transformer:
        target["InputTransformer"] = {"InputTemplate": transformer["inputTemplate"],
                                      "InputPathsMap": transformer.get("inputPaths") or {}}
    if inputs.get("deadLetterConfig"):
        target["DeadLetterConfig"] = {"Arn": inputs["deadLetterConfig"]["arn"]}
    if inputs.get("retryPolicy"):
        policy = inputs["retryPolicy"]
        target["RetryPolicy"] = {k: whole(v) for k, v in (
            ("MaximumEventAgeInSeconds", policy.get("maximumEventAgeInSeconds")),
            ("MaximumRetryAttempts", policy.get("maximumRetryAttempts"))) if v is not None}
    if inputs.get("roleArn"):
        target["RoleArn"] = inputs["roleArn"]
    put: dict[str, Any] = {"Rule": rule, "Targets": [target]}
    if inputs.get("eventBusName"):
        put["EventBusName"] = inputs["eventBusName"]
    response = ctx.client("events").put_targets(**put)
    if response.get("FailedEntryCount"):
        raise BridgeError(f"EventTarget {name!r}: EventBridge refused the target: {response['FailedEntries']}")
    return f"{rule}-{target_id}", {"targetId": target_id}


def topic(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fifo = bool(inputs.get("fifoTopic"))
    physical = inputs.get("name") or ctx.physical_name(name, max_length=256, suffix=".fifo" if fifo else "")
    attributes = {api: _attribute(inputs[key]) for key, api in (
        ("kmsMasterKeyId", "KmsMasterKeyId"), ("displayName", "DisplayName"), ("policy", "Policy"),
        ("fifoTopic", "FifoTopic"), ("contentBasedDeduplication", "ContentBasedDeduplication"))
        if inputs.get(key) not in (None, "", False)}
    create: dict[str, Any] = {"Name": physical, "Attributes": attributes}
    if inputs.get("tags"):
        create["Tags"] = [{"Key": k, "Value": str(v)} for k, v in inputs["tags"].items()]
    arn = ctx.client("sns").create_topic(**create)["TopicArn"]
    return arn, {"arn": arn, "name": physical}


def topic_subscription(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = ctx.client("sns").subscribe(
        TopicArn=require(inputs, "topic", "TopicSubscription", name),
        Protocol=require(inputs, "protocol", "TopicSubscription", name),
        Endpoint=require(inputs, "endpoint", "TopicSubscription", name),
        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}


def topic_policy(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = require(inputs, "arn", "TopicPolicy", name)
    ctx.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                           AttributeValue=require(inputs, "policy", "TopicPolicy", name))
    return arn, {}


HANDLERS: dict[str, Handler] = {
    "aws:sqs/queue:Queue": queue,
    "aws:sqs/queuePolicy:QueuePolicy": queue_attribute("Policy", "policy"),
    "aws:sqs/redrivePolicy:RedrivePolicy": queue_attribute("RedrivePolicy", "redrivePolicy"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": queue_attribute("RedriveAllowPolicy", "redriveAllowPolicy"),
    "aws:cloudwatch/eventBus:EventBus": event_bus,
    "aws:cloudwatch/eventRule:EventRule": event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": event_target,
    "aws:sns/topic:Topic": topic,
    "aws:sns/topicSubscription:TopicSubscription": topic_subscription,
    "aws:sns/topicPolicy:TopicPolicy": topic_policy,
}
