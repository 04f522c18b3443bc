"""The seed card's dispatcher, for ``--design seed``: start the Glue run and return.

This is the card's Lambda, adapted only so the real job can run (it passes the
job's arguments, built by the same ``job_arguments`` the real dispatcher uses,
instead of ``--bucket/--key/--filename``). It returns success at once, so
Lambda deletes the message and SQS releases the file's group while the run is
still going: the next file of the group starts beside it. That overlap is what
the demo shows; it lives here, in the emulator, because nothing deployable
should ever contain it.

The card enqueued one message per file. The v2 router records files in the ledger and sends a group's
wake-up instead, so under ``--design seed`` the router is wrapped (``seed_router``): it routes as deployed
(the report still finds every file in the ledger) and then enqueues each file's message as the card did.
The seed dispatcher deletes the router's wake-ups unread: the card knew of no such message.
"""

from __future__ import annotations

from typing import Any

from landing_pipeline.runtime.job_args import job_arguments
from landing_pipeline.runtime.queues import FileMessage, MalformedFileMessage
from landing_pipeline.runtime.spec import PipelineSpec


def seed_handler(glue: Any, job_name: str, spec: PipelineSpec, output_bucket: str) -> Any:
    """A ``handler(event, context)`` doing what the card's ``lambda_handler`` does."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            try:
                message = FileMessage.from_body(record["body"])
            except MalformedFileMessage:
                continue  # a v2 wake-up: the card's design has none
            print(f"Processing file: {message.key.rsplit('/', 1)[-1]} from {message.bucket}/{message.key}")
            response = glue.start_job_run(JobName=job_name, Arguments=job_arguments(
                spec, message.job_input, attempt=1, output_bucket=output_bucket))
            print(f"Started Glue Job run: {response['JobRunId']}")
        return {}

    return lambda_handler


def seed_router(router: Any, sqs: Any, deployment: Any) -> Any:
    """The deployed router, then the card's per-file message on the ordered queue (group = MessageGroupId,
    file id = dedup id), so the seed dispatcher gets one message per file as the card's did."""
    from landing_pipeline.runtime.events import IgnoredEvent, MalformedEvent, parse_message_body
    from landing_pipeline.runtime.grouping import UngroupableKey, group_for_key, to_message_group_id
    from landing_pipeline.runtime.router import ignore_reason

    spec, queue = deployment.spec, deployment.queues["ordered"]

    def lambda_handler(event: dict[str, Any], context: Any) -> Any:
        response = router(event, context)
        failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures") or []}
        for record in event["Records"]:
            if record["messageId"] in failed:
                continue
            try:
                objects = parse_message_body(record["body"])
            except (IgnoredEvent, MalformedEvent):
                continue
            for obj in objects:
                if ignore_reason(spec, obj) is not None:
                    continue
                try:
                    group = group_for_key(obj.key, spec)
                except UngroupableKey:
                    continue
                message = FileMessage(obj.dedup_id, obj.bucket, obj.key, obj.version_id, obj.etag, obj.size, group,
                                      None)
                sqs.send_message(QueueUrl=queue, MessageBody=message.to_body(),
                                 MessageGroupId=to_message_group_id(group), MessageDeduplicationId=obj.dedup_id)
        return response

    return lambda_handler
