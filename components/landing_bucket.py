"""The landing zone: where files arrive, with S3 -> EventBridge notifications on.

Either a new :class:`SecureBucket`, or a bucket the user already has. For an
existing bucket only what the pipeline needs is added: the EventBridge
notification switch. No bucket policy is written to it, because an
``aws.s3.BucketPolicy`` replaces the bucket's whole policy and would silently
drop the owner's statements; the pipeline's roles read it through their own
identity policies, which a same-account bucket does not need to grant.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from landing_pipeline.components.common import child, s3_arn
from landing_pipeline.components.secure_bucket import SecureBucket


class LandingBucket(pulumi.ComponentResource):
    """The bucket files land in, sending every object event to EventBridge."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, *, tags: Mapping[str, str], existing_bucket_name: str = "",
                 kms_key_arn: str = "", expiration_days: int = 0, key_prefix: str = "",
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("landing:index:LandingBucket", name, None, opts)
        self.bucket: aws.s3.Bucket | None = None
        """The created bucket; None for an existing one (``existing_bucket_name``), which this stack does not own."""
        if existing_bucket_name:
            self.bucket_name = pulumi.Output.from_input(existing_bucket_name)
            self.bucket_arn = s3_arn(existing_bucket_name)
            bucket_id: pulumi.Input[str] = existing_bucket_name
            depends: list[pulumi.Resource] = []
        else:
            bucket = SecureBucket(f"{name}-bucket", tags=tags, kms_key_arn=kms_key_arn,
                                  expiration_days=expiration_days, expiration_prefix=key_prefix,
                                  opts=child(self))
            self.bucket = bucket.bucket
            self.bucket_name = bucket.bucket_name
            self.bucket_arn = bucket.bucket_arn
            bucket_id = bucket.bucket_name
            depends = [bucket]
        # S3 keeps one notification configuration per bucket; EventBridge delivery lets any
        # number of rules (ours and yours) consume the same events.
        self.notification = aws.s3.BucketNotification(f"{name}-eventbridge", bucket=bucket_id, eventbridge=True,
                                  opts=child(self, depends_on=depends))
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
