"""A pipeline's AWS resources in in-process moto, built to the contract in docs/interfaces.md, and small
drivers that play the parts of S3/EventBridge, the event source mappings and Glue's state change events."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.moto_api import state_manager

from landing_pipeline.runtime import completion, dispatcher, router
from landing_pipeline.runtime import contract as c
from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.context import RuntimeContext
from landing_pipeline.runtime.events import eventbridge_object_created
from landing_pipeline.runtime.spec import PipelineSpec, to_env

REGION = "us-east-1"
LANDING = "landing-zone"
OUTPUT = "landing-output"
JOB = "ingest-job"


class FakeClock:
    """The ledger's and handlers' clock; SQS visibility in moto runs on real time, so tests that need a
    held message back make it visible explicitly (as the passing of its visibility timeout would)."""

    def __init__(self, start: float = 1_757_930_000.0):
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class GlueFaults:
    """Wraps moto's Glue client the way the emulator does: fake run states moto cannot produce, a crash
    right after StartJobRun returns, refused starts."""

    def __init__(self, client: Any):
        self._client = client
        self.states: dict[str, dict[str, Any]] = {}
        self.crash_after_start = False
        self.refuse_next: list[str] = []
        self.starts: list[dict[str, str]] = []
        self.slots: int | None = None
        """MaxConcurrentRuns as Glue enforces it, with slots freed when a run ends (moto frees none while its
        runs stay RUNNING); None leaves the limit to moto."""
        self.active: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def start_job_run(self, **kwargs: Any) -> Any:
        if self.slots is not None and len(self.active) >= self.slots and not self.refuse_next:
            self.refuse_next.append("ConcurrentRunsExceededException")
        if self.refuse_next:
            code = self.refuse_next.pop(0)
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": code, "Message": "throttled (injected)"}}, "StartJobRun")
        response = self._client.start_job_run(**kwargs)
        self.active.add(response["JobRunId"])
        self.starts.append(kwargs["Arguments"])
        if self.crash_after_start:
            self.crash_after_start = False
            raise RuntimeError("dispatcher crashed right after StartJobRun (injected)")
        return response

    def end(self, run_id: str, state: str = "SUCCEEDED", error: str | None = None) -> None:
        """The run reaches a final state: Glue reports it from now on and its slot is free."""
        self.states[run_id] = {"JobRunState": state, **({"ErrorMessage": error} if error else {})}
        self.active.discard(run_id)

    def get_job_run(self, **kwargs: Any) -> Any:
        response = self._client.get_job_run(**kwargs)
        override = self.states.get(kwargs["RunId"])
        if override:
            response["JobRun"].update(override)
        return response


class SqsFaults:
    """Wraps moto's SQS client: moto accepts any receipt handle a message ever had, AWS does not. Handles
    put in ``stale`` are refused as AWS refuses a handle from before a redelivery."""

    def __init__(self, client: Any, clock: Callable[[], float] = lambda: 0.0):
        self._client = client
        self.clock = clock
        self.stale: set[str] = set()
        self.refuse: dict[str, str] = {}
        """Receipt handle -> error code every call with it raises (an SQS outage for that message)."""
        self.visibility: list[tuple[str, int]] = []
        """Every ChangeMessageVisibility the handlers made: (receipt handle, seconds)."""
        self._due: dict[str, tuple[str, str, float]] = {}  # message id -> (queue, handle, when it is visible)
        self._message_of: dict[str, str] = {}  # receipt handle -> message id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._client.receive_message(**kwargs)
        for message in response.get("Messages", []):
            self._message_of[message["ReceiptHandle"]] = message["MessageId"]
            self._due.pop(message["MessageId"], None)
        return response

    def expire_due(self) -> int:
        """Make visible every message whose visibility ended by the handlers' clock (moto keeps real time)."""
        now, expired = self.clock(), 0
        for message_id, (queue_url, handle, due) in list(self._due.items()):
            if due <= now:
                del self._due[message_id]
                self._client.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
                expired += 1
        return expired

    def next_due(self) -> float | None:
        return min((due for _, _, due in self._due.values()), default=None)

    def _check(self, handle: str, operation: str) -> None:
        from botocore.exceptions import ClientError

        if handle in self.stale:
            raise ClientError({"Error": {"Code": "ReceiptHandleIsInvalid", "Message": "stale (injected)"}},
                              operation)
        if handle in self.refuse:
            raise ClientError({"Error": {"Code": self.refuse[handle], "Message": "refused (injected)"}}, operation)

    def delete_message(self, **kwargs: Any) -> Any:
        self._check(kwargs["ReceiptHandle"], "DeleteMessage")
        self._due.pop(self._message_of.get(kwargs["ReceiptHandle"], ""), None)
        return self._client.delete_message(**kwargs)

    def change_message_visibility(self, **kwargs: Any) -> Any:
        handle, seconds = kwargs["ReceiptHandle"], int(kwargs["VisibilityTimeout"])
        self._check(handle, "ChangeMessageVisibility")
        response = self._client.change_message_visibility(**kwargs)
        self.visibility.append((handle, seconds))
        message_id = self._message_of.get(handle)
        if message_id is not None:
            if seconds > 0:
                self._due[message_id] = (kwargs["QueueUrl"], handle, self.clock() + seconds)
            else:
                self._due.pop(message_id, None)
        return response


