"""The demo's result: every file with its runs, and the summary that says whether the promise held.

Statuses come from the ledger (what operators would see); run intervals come
from the Glue engine (what really ran), so an overlap the pipeline never heard
of is counted too. ``overlapping_runs`` counts pairs of runs of one group that
overlap in time; ``ordering_violations`` counts pairs of files of one group
whose successful runs started against the stack's order (``orderBy``: the
ledger's order key), a *late* file (recorded after a later file of its group
had started) apart: those are counted as ``late`` beside it, as the pipeline
logs them; ``max_parallel_groups`` is the peak number of groups with a run
going at the same moment.

A file's ``enqueue_seq`` is its position in the stack's order (1, 2, ... over
all files, by the ledger's order key; within a group, the order the group runs
its files in). The name is v1's, whose order was the ordered queue's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from landing_pipeline.emulator.observe import RunObservation, Upload

FINAL = ("SUCCEEDED", "DEAD", "SKIPPED")


@dataclass(frozen=True)
class LedgerView:
    """The part of a ledger file item the report reads."""

    file_id: str
    key: str
    group: str
    status: str
    attempts: int
    order: str
    """The ledger's order key of the file (its sort key under its group)."""
    last_error: str | None
    late: bool = False


def build(uploads: list[tuple[str, Upload]], ledger: dict[str, LedgerView], runs: list[RunObservation],
          intake_messages: dict[str, set[str]], enqueued: dict[str, int], *, design: str, group_of: Any, now: float,
          wall_s: float, ignored_reason: Callable[[Upload], str] | None = None,
          feed_of: Callable[[str, str], str | None] | None = None) -> dict[str, Any]:
    """``uploads``: (file id, upload) in landing order; ``enqueued``: file id -> position of its first message in
    the ordered queue (``--design seed``, whose card enqueues one message per file; empty otherwise: the order
    is then the ledger's order key); ``group_of(key)``: the grouping rule, for files the ledger never saw;
    ``ignored_reason(upload)``: why the pipeline did not take a file in (the router's own rule); ``feed_of(key,
    group)``: the feed the file belongs to (``feeds``), None for a file of no feed."""
    if not enqueued:
        ranked = sorted(ledger.values(), key=lambda v: (v.order, v.file_id))
        enqueued = {view.file_id: position for position, view in enumerate(ranked, 1)}
    runs_by_file: dict[str, list[RunObservation]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r.start):
        runs_by_file[run.file_id].append(run)
    files = []
    seen: set[str] = set()
    for file_id, upload in uploads:
        if file_id in seen:
            continue
        seen.add(file_id)
        record = ledger.get(file_id)
        file_runs = runs_by_file.get(file_id, [])
        status, attempts = _status(record, file_runs, design)
        group = record.group if record else _group(group_of, upload.key)
        files.append({
            "key": upload.key, "file_id": file_id,
            "group": group, "feed": feed_of(upload.key, group) if feed_of is not None and group else None,
            "status": status, "attempts": attempts,
            "enqueue_seq": enqueued.get(file_id),
            "runs": [{"run_id": r.run_id, "start": round(r.start, 3),
                      "end": round(r.end, 3) if r.end is not None else None, "state": r.state,
                      **({"error": r.message} if r.message and r.state != "SUCCEEDED" else {}),
                      **_batch_of(r)} for r in file_runs],
            "reason": _reason(status, record, file_runs, upload, ignored_reason),
            "late": bool(record.late) if record else False,
            "_landed_at": round(upload.at, 3),
        })
        files[-1]["_reason"] = files[-1]["reason"]
    duplicates = 0
    for file_id, messages in intake_messages.items():
        successes = sum(1 for r in runs_by_file.get(file_id, []) if r.state == "SUCCEEDED")
        duplicates += max(0, (len(messages) - 1) - max(0, successes - 1))
    summary = {
        "files": len(files),
        "succeeded": sum(1 for f in files if f["status"] == "SUCCEEDED"),
        "dead": sum(1 for f in files if f["status"] == "DEAD"),
        "ignored": sum(1 for f in files if f["status"] == "IGNORED"),
        "taken_in": sum(1 for f in files if f["status"] != "IGNORED"),
        "duplicates_suppressed": duplicates,
        "overlapping_runs": overlapping_runs(runs, now),
        "ordering_violations": ordering_violations(files),
        "late": sum(1 for f in files if f["late"]),
        "max_parallel_groups": max_parallel_groups(runs, now),
        "max_handoff_s": max_handoff_s(files),
        "wall_s": round(wall_s, 3),
    }
    return {"files": files, "summary": summary}


