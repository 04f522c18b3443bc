"""A batch run: the files of one lease, one after another in their order, on one Spark session.

Each file is processed exactly as a run of that file alone would process it (``ingest_job.run``: validation,
quarantine, lineage, output under the file version's own folder, snapshot merge, manifest) and **committed as
soon as it is done** (fenced: ``Fence.commit_one``, conditional on the run's claim), so a later failure, a kill
at the job timeout or a lost lease cannot undo it, and the next run of the group's files starts after it. The
first file that fails stops the batch: the exception propagates and Glue ends the run FAILED with that file's
message; the ledger says which file it was (the first one of the lease still open), and the files after it wait
again with no attempt counted (runtime/decide.py ``run_ended``).

The run manifest (``--run_manifest_uri``) holds the per-file results for operators: it is rewritten before and
after every file, so a run Glue kills leaves the files it finished and the one it was on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime.jobs.arguments import JobArgs, batch_files
from landing_pipeline.runtime.jobs.failures import IngestError
from landing_pipeline.runtime.jobs.storage import JsonStore

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from landing_pipeline.runtime.jobs.fencing import Fence

RUN_MANIFEST_VERSION = 1
Process = Callable[["SparkSession", JobArgs, JsonStore], dict[str, Any]]


def is_batch(args: JobArgs) -> bool:
    return bool(args.batch or args.batch_uri)


def files_of(args: JobArgs, store: JsonStore) -> list[JobArgs]:
    """The batch's files, from ``--batch`` or from the object ``--batch_uri`` names."""
    document = None
    if not args.batch and args.batch_uri:
        document = store.read(args.batch_uri)
        if document is None:
            raise IngestError(f"the batch list {args.batch_uri} does not exist: the dispatcher writes it before it "
                              "starts the run; redrive the group's files")
    return batch_files(args, document)


def run_batch(session: SparkSession, args: JobArgs, store: JsonStore, fence: Fence | None,
              process: Process) -> dict[str, Any]:
    """Process the batch in order; returns the run manifest (``fenced`` when a commit lost the lease)."""
    files = files_of(args, store)
    results: list[dict[str, Any]] = []
    summary: dict[str, Any] = {
        "manifest_version": RUN_MANIFEST_VERSION, "kind": "batch", "status": "RUNNING", "fenced": False,
        "job_name": args.job_name, "run_id": args.run_id, "run_token": args.run_token, "group": args.group,
        "files": results, "started_at": _now()}
    for position, one in enumerate(files, 1):
        entry: dict[str, Any] = {"position": position, "of": len(files), "file_id": one.file_id,
                                 "sort_key": one.sort_keys[0] if one.sort_keys else "", "attempt": one.attempt,
                                 "source_key": one.source_key, "status": "RUNNING", "started_at": _now()}
        results.append(entry)
        _write(store, args, summary)
        started = time.monotonic()
        try:
            manifest = process(session, one, store)
        except Exception as exc:
            entry.update(status="FAILED", error=str(exc)[:2000], duration_s=round(time.monotonic() - started, 3))
            summary.update(status="FAILED", failed_position=position, ended_at=_now())
            _write(store, args, summary)
            print(f"batch stopped at file {position} of {len(files)} ({one.file_id}): {exc}")
            raise
        committed = fence is None or fence.commit_one(entry["sort_key"], one.file_id, one.output_uri, position,
                                                      len(files))
        entry.update(status="SUCCEEDED" if committed else "FENCED", manifest_uri=one.manifest_uri,
                     output_uri=one.output_uri, rows_in=manifest.get("rows_in"), rows_out=manifest.get("rows_out"),
                     rows_quarantined=manifest.get("rows_quarantined"),
                     duration_s=round(time.monotonic() - started, 3))
        if not committed:
            print(f"fenced at the commit of file {position}: the lease {args.run_token} is no longer this run's; "
                  "the rest of the batch is left to the lease's owner")
            summary.update(status="FENCED", fenced=True, ended_at=_now())
            _write(store, args, summary)
            return summary
    summary.update(status="SUCCEEDED", ended_at=_now())
    _write(store, args, summary)
    return summary


def _write(store: JsonStore, args: JobArgs, summary: dict[str, Any]) -> None:
    if args.run_manifest_uri:
        store.write(args.run_manifest_uri, summary)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
