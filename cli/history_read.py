"""``landing history export``'s reads: the ledger's file versions and the Glue job's run history.

Both through plain boto3 clients from a factory (AWS, ``--endpoint-url``, or moto in-process in tests), so the
same code reads a deployed pipeline and the emulator. The ledger is scanned strongly consistent (only the pointer
items ``id#<file id>``, which keep each file's whole history once it is finished); GetJobRuns is paged newest first
and stops once a whole page started before ``since`` (no run of a file landed after it can be older).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import Any

from landing_pipeline.cli.history_trace import GlueRun
from landing_pipeline.runtime.contract import (
    BATCH_ARG,
    BATCH_URI_ARG,
    FEED_ARG,
    FILE_ID_ARG,
    LEDGER_KEY,
    POINTER_PK_PREFIX,
)
from landing_pipeline.runtime.ledger_items import FileRecord

Clients = Callable[[str], Any]
OnPage = Callable[[str, int], None]
"""(what was read: "ledger" or "glue", how many items so far): progress on long reads."""

DPU_PER_WORKER = {"Standard": 1.0, "G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}
"""Glue's DPUs per worker type, for runs whose history has neither DPUSeconds nor MaxCapacity."""


def read_files(dynamodb: Any, table: str, on_page: OnPage | None = None) -> list[FileRecord]:
    """Every file version the ledger knows (its pointer item), strongly consistent, every page."""
    request: dict[str, Any] = {
        "TableName": table, "ConsistentRead": True, "FilterExpression": "begins_with(#pk, :p)",
        "ExpressionAttributeNames": {"#pk": LEDGER_KEY}, "ExpressionAttributeValues": {":p": {"S": POINTER_PK_PREFIX}}}
    found: list[FileRecord] = []
    for items in _pages(dynamodb.scan, request, "Items", "LastEvaluatedKey", "ExclusiveStartKey"):
        found += [FileRecord.from_item(item) for item in items]
        if on_page is not None:
            on_page("ledger", len(found))
    return found


def read_runs(glue: Any, s3: Any, job: str, since: float | None = None,
              on_page: OnPage | None = None) -> list[GlueRun]:
    """The job's runs of pipeline files (runs naming no file id are someone else's), oldest first."""
    runs: list[GlueRun] = []
    seen = 0
    for page in _pages(glue.get_job_runs, {"JobName": job}, "JobRuns", "NextToken", "NextToken"):
        seen += len(page)
        runs += [run for run in (glue_run(raw, s3) for raw in page) if run is not None]
        if on_page is not None:
            on_page("glue", seen)
        if since is not None and page and _newest_first(page) and _started(page[-1]) < since:
            break
    return sorted(runs, key=lambda r: r.started_at)


def glue_run(raw: Mapping[str, Any], s3: Any | None) -> GlueRun | None:
    """One GetJobRuns entry, with the files its arguments name (an inline --batch, a --batch_uri object, or the
    head's --file_id); None for a run of no pipeline file."""
    arguments = raw.get("Arguments") or {}
    files = _batch_files(arguments, s3) or ([arguments[FILE_ID_ARG]] if arguments.get(FILE_ID_ARG) else [])
    if not files:
        return None
    ended = raw.get("CompletedOn")
    execution = raw.get("ExecutionTime")
    return GlueRun(run_id=str(raw["Id"]), state=str(raw.get("JobRunState", "")), started_at=_started(raw),
                   ended_at=ended.timestamp() if ended is not None else None,
                   execution_s=float(execution) if execution is not None else None,
                   dpu_seconds=dpu_seconds(raw), files=tuple(files), feed=arguments.get(FEED_ARG) or None)


def dpu_seconds(raw: Mapping[str, Any]) -> float | None:
    """Glue's DPUSeconds when reported (auto scaling, Flex), else capacity x ExecutionTime (what is billed)."""
    if raw.get("DPUSeconds") is not None:
        return float(raw["DPUSeconds"])
    execution = raw.get("ExecutionTime")
    if execution is None:
        return None
    if raw.get("MaxCapacity"):
        return float(raw["MaxCapacity"]) * float(execution)
    workers, kind = raw.get("NumberOfWorkers"), raw.get("WorkerType")
    if workers and kind in DPU_PER_WORKER:
        return float(workers) * DPU_PER_WORKER[str(kind)] * float(execution)
    return None


def _batch_files(arguments: Mapping[str, str], s3: Any | None) -> list[str]:
    text = arguments.get(BATCH_ARG)
    if text:
        return [str(entry["file_id"]) for entry in json.loads(text)]
    uri = arguments.get(BATCH_URI_ARG, "")
    if not uri or s3 is None:
        return []
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:   # the batch list was cleaned up: the run is still known by its head file
        return []
    return [str(entry["file_id"]) for entry in document.get("files", [])]


def _started(raw: Mapping[str, Any]) -> float:
    started = raw.get("StartedOn")
    return float(started.timestamp()) if started is not None else 0.0


def _newest_first(page: list[Mapping[str, Any]]) -> bool:
    """Glue lists runs newest first; an endpoint that lists them otherwise (moto: oldest first) is read whole."""
    times = [_started(raw) for raw in page]
    return all(a >= b for a, b in pairwise(times))


def _pages(call: Callable[..., Any], request: dict[str, Any], items: str, next_out: str,
           next_in: str) -> Iterator[list[Any]]:
    while True:
        page = call(**request)
        yield list(page.get(items) or [])
        token = page.get(next_out)
        if not token:
            return
        request = {**request, next_in: token}
