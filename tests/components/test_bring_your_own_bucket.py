"""An existing landing bucket: only the EventBridge switch is added; nothing of the owner's is replaced."""

from __future__ import annotations

import json

import pytest

from landing_pipeline.components.mocks import AwsMocks
from landing_pipeline.components.program_runner import run_program
from landing_pipeline.runtime.errors import SpecError
from tests.components.conftest import plan, statements

EXISTING = "acme-raw-drops"


def test_no_landing_bucket_is_created_and_only_the_notification_is_added() -> None:
    run = plan("dev", existingBucketName=EXISTING)
    buckets = run.of_type("aws:s3/bucket:Bucket")
    assert [b.name for b in buckets] == ["ingest-output"]
    landing = run.find("landing:index:LandingBucket")
    (notification,) = run.children_of(landing.urn)
    assert notification.type == "aws:s3/bucketNotification:BucketNotification"
    assert notification.inputs == {"bucket": EXISTING, "eventbridge": True}
    for owned in ("aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning",
                  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        assert all(r.inputs["bucket"] != EXISTING for r in run.of_type(owned)), owned
    assert run.exports["landing_bucket_name"] == EXISTING


def test_rules_and_roles_point_at_the_existing_bucket() -> None:
    run = plan("dev", existingBucketName=EXISTING)
    pattern = json.loads(run.find("aws:cloudwatch/eventRule:EventRule", "ingest-intake-rule").inputs["eventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [EXISTING]
    job_reads = [s for s in statements(run.find("aws:iam/rolePolicy:RolePolicy", "ingest-processing-role-policy"))
                 if s["Sid"] == "ReadLandedFiles"]
    assert job_reads[0]["Resource"] == [f"arn:aws:s3:::{EXISTING}/landing/*"]
    job_lists = [s for s in statements(run.find("aws:iam/rolePolicy:RolePolicy", "ingest-processing-role-policy"))
                 if s["Sid"] == "ListLandedPrefix"]
    assert job_lists[0]["Resource"] == [f"arn:aws:s3:::{EXISTING}"]


def test_expiring_landed_objects_of_an_existing_bucket_is_refused_with_the_fix() -> None:
    with pytest.raises(SpecError) as raised:
        run_program(AwsMocks(), "dev", overrides={"existingBucketName": EXISTING, "landedObjectExpirationDays": 30})
    (problem,) = raised.value.problems
    assert problem.setting == "landedObjectExpirationDays"
    assert "replaces every rule" in problem.message and "set it to 0" in problem.fix
