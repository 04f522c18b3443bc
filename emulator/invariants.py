"""The promise, checked from records the pipeline does not write: the chaos report's invariants.

Truth comes from four places outside the pipeline's bookkeeping: the landing log (what was uploaded,
when), the Glue engine's run log (what really ran, from when to when, how it ended), the router deliveries
the emulator watched (when the pipeline first *heard* of each file: the end of the first router invocation
that took its message and returned it as done) and the dead-letter queues read at the end. The ledger is
only a claim to check against them ("the ledger says DEAD, does a DLQ message name it?"): a pipeline that
believes its own mistakes must not be able to pass.

Every function here is pure: hand-made records in, counts and explanations out (tests/emulator/
test_invariants.py builds each violation by hand).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

INVARIANTS = ("overlapping_runs", "ordering_violations", "lost", "processed_twice", "dead_not_in_dlq")
"""Each must be 0; ``late`` and fenced runs are counted beside them, not as violations."""


class Run(Protocol):
    """A run as the Glue engine logged it (``observe.RunObservation``); ``fenced`` is read with getattr: a v2
    run that lost its lease claim reports it and did no work."""

    run_id: str
    key: str
    file_id: str
    group: str
    attempt: int
    start: float
    end: float | None
    state: str
    message: str


@dataclass(frozen=True)
class Landing:
    """One file version from the landing log; ``group`` by the stack's grouping rule applied to the key."""

    file_id: str
    key: str
    group: str
    at: float
    taken_in: bool = True
    """False when the stack's own rule ignores the key (outside keyPrefix, a suffix not in keySuffixes, ...)."""


@dataclass(frozen=True)
class OperatorAction:
    at: float
    action: str
    """``redrive`` (the file went back to the ordered queue) or ``skip`` (marked SKIPPED)."""
    file_id: str
    key: str
    seq: int | None = None
    """The run log's sequence number when the action began (``Recorder.tick``): at one pipeline instant, the
    runs it let start come after it and the runs before it do not (None: compare times only)."""


@dataclass
class Records:
    """Everything the invariants are computed from."""

    landings: list[Landing]
    runs: list[Run]
    heard: dict[str, float]
    """file id -> when the pipeline first heard of it (see ``heard_times``)."""
    dlq_files: set[str]
    """File ids a dead-letter queue message names at the end."""
    ledger_dead: set[str] = field(default_factory=set)
    """The ledger's claim: file ids it says are DEAD (checked against ``dlq_files``, never trusted)."""
    operator: list[OperatorAction] = field(default_factory=list)
    order_by: str = "landing_time"
    on_failure: str = "continue"
    now: float = 0.0
    """Pipeline time at the end: a run with no end counts as running until then."""
    deliveries: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    """The emulator's (time, function, ``file <id>`` | ``message <id>``, receive count, outcome) per record a
    function got: only to explain a timeline (what the dispatcher did with a file's message), never judged."""
    dropped_sends: list[tuple[float, str, str]] = field(default_factory=list)
    """(time, queue, deduplication id) of sends SQS's 5-minute FIFO window dropped: only to explain a timeline."""


@dataclass
class InvariantReport:
    invariants: dict[str, int]
    late: int
    fenced_runs: int
    violations: list[dict[str, Any]]
    late_files: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        """The groups involved in a violation, in first-seen order."""
        return list(dict.fromkeys(str(v["group"]) for v in self.violations if v.get("group")))


def heard_times(deliveries: Iterable[tuple[float, str, str, str, str]],
                intake_messages: dict[str, set[str]]) -> dict[str, float]:
    """File id -> the first time a router invocation that had one of the file's intake messages returned it
    as done (``deleted``): by then the pipeline has certainly recorded the file. ``deliveries`` are the
    emulator's (time, function, ``message <id>``, receive count, outcome) per record; ``intake_messages`` maps
    a file id to the intake message ids that announced it."""
    done: dict[str, float] = {}
    for at, _function, identity, _count, outcome in deliveries:
        if outcome == "deleted" and identity.startswith("message "):
            message_id = identity[len("message "):]
            done[message_id] = min(at, done.get(message_id, math.inf))
    heard: dict[str, float] = {}
    for file_id, messages in intake_messages.items():
        times = [done[m] for m in messages if m in done]
        if times:
            heard[file_id] = min(times)
    return heard


def order_key(landing: Landing, order_by: str) -> tuple[Any, ...]:
    """The stack's order within a group: landing time in whole seconds then key, or the file name."""
    if order_by == "file_name":
        return (landing.key.rsplit("/", 1)[-1], landing.key)
    return (math.floor(landing.at), landing.key)


