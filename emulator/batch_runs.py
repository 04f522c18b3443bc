"""The files a Glue run was asked for, read from its arguments as the job reads them: the head's own arguments,
then the batch list (``--batch`` inline, or the object ``--batch_uri`` names)."""

from __future__ import annotations

import json
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.runtime.contract import BATCH_ARG, BATCH_URI_ARG, SOURCE_KEY_ARG


def batch_entries(aws: InProcessAWS, arguments: dict[str, str]) -> list[dict[str, str]]:
    """A batch run's files as its arguments name them; empty for a run of one file."""
    if arguments.get(BATCH_ARG):
        return list(json.loads(arguments[BATCH_ARG]))
    uri = arguments.get(BATCH_URI_ARG, "")
    if not uri:
        return []
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return list(json.loads(aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["files"])


def run_keys(aws: InProcessAWS, arguments: dict[str, str]) -> list[str]:
    """The keys of every file a StartJobRun asks for, head first, each once.

    A fault aimed at a file fires on any start that includes it, whether the file heads its run or rides in a
    batch: which of the two it does depends on when its record reached the ledger, so on the machine's load.
    The batch object is read from moto's S3 directly because this runs inside moto's StartJobRun, where a
    request through a client would pass the emulator's request hooks (and their faults) a second time."""
    head = arguments.get(SOURCE_KEY_ARG, "")
    entries: list[dict[str, Any]]
    if arguments.get(BATCH_ARG):
        entries = json.loads(arguments[BATCH_ARG])
    elif arguments.get(BATCH_URI_ARG):
        from moto.s3.models import s3_backends

        bucket, _, key = arguments[BATCH_URI_ARG].removeprefix("s3://").partition("/")
        stored = s3_backends[aws.account_id]["aws"].get_object(bucket, key)
        entries = json.loads(stored.value)["files"] if stored is not None else []   # the job will say it is gone
    else:
        return [head]
    return list(dict.fromkeys([head, *(str(entry.get("source_key", "")) for entry in entries)]))
