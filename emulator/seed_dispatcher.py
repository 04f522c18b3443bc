"""The seed card's dispatcher, for ``--design seed``: start the Glue run and return.

This is the card's Lambda, adapted only so the real job can run (it passes the
job's arguments, built by the same ``job_arguments`` the real dispatcher uses,
instead of ``--bucket/--key/--filename``). It returns success at once, so
Lambda deletes the message and SQS releases the file's group while the run is
still going: the next file of the group starts beside it. That overlap is what
the demo shows; it lives here, in the emulator, because nothing deployable
should ever contain it.
"""

from __future__ import annotations

from typing import Any

from landing_pipeline.runtime.job_args import job_arguments
from landing_pipeline.runtime.queues import FileMessage
from landing_pipeline.runtime.spec import PipelineSpec


def seed_handler(glue: Any, job_name: str, spec: PipelineSpec, output_bucket: str) -> Any:
    """A ``handler(event, context)`` doing what the card's ``lambda_handler`` does."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            message = FileMessage.from_body(record["body"])
            print(f"Processing file: {message.key.rsplit('/', 1)[-1]} from {message.bucket}/{message.key}")
            response = glue.start_job_run(JobName=job_name, Arguments=job_arguments(
                spec, message.job_input, attempt=1, output_bucket=output_bucket))
            print(f"Started Glue Job run: {response['JobRunId']}")
        return {}

    return lambda_handler
