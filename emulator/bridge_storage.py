"""Bridge handlers for storage: S3 buckets and their settings, objects, the DynamoDB ledger, KMS keys."""

from __future__ import annotations

import json
from typing import Any

from landing_pipeline.emulator.bridge import (
    BridgeContext,
    BridgeError,
    Handler,
    pascal,
    require,
    tag_list,
    whole,
    write_zip_entry,
)

_S3_RENAMES = {"id": "ID", "sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"}


def bucket(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("bucket") or ctx.physical_name(inputs.get("bucketPrefix") or name, max_length=63,
                                                         lowercase=True, allowed=r"a-z0-9.-")
    s3 = ctx.client("s3")
    create: dict[str, Any] = {"Bucket": physical}
    if ctx.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    if inputs.get("objectLockEnabled"):
        create["ObjectLockEnabledForBucket"] = True
    s3.create_bucket(**create)
    if inputs.get("tags"):
        s3.put_bucket_tagging(Bucket=physical, Tagging={"TagSet": tag_list(inputs["tags"])})
    return physical, {
        "bucket": physical, "arn": f"arn:aws:s3:::{physical}", "region": ctx.region,
        "bucketDomainName": f"{physical}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{physical}.s3.{ctx.region}.amazonaws.com",
        "hostedZoneId": "Z3NF1Z3NOM5OY2",
    }


def bucket_versioning(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketVersioning", name)
    config = inputs.get("versioningConfiguration") or {}
    status = config.get("status") or ("Enabled" if inputs.get("enabled") else "Suspended")
    ctx.client("s3").put_bucket_versioning(Bucket=target, VersioningConfiguration={"Status": status})
    return target, {}


def bucket_encryption(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketServerSideEncryptionConfiguration", name)
    rules = pascal(inputs.get("rules") or inputs.get("rule") or [], _S3_RENAMES)
    ctx.client("s3").put_bucket_encryption(
        Bucket=target, ServerSideEncryptionConfiguration={"Rules": rules if isinstance(rules, list) else [rules]})
    return target, {}


def public_access_block(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketPublicAccessBlock", name)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    ctx.client("s3").put_public_access_block(
        Bucket=target,
        PublicAccessBlockConfiguration={f[:1].upper() + f[1:]: bool(inputs.get(f))
                                        for f in flags})
    return target, {}


def bucket_policy(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketPolicy", name)
    policy = require(inputs, "policy", "BucketPolicy", name)
    text = policy if isinstance(policy, str) else json.dumps(policy)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise BridgeError(f"BucketPolicy {name!r}: the policy is not JSON ({exc.msg})") from None
    ctx.client("s3").put_bucket_policy(Bucket=target, Policy=text)
    return target, {}


def bucket_notification(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketNotification", name)
    config: dict[str, Any] = {}
    if inputs.get("eventbridge"):
        config["EventBridgeConfiguration"] = {}
    for key, api_key, arn_key in (("queues", "QueueConfigurations", "QueueArn"),
                                  ("topics", "TopicConfigurations", "TopicArn"),
                                  ("lambdaFunctions", "LambdaFunctionConfigurations", "LambdaFunctionArn")):
        entries = []
        for entry in inputs.get(key) or []:
            item: dict[str, Any] = {"Events": entry.get("events", []),
                                    arn_key: entry.get("queueArn") or entry.get("topicArn")
                                    or entry.get("lambdaFunctionArn")}
            rules = [{"Name": n, "Value": entry[f"filter{n.title()}"]} for n in ("prefix", "suffix")
                     if entry.get(f"filter{n.title()}")]
            if rules:
                item["Filter"] = {"Key": {"FilterRules": rules}}
            entries.append(item)
        if entries:
            config[api_key] = entries
    ctx.client("s3").put_bucket_notification_configuration(Bucket=target, NotificationConfiguration=config)
    return target, {}


def ownership_controls(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketOwnershipControls", name)
    rule = inputs.get("rule") or {}
    ctx.client("s3").put_bucket_ownership_controls(
        Bucket=target, OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership",
                                                                                 "BucketOwnerEnforced")}]})
    return target, {}


def lifecycle(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketLifecycleConfiguration", name)
    rules = pascal(inputs.get("rules") or [], _S3_RENAMES)
    ctx.client("s3").put_bucket_lifecycle_configuration(Bucket=target, LifecycleConfiguration={"Rules": rules})
    return target, {}


def bucket_object(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = require(inputs, "bucket", "BucketObjectv2", name)
    key = inputs.get("key") or name
    body = _object_body(ctx, name, inputs)
    put: dict[str, Any] = {"Bucket": target, "Key": key, "Body": body}
    if inputs.get("contentType"):
        put["ContentType"] = inputs["contentType"]
    if inputs.get("serverSideEncryption"):
        put["ServerSideEncryption"] = inputs["serverSideEncryption"]
    response = ctx.client("s3").put_object(**put)
    return key, {"key": key, "etag": response["ETag"].strip('"'), "versionId": response.get("VersionId", ""),
                 "arn": f"arn:aws:s3:::{target}/{key}"}


def _zip_archive(ctx: BridgeContext, assets: dict[str, Any]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, asset in sorted(assets.items()):
            if hasattr(asset, "path"):
                write_zip_entry(archive, member, ctx.resolve_path(asset.path).read_bytes())
            elif hasattr(asset, "text"):
                write_zip_entry(archive, member, str(asset.text).encode())
            else:
                raise BridgeError(f"archive member {member!r} is neither a file nor a string asset")
    return buffer.getvalue()


def _object_body(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> bytes:
    if inputs.get("content") is not None:
        return str(inputs["content"]).encode("utf-8")
    source = inputs.get("source")
    if source is not None and hasattr(source, "text"):
        return str(source.text).encode("utf-8")
    if source is not None and hasattr(source, "path"):
        return ctx.resolve_path(source.path).read_bytes()
    if source is not None and hasattr(source, "assets"):  # an AssetArchive: S3 stores it as a zip, as Pulumi does
        return _zip_archive(ctx, source.assets)
    if inputs.get("contentBase64"):
        import base64

        return base64.b64decode(inputs["contentBase64"])
    raise BridgeError(f"BucketObjectv2 {name!r} has no content or local source the emulator can read "
                      f"(got source={source!r})")


def table(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or ctx.physical_name(name, max_length=255, allowed=r"A-Za-z0-9_.-")
    dynamodb = ctx.client("dynamodb")
    keys = [{"AttributeName": require(inputs, "hashKey", "Table", name), "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    create: dict[str, Any] = {
        "TableName": physical, "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                 for a in inputs.get("attributes") or []],
        "BillingMode": inputs.get("billingMode") or "PROVISIONED",
    }
    provisioned = create["BillingMode"] == "PROVISIONED"
    if provisioned:
        create["ProvisionedThroughput"] = {"ReadCapacityUnits": whole(inputs.get("readCapacity") or 1),
                                           "WriteCapacityUnits": whole(inputs.get("writeCapacity") or 1)}
    indexes = [_index(index, provisioned) for index in inputs.get("globalSecondaryIndexes") or []]
    if indexes:
        create["GlobalSecondaryIndexes"] = indexes
    sse = inputs.get("serverSideEncryption") or {}
    if sse.get("enabled"):
        create["SSESpecification"] = {"Enabled": True, "SSEType": "KMS",
                                      **({"KMSMasterKeyId": sse["kmsKeyArn"]} if sse.get("kmsKeyArn") else {})}
    if inputs.get("streamEnabled"):
        create["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": inputs.get("streamViewType")}
    if inputs.get("tags"):
        create["Tags"] = tag_list(inputs["tags"])
    description = dynamodb.create_table(**create)["TableDescription"]
    if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
        dynamodb.update_continuous_backups(TableName=physical,
                                           PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled") and ttl.get("attributeName"):
        dynamodb.update_time_to_live(TableName=physical, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": ttl["attributeName"]})
    return physical, {"name": physical, "arn": description["TableArn"],
                      "streamArn": description.get("LatestStreamArn", "")}


def _index(index: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    keys = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
    if index.get("rangeKey"):
        keys.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = index["nonKeyAttributes"]
    result: dict[str, Any] = {"IndexName": index["name"], "KeySchema": keys, "Projection": projection}
    if provisioned:
        result["ProvisionedThroughput"] = {"ReadCapacityUnits": whole(index.get("readCapacity") or 1),
                                           "WriteCapacityUnits": whole(index.get("writeCapacity") or 1)}
    return result


def kms_key(ctx: BridgeContext, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    create: dict[str, Any] = {"Description": inputs.get("description") or name}
    if inputs.get("policy"):
        create["Policy"] = inputs["policy"]
    if inputs.get("tags"):
        create["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in inputs["tags"].items()]
    metadata = ctx.client("kms").create_key(**create)["KeyMetadata"]
    if inputs.get("enableKeyRotation"):
        ctx.client("kms").enable_key_rotation(KeyId=metadata["KeyId"])
    return metadata["KeyId"], {"arn": metadata["Arn"], "keyId": metadata["KeyId"]}


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketV2:BucketV2": bucket,
    "aws:s3/bucketVersioning:BucketVersioning": bucket_versioning,
    "aws:s3/bucketVersioningV2:BucketVersioningV2": bucket_versioning,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": bucket_encryption,
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": bucket_encryption,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": public_access_block,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:s3/bucketNotification:BucketNotification": bucket_notification,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ownership_controls,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": lifecycle,
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": lifecycle,
    "aws:s3/bucketObjectv2:BucketObjectv2": bucket_object,
    "aws:s3/bucketObject:BucketObject": bucket_object,
    "aws:dynamodb/table:Table": table,
    "aws:kms/key:Key": kms_key,
}