def is_fenced(run: Run) -> bool:
    return bool(getattr(run, "fenced", False))


def _ordered_at(run: Run) -> float:
    """When the run started its file in the group's order: a batch's files all at the batch run's start (read
    with getattr: ``observe.per_file`` sets it), the job then going through them in order."""
    at = getattr(run, "ordered_at", None)
    return run.start if at is None else float(at)


def name_of(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def short_id(run_id: str) -> str:
    """A run id as people read it (``jr_`` and 10 hex digits: Glue's ids are 64); the JSON keeps the whole id."""
    return run_id[:13]


def _end(run: Run, now: float) -> float:
    return run.end if run.end is not None else now


Instant = tuple[float, int | None]
"""A pipeline time and the run log's sequence number then (None when unknown)."""


def _started(run: Run) -> Instant:
    return run.start, getattr(run, "start_seq", None)


def _before(a: Instant, b: Instant) -> bool:
    """``a`` strictly before ``b``: by time, and at one instant by sequence number when both have one (else
    neither is before the other)."""
    if a[0] != b[0] or a[1] is None or b[1] is None:
        return a[0] < b[0]
    return a[1] < b[1]


def _not_after(a: Instant, b: Instant) -> bool:
    """``a`` at or before ``b``: at one instant with no sequence numbers to tell, ``a`` counts as not after."""
    return not _before(b, a)


def check(records: Records) -> InvariantReport:
    landings = {landing.file_id: landing for landing in records.landings}
    working = [run for run in records.runs if not is_fenced(run)]
    runs_of: dict[str, list[Run]] = defaultdict(list)
    for run in sorted(working, key=_start_order):
        runs_of[run.file_id].append(run)
    violations: list[dict[str, Any]] = []
    violations += _overlaps(working, landings, records.now)
    ordering, late = _ordering(records, landings, runs_of)
    violations += ordering
    violations += _ends(records, landings, runs_of)
    counts = dict.fromkeys(INVARIANTS, 0)
    for violation in violations:
        counts[violation["invariant"]] += 1
    return InvariantReport(counts, len(late), len(records.runs) - len(working), violations, late)


def _instant_order(instant: Instant) -> tuple[float, int]:
    return instant[0], -1 if instant[1] is None else instant[1]


def _start_order(run: Run) -> tuple[float, int]:
    return _instant_order(_started(run))


def _group_of(run: Run, landings: dict[str, Landing]) -> str:
    landing = landings.get(run.file_id)
    return landing.group if landing is not None else run.group


def _overlaps(runs: list[Run], landings: dict[str, Landing], now: float) -> list[dict[str, Any]]:
    """Pairs of (unfenced) runs of one group going at the same time."""
    by_group: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_group[_group_of(run, landings)].append(run)
    found = []
    for group, group_runs in by_group.items():
        ordered = sorted(group_runs, key=_start_order)
        for i, first in enumerate(ordered):
            for second in ordered[i + 1:]:
                if second.start >= _end(first, now):
                    break
                found.append({
                    "invariant": "overlapping_runs", "group": group, "files": [name_of(first.key), name_of(second.key)],
                    "runs": [first.run_id, second.run_id], "at": second.start,
                    "why": f"run {short_id(second.run_id)} of {name_of(second.key)} started at {second.start:.1f} "
                           f"while run {short_id(first.run_id)} of {name_of(first.key)} "
                           f"({first.start:.1f}-{_end(first, now):.1f}, {first.state}) was going"})
    return found


def _finished_at(records: Records, landing: Landing, runs: list[Run], at: Instant) -> bool:
    """Whether, at ``at``, the file no longer needed to run before the group's later files: it had
    succeeded or been skipped, or (``onFailure: continue``) it was dead: no run going, none starting again
    before an operator's redrive, and it ended in a DLQ, was redriven later, or had given up after failing.
    Things at the same pipeline instant are ordered by the run log's sequence numbers where both have one
    (a run's start, an operator's action; ends by time alone: an end is logged after Glue shows it)."""
    now = at[0]
    if any(run.state == "SUCCEEDED" and run.end is not None and run.end <= now for run in runs):
        return True
    if any(a.action == "skip" and a.file_id == landing.file_id and _not_after((a.at, a.seq), at)
           for a in records.operator):
        return True
    if records.on_failure == "block":
        return False
    if any(_not_after(_started(run), at) and now < _end(run, records.now) for run in runs):
        return False
    redriven = sorted(((a.at, a.seq) for a in records.operator
                       if a.action == "redrive" and a.file_id == landing.file_id), key=_instant_order)
    since = [r for r in redriven if _before(r, at)]
    if since and not any(_not_after(since[-1], _started(run)) and run.end is not None and run.end <= now
                         for run in runs):
        return False  # redriven before ``at`` and not run (and dead) again since: it was waiting to run
    later = [r for r in redriven if _not_after(at, r)]
    redrive: Instant = later[0] if later else (math.inf, None)
    if any(_not_after(at, _started(run)) and _before(_started(run), redrive)
           and not (run.end is not None and run.end <= now) for run in runs):
        return False  # it runs again on its own: a retry's backoff or a wait for a slot, not a death
        # (a run that began and ended at this very instant, e.g. one refused at once for a deleted input on
        # virtual time, is over, not to come)
    if redrive[0] < math.inf or landing.file_id in records.dlq_files:
        return True
    ended = [run for run in runs if run.end is not None and run.end <= now]
    return bool(ended) and not any(run.state == "SUCCEEDED" for run in runs)


def _ordering(records: Records, landings: dict[str, Landing],
              runs_of: dict[str, list[Run]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Ordering violations (a start while an earlier file of the group, heard before it, was unfinished: one
    per pair of files) and late files (heard only after a later file of their group had started)."""
    by_group: dict[str, list[Landing]] = defaultdict(list)
    for landing in records.landings:
        if landing.taken_in:
            by_group[landing.group].append(landing)
    found: list[dict[str, Any]] = []
    late: list[str] = []
    for group, members in by_group.items():
        ordered = sorted(members, key=lambda landing: order_key(landing, records.order_by))
        for index, later in enumerate(ordered):
            for earlier in ordered[:index]:
                heard = records.heard.get(earlier.file_id, math.inf)
                starts = runs_of.get(later.file_id, [])
                if starts and _ordered_at(starts[0]) < heard < math.inf and earlier.key not in late:
                    late.append(earlier.key)
                for run in starts:
                    if heard < _ordered_at(run) and not _finished_at(records, earlier,
                                                                     runs_of.get(earlier.file_id, []), _started(run)):
                        found.append({
                            "invariant": "ordering_violations", "group": group,
                            "files": [name_of(earlier.key), name_of(later.key)], "runs": [run.run_id],
                            "at": run.start,
                            "why": f"{name_of(later.key)} started at {run.start:.1f} "
                                   f"(run {short_id(run.run_id)}) while "
                                   f"{name_of(earlier.key)}, earlier by {records.order_by} and heard at {heard:.1f}, "
                                   "had not finished"})
                        break
    return found, late


def _ends(records: Records, landings: dict[str, Landing], runs_of: dict[str, list[Run]]) -> list[dict[str, Any]]:
    """How each taken-in file ended: lost, processed twice, or dead by the ledger with no DLQ message."""
    found: list[dict[str, Any]] = []
    skipped = {a.file_id for a in records.operator if a.action == "skip"}
    for landing in records.landings:
        if not landing.taken_in:
            continue
        runs = runs_of.get(landing.file_id, [])
        successes = [run for run in runs if run.state == "SUCCEEDED"]
        base = {"group": landing.group, "files": [name_of(landing.key)], "at": landing.at}
        if not successes and landing.file_id not in skipped and landing.file_id not in records.dlq_files:
            states = ", ".join(run.state for run in runs) or "no run"
            found.append({**base, "invariant": "lost", "runs": [run.run_id for run in runs],
                          "why": f"{name_of(landing.key)} ended with no successful run, no skip and no DLQ message "
                                 f"(runs: {states})"})
        if len(successes) > 1:
            found.append({**base, "invariant": "processed_twice", "runs": [run.run_id for run in successes],
                          "why": f"{name_of(landing.key)} succeeded in {len(successes)} runs: "
                                 + ", ".join(f"{short_id(run.run_id)} ({run.start:.1f}-{_end(run, records.now):.1f})"
                                             for run in successes)})
        if landing.file_id in records.ledger_dead and landing.file_id not in records.dlq_files:
            found.append({**base, "invariant": "dead_not_in_dlq", "runs": [run.run_id for run in runs],
                          "why": f"the ledger says {name_of(landing.key)} is DEAD, but no DLQ message names it: no "
                                 "alarm, no operator will see it"})
    return found