@dataclass
class Pipeline:
    ctx: RuntimeContext
    clock: FakeClock
    glue: GlueFaults
    sqs_faults: SqsFaults
    env: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def sqs(self) -> Any:
        return self.ctx.sqs

    # --- S3 + EventBridge ---------------------------------------------------------------------
    def land(self, key: str, body: bytes = b"order_id,amount\n1,2.5\n") -> str:
        """Put an object and return the intake message body EventBridge would deliver for it."""
        put = self.ctx.s3.put_object(Bucket=LANDING, Key=key, Body=body)
        version = put.get("VersionId")
        return json.dumps(eventbridge_object_created(LANDING, key, size=len(body), etag=put["ETag"].strip('"'),
                                                     version_id=version))

    def route(self, *bodies: str) -> dict[str, Any]:
        return router.process_event(self.ctx, sqs_event(list(bodies)))

    # --- the ordered queue's event source mapping ---------------------------------------------
    def receive(self, queue_url: str | None = None, max_messages: int = 1) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(QueueUrl=queue_url or self.ctx.ordered_queue_url,
                                            MaxNumberOfMessages=max_messages, AttributeNames=["All"],
                                            MessageAttributeNames=["All"])
        return list(response.get("Messages", []))

    def dispatch_next(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Deliver the next visible ordered-queue message to the dispatcher, apply its batch response as
        Lambda would (delete on success, leave in flight on failure); None when nothing is deliverable."""
        messages = self.receive()
        if not messages:
            return None
        message = messages[0]
        response = dispatcher.process_event(self.ctx, sqs_event_from_messages(messages))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        if message["MessageId"] not in failed:
            self.sqs.delete_message(QueueUrl=self.ctx.ordered_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return response, message

    def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass on the handlers' clock; messages whose visibility ended become visible."""
        self.clock.advance(seconds)
        self.sqs_faults.expire_due()

    def reconcile(self) -> Any:
        """One pass of the scheduled reconciler."""
        from landing_pipeline.runtime.reconciler import reconcile

        return reconcile(self.ctx)

    def dispatch_all(self, limit: int = 20) -> list[str]:
        """Deliver every visible wake-up; the kinds of decision the dispatcher took (held ones too)."""
        kinds = []
        for _ in range(limit):
            handled = self.dispatch_next()
            if handled is None:
                break
            kinds.append("held" if handled[0]["batchItemFailures"] else "done")
        return kinds

    # --- Glue's state change events -----------------------------------------------------------
    def complete(self, run_id: str, state: str = "SUCCEEDED", message: str | None = None,
                 job_name: str = JOB) -> dict[str, Any]:
        self.glue.active.discard(run_id)  # the event comes after the run ended: its slot is free
        return completion.process_event(self.ctx, sqs_event([glue_event(job_name, run_id, state, message)]))

    def depth(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def file_id_of(self, key: str) -> str:
        matches = [f.file_id for f in self.ctx.ledger.all_files() if f.key == key]
        assert len(matches) == 1, f"{key}: {matches}"
        return matches[0]


def glue_event(job_name: str, run_id: str, state: str, message: str | None = None,
               time: str = "2025-09-15T10:20:00Z") -> str:
    return json.dumps({
        "version": "0", "id": f"evt-{run_id}-{state}", "detail-type": "Glue Job State Change",
        "source": "aws.glue", "account": "123456789012", "time": time, "region": REGION, "resources": [],
        "detail": {"jobName": job_name, "severity": "INFO" if state == "SUCCEEDED" else "ERROR", "state": state,
                   "jobRunId": run_id, "message": message or f"Job run {state.lower()}"},
    })


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {"Records": [{
        "messageId": f"m-{index}-{abs(hash(body)) % 10**8}", "receiptHandle": f"rh-{index}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1757930000000"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:intake", "awsRegion": REGION,
    } for index, body in enumerate(bodies)]}


def sqs_event_from_messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """ReceiveMessage output in the shape Lambda's event source mapping hands a function."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": dict(m.get("Attributes", {})),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"]}
                              for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:ordered.fifo", "awsRegion": REGION,
    } for m in messages]}


def create_resources(spec: PipelineSpec, *, max_concurrent_runs: int | None = None) -> dict[str, str]:
    """The resources the components create, per docs/interfaces.md; returns the functions' environment."""
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (LANDING, OUTPUT):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=LANDING, VersioningConfiguration={"Status": "Enabled"})
    sqs = boto3.client("sqs", region_name=REGION)
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq = sqs.create_queue(QueueName="ordered-dlq.fifo", Attributes=fifo)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ordered = sqs.create_queue(QueueName="ordered.fifo", Attributes={
        **fifo, "VisibilityTimeout": "360",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.receive_ceiling})})
    intake_dlq = sqs.create_queue(QueueName="intake-dlq")["QueueUrl"]
    dead_files = sqs.create_queue(QueueName="dead-files.fifo", Attributes=fifo)["QueueUrl"]
    create_ledger_table(boto3.client("dynamodb", region_name=REGION), "ledger")
    boto3.client("glue", region_name=REGION).create_job(
        Name=JOB, Role="arn:aws:iam::123456789012:role/job", GlueVersion="5.0",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{OUTPUT}/scripts/ingest_job.py"},
        ExecutionProperty={"MaxConcurrentRuns": max_concurrent_runs or spec.glue_max_concurrent_runs})
    return {**to_env(spec), c.ORDERED_QUEUE_URL_ENV: ordered["QueueUrl"], c.ORDERED_DLQ_URL_ENV: dlq,
            c.INTAKE_DLQ_URL_ENV: intake_dlq, c.LEDGER_TABLE_ENV: "ledger", c.JOB_NAME_ENV: JOB,
            c.OUTPUT_BUCKET_ENV: OUTPUT, c.DEAD_FILES_QUEUE_URL_ENV: dead_files}


