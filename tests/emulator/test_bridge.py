"""The deploy bridge: the real program creates a working stack in moto, and an unknown type is an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.bridge import BridgeError, MotoMocks
from landing_pipeline.emulator.deploy import Deployment, deploy, read_stack
from landing_pipeline.runtime.contract import DISPATCHER_HANDLER as DISPATCHER
from landing_pipeline.runtime.contract import ROUTER_HANDLER as ROUTER


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[InProcessAWS, Deployment]]:
    stack = read_stack("dev")
    with InProcessAWS(stack.region) as aws:
        yield aws, deploy(aws, stack)


def test_every_declared_resource_is_created_or_acknowledged(deployed: tuple[InProcessAWS, Deployment]) -> None:
    _, deployment = deployed
    custom = [r for r in deployment.program.resources if r.custom]
    assert len(deployment.created) == len(custom)
    by_type = {r.type for r in deployment.created}
    for token in ("aws:s3/bucket:Bucket", "aws:sqs/queue:Queue", "aws:cloudwatch/eventRule:EventRule",
                  "aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping",
                  "aws:glue/job:Job", "aws:dynamodb/table:Table", "aws:iam/role:Role"):
        assert token in by_type


def test_queues_mappings_and_job_carry_the_stacks_settings(deployed: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = deployed
    spec = deployment.spec
    ordered = aws.client("sqs").get_queue_attributes(QueueUrl=deployment.queues["ordered"],
                                                     AttributeNames=["All"])["Attributes"]
    assert ordered["FifoQueue"] == "true" and ordered["ContentBasedDeduplication"] == "true"
    assert json.loads(ordered["RedrivePolicy"])["maxReceiveCount"] == spec.receive_ceiling
    dispatcher = deployment.mapping_for(DISPATCHER)
    assert dispatcher.batch_size == 1 and dispatcher.reports_item_failures and dispatcher.fifo
    assert dispatcher.max_concurrency == max(2, spec.max_parallel_groups)
    job = aws.client("glue").get_job(JobName=deployment.job_name)["Job"]
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] >= spec.max_parallel_groups
    assert deployment.mapping_for(ROUTER).queue_url == deployment.queues["intake"]


def test_the_intake_rule_matches_what_s3_emits_and_nothing_else(deployed: tuple[InProcessAWS, Deployment]) -> None:
    aws, deployment = deployed
    s3, sqs = aws.client("s3"), aws.client("sqs")
    prefix = deployment.spec.key_prefix
    s3.put_object(Bucket=deployment.landing_bucket, Key=f"{prefix}orders_20250915_101500.csv", Body=b"a\n1\n")
    s3.put_object(Bucket=deployment.landing_bucket, Key="elsewhere/orders_20250915_101500.csv", Body=b"a\n1\n")
    s3.put_object(Bucket=deployment.landing_bucket, Key=f"{prefix}notes.txt", Body=b"not a data file")
    messages = sqs.receive_message(QueueUrl=deployment.queues["intake"], MaxNumberOfMessages=10,
                                   VisibilityTimeout=0).get("Messages") or []
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in messages] == [
        f"{prefix}orders_20250915_101500.csv"]


def test_a_resource_type_the_bridge_does_not_know_is_an_error_naming_it(tmp_path: Path) -> None:
    from landing_pipeline.components.program_runner import run_program

    program = tmp_path / "__main__.py"
    program.write_text("import pulumi_aws as aws\naws.ec2.Vpc('network', cidr_block='10.0.0.0/16')\n")
    stack = read_stack("dev")
    with InProcessAWS(stack.region) as aws, pytest.raises(BridgeError, match=r"aws:ec2/vpc:Vpc.*'network'"):
        mocks = MotoMocks(aws, stack.project_dir, "dev")
        run_program(mocks, "dev", project_dir=stack.project_dir, config=stack.config, program=program)
