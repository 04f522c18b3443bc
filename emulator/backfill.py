"""``landing demo --backfill``: files that were in the landing bucket before the pipeline, brought in by a backfill.

The files are put while the bucket sends no events (its notification configuration emptied, as a bucket was
before the stack turned EventBridge notifications on), so nothing reaches the intake queue; the configuration is
then put back and the backfill runs through ``cli/backfill_run.run_backfill``, the command's own code, against
the emulated account. The landing log (``Recorder.uploads``) records each put, so the demo's report and the
tests judge the result from what landed and what Glue ran, not from the backfill's own counts.
"""

from __future__ import annotations

from typing import Any

from landing_pipeline.cli.backfill_run import Outcome, Request, Target, run_backfill
from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.deploy import Deployment
from landing_pipeline.emulator.observe import Recorder, Upload
from landing_pipeline.emulator.workload import Arrival


def seed_before_intake(aws: InProcessAWS, deployment: Deployment, arrivals: list[Arrival],
                       recorder: Recorder) -> int:
    """Put every arrival's file into the landing bucket with its event notifications off; how many were put."""
    s3, bucket = aws.client("s3"), deployment.landing_bucket
    saved = {k: v for k, v in s3.get_bucket_notification_configuration(Bucket=bucket).items()
             if k != "ResponseMetadata"}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        for arrival in sorted(arrivals, key=lambda a: a.at):
            key = deployment.spec.key_prefix + arrival.name
            response = s3.put_object(Bucket=bucket, Key=key, Body=arrival.body)
            recorder.uploaded(Upload(key, response.get("VersionId"), response["ETag"].strip('"'),
                                     len(arrival.body), aws.clock.now()))
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=saved)
    return len(arrivals)


def target_of(aws: InProcessAWS, deployment: Deployment, stack: str = "dev") -> Target:
    return Target(stack=stack, bucket=deployment.landing_bucket, intake_queue_url=deployment.queues["intake"],
                  ledger_table=deployment.ledger_table, region=aws.region, account=aws.account_id)


def backfill(aws: InProcessAWS, deployment: Deployment, *, stack: str = "dev", dry_run: bool = False,
             request: Request | None = None) -> Outcome:
    """The whole landing prefix, as ``landing backfill --stack S`` does it (no checkpoint file)."""
    def clients(service: str) -> Any:
        return aws.client(service)

    return run_backfill(clients, deployment.spec, target_of(aws, deployment, stack),
                        request or Request(prefix=deployment.spec.key_prefix, dry_run=dry_run))
