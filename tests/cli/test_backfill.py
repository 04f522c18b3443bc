"""``landing backfill`` against moto: the intake message the router gets, what is left out and why, resuming
after an interruption, ``--dry-run``, and the refusals (exit 2, naming the option and the fix).

The end-to-end behaviour (each file processed once, in order; a second backfill processes none) is judged
from the Glue engine's run log in tests/emulator/test_backfill.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from landing_pipeline.cli.backfill_core import event_body, list_current
from landing_pipeline.cli.backfill_run import Hooks, Request, Target, run_backfill
from landing_pipeline.cli.main import app
from landing_pipeline.runtime.events import parse_message_body
from landing_pipeline.runtime.order import event_epoch_s, order_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import load_stack

REGION = "eu-west-1"   # Pulumi.dev.yaml's aws:region
BUCKET = "landing-bucket"
runner = CliRunner()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="intake")["QueueUrl"]
        yield {"s3": s3, "sqs": sqs, "url": url}


def put(s3: Any, *keys: str, body: bytes = b"a,b\n1,2\n") -> None:
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(batch)])
    return bodies


def target(url: str) -> Target:
    return Target(stack="dev", bucket=BUCKET, intake_queue_url=url, region=REGION, account="123456789012")


def spec() -> PipelineSpec:
    return load_stack("dev")


def clients(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def test_the_message_is_what_the_router_parses_with_the_versions_own_dedup_id(aws: dict[str, Any]) -> None:
    put(aws["s3"], "landing/orders_20250915_101500.csv")
    put(aws["s3"], "landing/orders_20250915_101500.csv", body=b"a,b\n3,4\n")   # the current version is this one
    head = aws["s3"].head_object(Bucket=BUCKET, Key="landing/orders_20250915_101500.csv")
    (listed,) = list(list_current(aws["s3"], BUCKET, "landing/"))
    (obj,) = parse_message_body(event_body(BUCKET, listed, region=REGION, account="123456789012"))
    assert obj.version_id == head["VersionId"] and obj.etag == head["ETag"].strip('"') and obj.size == 8
    assert obj.key == "landing/orders_20250915_101500.csv" and obj.sequencer is None
    assert event_epoch_s(obj.event_time, 0) == int(head["LastModified"].timestamp())   # time = when it landed
    # no sequencer: the order key is (landing second, key)
    assert order_key("landing_time", landed_s=event_epoch_s(obj.event_time, 0), key=obj.key, sequencer=None) \
        .startswith(f"{int(head['LastModified'].timestamp()):011d}")


def test_keys_the_intake_rule_or_router_would_not_take_are_left_out_and_counted(aws: dict[str, Any]) -> None:
    put(aws["s3"], "landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv",
        "landing/notes.txt", "landing/folder/")
    put(aws["s3"], "landing/empty_20250915_000000.csv", body=b"")
    aws["s3"].put_object(Bucket=BUCKET, Key="landing/gone_20250915_000000.csv", Body=b"x")
    aws["s3"].delete_object(Bucket=BUCKET, Key="landing/gone_20250915_000000.csv")   # its latest: a delete marker
    outcome = run_backfill(clients, spec(), target(aws["url"]), Request(prefix="landing/"))
    assert outcome.submitted == 2
    skipped = dict(outcome.selection.skipped)
    assert sum(skipped.values()) == 3
    assert any("intake rule would not deliver" in r and "keySuffixes" in r for r in skipped)   # notes.txt
    assert any("folder marker" in r for r in skipped) and any("zero-byte" in r for r in skipped)
    keys = sorted(json.loads(b)["detail"]["object"]["key"] for b in drain(aws["sqs"], aws["url"]))
    assert keys == ["landing/orders_20250915_101500.csv", "landing/orders_20250915_103000.csv"]


def test_an_interrupted_backfill_continues_after_the_last_batch_sent(aws: dict[str, Any], tmp_path: Path) -> None:
    keys = [f"landing/orders_20250915_{i:06d}.csv" for i in range(35)]
    put(aws["s3"], *keys)
    request = Request(prefix="landing/", state_dir=tmp_path)

    def stop_after_two_batches(sent: int) -> None:
        if sent >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_backfill(clients, spec(), target(aws["url"]), request, Hooks(sent=stop_after_two_batches))
    assert len(list(tmp_path.iterdir())) == 1   # the checkpoint
    again = run_backfill(clients, spec(), target(aws["url"]), request)
    assert again.resumed_after == keys[19] and again.submitted_before == 20 and again.submitted == 15
    sent = [json.loads(b)["detail"]["object"]["key"] for b in drain(aws["sqs"], aws["url"])]
    assert sorted(sent) == keys   # every key once: nothing lost, nothing sent twice
    assert not list(tmp_path.glob("*.json"))   # finished: the next backfill starts from the first key
    assert run_backfill(clients, spec(), target(aws["url"]), request).submitted == 35


def test_dry_run_sends_nothing_and_estimates_the_drain(aws: dict[str, Any]) -> None:
    put(aws["s3"], *[f"landing/orders_202509{d:02d}_{i:06d}.csv" for d in (1, 2, 3) for i in range(4)])
    outcome = run_backfill(clients, spec(), target(aws["url"]), Request(prefix="landing/", dry_run=True))
    assert outcome.submitted == 0 and drain(aws["sqs"], aws["url"]) == []
    assert len(outcome.shape.groups) == 3 and dict(outcome.shape.feeds) == {"orders": 12}
    assert outcome.estimate is not None and outcome.estimate.files == 12
    assert outcome.estimate.drain_s > 0 and outcome.estimate.cost_usd > 0


def cli(*args: str) -> Any:
    return runner.invoke(app, ["backfill", "--bucket", BUCKET, *args])


def test_the_command_prints_files_groups_feeds_and_what_it_sent(aws: dict[str, Any], tmp_path: Path) -> None:
    put(aws["s3"], "landing/orders_20250915_101500.csv", "landing/customers_20250915_102000.csv", "landing/x.txt")
    result = cli("--intake-queue-url", aws["url"], "--state-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "2 file(s) in 2 group(s); feeds: " in result.output and "skipped 1: the intake rule" in result.output
    assert "sent 2 message(s)" in result.output and len(drain(aws["sqs"], aws["url"])) == 2


@pytest.mark.parametrize(("args", "words"), [
    (("--prefix", "elsewhere/"), ("--prefix 'elsewhere/' is outside the stack's keyPrefix 'landing/'", "Fix")),
    (("--prefix", "landing/none_"), ("no object under --prefix 'landing/none_'", "Fix")),
    (("--since", "2025-09-16", "--until", "2025-09-15"), ("--since 2025-09-16", "is after --until", "Fix")),
    (("--since", "yesterday"), ("--since 'yesterday' is not a time", "Fix")),
    (("--since", "1d"), ("landed outside --since/--until", "Fix: widen")),
    (("--bucket", "no-such-bucket"), ("no bucket 'no-such-bucket'", "Fix: --bucket")),
])
def test_bad_input_is_refused_naming_the_option_and_the_fix(aws: dict[str, Any], args: tuple[str, ...],
                                                            words: tuple[str, ...], tmp_path: Path) -> None:
    put(aws["s3"], "landing/orders_20250915_101500.csv")
    if args[:1] == ("--since",) and args[1] == "1d":   # everything landed more than a day ago
        args = ("--until", "2000-01-01")
    result = cli("--intake-queue-url", aws["url"], "--state-dir", str(tmp_path), *args)
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output.replace("\n", " ")
    assert drain(aws["sqs"], aws["url"]) == []


def test_a_missing_queue_is_refused_naming_the_option(aws: dict[str, Any], tmp_path: Path) -> None:
    put(aws["s3"], "landing/orders_20250915_101500.csv")
    gone = aws["url"].rsplit("/", 1)[0] + "/no-such-queue"
    result = cli("--intake-queue-url", gone, "--state-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "no intake queue" in result.output and "--intake-queue-url" in result.output


def test_without_a_queue_url_the_target_of_the_buckets_intake_rule_is_used(aws: dict[str, Any],
                                                                            tmp_path: Path) -> None:
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}
    events.put_rule(Name="intake", EventPattern=json.dumps(pattern))
    arn = aws["sqs"].get_queue_attributes(QueueUrl=aws["url"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="intake", Targets=[{"Id": "q", "Arn": arn}])
    put(aws["s3"], "landing/orders_20250915_101500.csv")
    result = cli("--state-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(drain(aws["sqs"], aws["url"])) == 1
    events.remove_targets(Rule="intake", Ids=["q"])
    missing = cli("--state-dir", str(tmp_path))
    assert missing.exit_code == 2 and "--intake-queue-url" in missing.output
