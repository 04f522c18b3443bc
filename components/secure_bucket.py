"""An S3 bucket with the settings every bucket of the pipeline must have.

Versioning (an overwritten landed file or a rerun's output is never lost),
default encryption (SSE-S3, or SSE-KMS with bucket keys when a key is given),
every public access switch blocked, ACLs disabled, a bucket policy that denies
any request not made over TLS, and lifecycle rules (incomplete multipart uploads
are cleaned up; landed objects expire only when asked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import Statement, child, deny_insecure_transport, policy_document

ABORT_MULTIPART_DAYS = 7


class SecureBucket(pulumi.ComponentResource):
    """A versioned, encrypted, private, TLS-only S3 bucket."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], kms_key_arn: str = "",
                 expiration_days: int = 0, expiration_prefix: str = "",
                 extra_statements: Sequence[Statement] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:SecureBucket", name, None, opts)
        bucket = aws.s3.Bucket(name, force_destroy=False, tags=dict(tags), opts=child(self))
        self.bucket: aws.s3.Bucket = bucket
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child(self))
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child(self))
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child(self))
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id, rules=[encryption_rule(kms_key_arn)], opts=child(self))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=lifecycle_rules(expiration_days, expiration_prefix), opts=child(self))
        statements = [deny_insecure_transport("DenyInsecureTransport", "s3:*",
                                              [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")]),
                      *extra_statements]
        # The policy waits for the public access block: S3 rejects a policy while that is being set.
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=policy_document(statements),
                            opts=child(self, depends_on=[public_access]))
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})


def encryption_rule(kms_key_arn: str) -> Any:
    """SSE-S3 by default; SSE-KMS with S3 bucket keys (fewer KMS calls, lower cost) for a customer key."""
    if kms_key_arn:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": kms_key_arn},
                "bucket_key_enabled": True}
    return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}


def lifecycle_rules(expiration_days: int, prefix: str) -> list[Any]:
    rules: list[Any] = [{
        "id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {"prefix": ""},
        "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS}}]
    if expiration_days > 0:
        # Versioned bucket: expiring the current version leaves a delete marker, so the
        # noncurrent versions are expired too, or nothing would ever be freed.
        rules.append({"id": "expire-landed-objects", "status": "Enabled", "filter": {"prefix": prefix},
                      "expiration": {"days": expiration_days},
                      "noncurrent_version_expiration": {"noncurrent_days": expiration_days}})
    return rules