def create_ledger_table(dynamodb: Any, name: str) -> None:
    """The ledger table exactly as runtime/contract.py ``LEDGER_TABLE_V2`` defines it."""
    table: dict[str, Any] = c.LEDGER_TABLE_V2
    indexes = []
    for index_name, index in table["indexes"].items():
        projection: dict[str, Any] = {"ProjectionType": index["projection_type"]}
        if index.get("non_key_attributes"):
            projection["NonKeyAttributes"] = list(index["non_key_attributes"])
        indexes.append({"IndexName": index_name, "Projection": projection,
                        "KeySchema": [{"AttributeName": index["hash_key"], "KeyType": "HASH"},
                                      {"AttributeName": index["range_key"], "KeyType": "RANGE"}]})
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in table["attributes"].items()],
        KeySchema=[{"AttributeName": table["hash_key"], "KeyType": "HASH"},
                   {"AttributeName": table["range_key"], "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=indexes)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield
    state_manager.unset_transition("glue::job_run")


@pytest.fixture
def runs_stay_running(aws: None) -> None:
    """Glue runs in moto stay RUNNING (moto otherwise reports SUCCEEDED at once)."""
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 10_000})


DEFAULT_SPEC = {"key_prefix": "landing/", "max_attempts": 3, "max_parallel_groups": 4, "retry_backoff_base_s": 30,
                "retry_backoff_cap_s": 300, "throttle_backoff_s": 30, "job_timeout_minutes": 30,
                "hold_margin_s": 600, "batch_max_files": 1}
"""The flow tests' stack: one file a run (``batch_max_files`` 1, not the default 10), since they follow single
runs; test_batch_flow.py and test_batches.py ask for batches themselves."""


@pytest.fixture
def make_pipeline(aws: None) -> Callable[..., Pipeline]:
    """Build the resources and a context; spec settings and the Glue job's MaxConcurrentRuns can be changed."""

    def build(max_concurrent_runs: int | None = None, **spec_changes: Any) -> Pipeline:
        spec = PipelineSpec(**{**DEFAULT_SPEC, **spec_changes})
        env = create_resources(spec, max_concurrent_runs=max_concurrent_runs)
        clock = FakeClock()
        glue = GlueFaults(boto3.client("glue", region_name=REGION))
        sqs = SqsFaults(boto3.client("sqs", region_name=REGION), clock)
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb")}
        ctx = RuntimeContext.from_env(env, clients={**clients, "glue": glue, "sqs": sqs}, clock=clock,
                                      rng=random.Random(7))
        obs.metrics.clear_metrics()
        return Pipeline(ctx=ctx, clock=clock, glue=glue, sqs_faults=sqs, env=env)

    return build


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Pipeline], runs_stay_running: None) -> Pipeline:
    return make_pipeline()


@pytest.fixture
def one_slot(make_pipeline: Callable[..., Pipeline], runs_stay_running: None) -> Pipeline:
    """One Glue slot that frees when its run ends (moto's own limit kept out of the way)."""
    pipeline = make_pipeline(max_concurrent_runs=100)
    pipeline.glue.slots = 1
    return pipeline


def metric_total(name: str) -> float:
    """Sum of a metric added since the last clear (the EMF document the next flush would print)."""
    entry = obs.metrics.provider.metric_set.get(name)
    return float(sum(entry["Value"])) if entry else 0.0