def _batch_of(run: RunObservation) -> dict[str, Any]:
    """A batch file's run names the Glue run it was part of (one run, many files: the timeline draws it once)."""
    batch = run.batch
    if batch is None:
        return {}
    return {"batch": {"run_id": batch.run_id, "place": run.place, "files": len(batch.files),
                      "start": round(batch.start, 3), "end": round(batch.end, 3) if batch.end is not None else None,
                      "state": batch.state}}


def to_json(report: dict[str, Any]) -> dict[str, Any]:
    """The report in exactly the documented format (the emulator's own ``_`` fields left out)."""
    return {"files": [{k: v for k, v in f.items() if not k.startswith("_")} for f in report["files"]],
            "summary": dict(report["summary"])}


def _reason(status: str, record: LedgerView | None, runs: list[RunObservation], upload: Upload,
            ignored_reason: Callable[[Upload], str] | None) -> str | None:
    """Why a file did not simply succeed: the ledger's last error, else its last failed run's error, or for an
    IGNORED file why the pipeline did not take it in."""
    if status == "SUCCEEDED":
        return None
    if status == "IGNORED":
        return ignored_reason(upload) if ignored_reason else "the pipeline never took this upload in"
    if record is not None and record.last_error:
        return record.last_error
    failed = [r for r in runs if r.state != "SUCCEEDED" and r.message]
    return f"run {len(runs)}: {failed[-1].message}" if failed else None


def _status(record: LedgerView | None, runs: list[RunObservation], design: str) -> tuple[str, int]:
    if design == "seed":  # the card's dispatcher writes no ledger: what happened is what Glue did
        if any(r.state == "SUCCEEDED" for r in runs):
            return "SUCCEEDED", len(runs)
        if runs:
            return runs[-1].state, len(runs)
    if record is None:
        return "IGNORED", len(runs)
    return record.status, max(record.attempts, 0)


def _group(group_of: Any, key: str) -> str:
    try:
        return str(group_of(key))
    except Exception as exc:  # a key the rule rejects has no group; say why instead of failing the report
        return f"(ungroupable: {exc})"


def _intervals(runs: Iterable[RunObservation], now: float) -> dict[str, list[tuple[float, float]]]:
    by_group: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        by_group[run.group].append((run.start, run.end if run.end is not None else now))
    return by_group


def overlapping_runs(runs: Iterable[RunObservation], now: float) -> int:
    pairs = 0
    for intervals in _intervals(runs, now).values():
        ordered = sorted(intervals)
        for i, (_, end_i) in enumerate(ordered):
            for start_j, _ in ordered[i + 1:]:
                if start_j >= end_i:
                    break
                pairs += 1
    return pairs


def ordering_violations(files: list[dict[str, Any]]) -> int:
    """Pairs of one group's files whose successful runs started in the opposite order to the stack's order
    (``enqueue_seq``), unless the earlier one is late: it was not known when the later one started."""
    by_group: dict[str, list[tuple[int, float, bool]]] = defaultdict(list)
    for position, file in enumerate(files):
        started = [run["start"] for run in file["runs"] if run["state"] == "SUCCEEDED"]
        if started:
            order = file["enqueue_seq"] if file["enqueue_seq"] is not None else 10**12 + position  # not enqueued
            by_group[file["group"]].append((order, started[0], bool(file.get("late"))))
    violations = 0
    for entries in by_group.values():
        entries.sort()
        for i, (_, start_i, late_i) in enumerate(entries):
            if not late_i:
                violations += sum(1 for _, start_j, _ in entries[i + 1:] if start_j < start_i)
    return violations


def max_parallel_groups(runs: Iterable[RunObservation], now: float) -> int:
    """Peak count of groups with at least one run going at the same instant (a run's end frees before a start)."""
    edges: list[tuple[float, int, str]] = []
    for group, intervals in _intervals(runs, now).items():
        for start, end in intervals:
            edges += [(start, 1, group), (end, 0, group)]
    active: dict[str, int] = defaultdict(int)
    peak = 0
    for _, kind, group in sorted(edges):
        active[group] += 1 if kind else -1
        peak = max(peak, sum(1 for count in active.values() if count > 0))
    return peak


def max_handoff_s(files: list[dict[str, Any]]) -> float:
    """The longest a group's next run started after its previous run ended, counted only when that next run's
    file had landed before the end (so the wait was the pipeline's: a settle, a backoff, a slot, or a lost Glue
    event found by the reconciler's next pass), in pipeline seconds."""
    by_group: dict[str, list[tuple[float, float | None, float]]] = defaultdict(list)
    for file in files:
        for run in file["runs"]:
            by_group[file["group"]].append((run["start"], run["end"], file["_landed_at"]))
    longest = 0.0
    for runs in by_group.values():
        runs.sort()
        for (_, end, _), (start, _, landed) in pairwise(runs):
            if end is not None and landed <= end <= start:
                longest = max(longest, start - end)
    return round(longest, 3)
