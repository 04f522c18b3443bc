"""What a decision about one group is made from: the group item, its open files, and the policy.

These are plain values, with no AWS types, so the same rules (``runtime.decide``) run in the Lambda
handlers, in the reconciler and in the simulator. The ledger (``runtime.ledger``) turns DynamoDB items
into them and back; the simulator builds them from its own model of the table.

Vocabulary, used the same way in the ledger, the docs and the simulator:

- a group's **open files** are its files that are neither SUCCEEDED nor SKIPPED, in order (``sort_key``);
  DEAD files stay open, so that ``onFailure: block`` can see them and the reconciler can announce them;
- the **lease** is the group's right to one Glue run: ``epoch`` (bumped at every start), ``token`` (the
  run token, a job argument), the files it covers (``lease_keys``), and the run id once known;
- ``version`` is bumped by every write except the router's, ``seq`` by every file the router records:
  a decision commits only if both are unchanged (a file recorded in between makes the commit fail).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from landing_pipeline.runtime.spec import PipelineSpec


class Phase(StrEnum):
    """The group's state. STARTING and RUNNING hold a lease; the others do not."""

    IDLE = "idle"
    SETTLING = "settling"                  # the head file is younger than settleSeconds
    STARTING = "starting"                  # lease taken, StartJobRun called or about to be; run id unknown
    RUNNING = "running"                    # lease with a known run id
    WAITING_FOR_SLOT = "waiting_for_slot"  # every Glue slot is taken; a release wakes the longest waiter
    BACKOFF = "backoff"                    # the head file failed and waits for its retry backoff
    BLOCKED = "blocked"                    # onFailure=block and the head file is DEAD


LEASED = (Phase.STARTING, Phase.RUNNING)


class FileStatus(StrEnum):
    """A file's status. RECEIVED, FAILED and DEAD are open; SUCCEEDED and SKIPPED are history.

    A file in the group's lease keeps the status it had (RECEIVED or FAILED): "in a run" is the lease's
    business (``GroupItem.lease_keys``), so taking a lease writes one item, not one per file."""

    RECEIVED = "RECEIVED"
    FAILED = "FAILED"        # its own run failed; retried after the backoff
    DEAD = "DEAD"            # attempts used up, input gone, or parked late; waits for an operator
    SUCCEEDED = "SUCCEEDED"
    SKIPPED = "SKIPPED"      # an operator skipped a DEAD file


OPEN_STATUSES = (FileStatus.RECEIVED, FileStatus.FAILED, FileStatus.DEAD)
STARTABLE_STATUSES = (FileStatus.RECEIVED, FileStatus.FAILED)


@dataclass(frozen=True)
class OpenFile:
    """One open file as a decision sees it (the ledger's file item, minus lineage)."""

    sort_key: str
    file_id: str
    landed_at: float           # the S3 event's time: the settle window counts from it
    status: FileStatus = FileStatus.RECEIVED
    attempts: int = 0          # runs charged to the file (its own failures only)
    attempt_base: int = 0      # attempts used before the latest redrive
    finished_at: float | None = None   # end of its latest failed run (its backoff counts from it)
    deaths: int = 0            # how many times it went DEAD: the death number of the latest death
    announced: int = 0         # the death number last announced on the dead-files queue
    late: bool = False         # recorded after a later file of the group had started
    redrives: int = 0
    reason: str | None = None  # why it failed or died, for the operator
    size: int = 0              # bytes (the landed object's size): what ``batch_max_bytes`` counts
    alone: bool = False        # a run killed at its timeout was on it in a batch: its next run takes it alone

    @property
    def attempts_since_redrive(self) -> int:
        return self.attempts - self.attempt_base

    @property
    def startable(self) -> bool:
        return self.status in STARTABLE_STATUSES


@dataclass(frozen=True)
class GroupItem:
    """The group item: the one item every decision about the group commits against."""

    group: str
    seq: int = 0
    version: int = 0
    epoch: int = 0
    state: Phase = Phase.IDLE
    token: str | None = None
    run_id: str | None = None
    claimed_by: str | None = None        # the run id that claimed the lease (fencing in the job)
    lease_keys: tuple[str, ...] = ()
    lease_at: float | None = None        # when the lease was taken
    not_before: float | None = None      # settle or backoff end
    wake_pending: bool = False           # a wake-up message for the group exists (sent, or held)
    last_started_key: str = ""           # the greatest sort key ever started: "late" is below it
    next_check_at: float | None = None   # when the reconciler looks at the group (None: never)
    waiting_since: float | None = None   # in line for a Glue slot since
    feed: str | None = None              # matchOn file_name stacks: the feed of the group's first file ("" none)

    @property
    def leased(self) -> bool:
        return self.state in LEASED


@dataclass(frozen=True)
class Policy:
    """The settings the rules read, as plain numbers (``Policy.from_spec``; the simulator may build one)."""

    max_attempts: int = 3
    on_failure: str = "continue"      # continue | block
    late_files: str = "run"           # run | park
    settle_s: float = 30.0
    retry_backoff_base_s: int = 60
    retry_backoff_cap_s: int = 900
    batch_max_files: int = 1
    batch_max_bytes: int = 0          # 0: no limit
    batch_window_s: float = 0.0       # an idle group's fresh head file waits this long for more files
    start_grace_s: float = 180.0      # a STARTING lease older than this is resolved from Glue
    check_interval_s: float = 300.0   # how often a running or waiting group is looked at (reconcileMinutes)
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_spec(cls, spec: PipelineSpec) -> Policy:
        """The grace of a STARTING lease outlasts the SDK's read timeout (30 s) plus the dispatcher's own
        timeout: an invocation that might still get StartJobRun's answer is never second-guessed."""
        return cls(max_attempts=spec.max_attempts, on_failure=spec.on_failure,
                   late_files=getattr(spec, "late_files", "run"),
                   settle_s=float(getattr(spec, "settle_seconds", 30)),
                   retry_backoff_base_s=spec.retry_backoff_base_s, retry_backoff_cap_s=spec.retry_backoff_cap_s,
                   batch_max_files=int(getattr(spec, "batch_max_files", 1)),
                   batch_max_bytes=int(getattr(spec, "batch_max_bytes", 0)),
                   batch_window_s=float(getattr(spec, "batch_window_seconds", 0)),
                   start_grace_s=float(spec.dispatcher_timeout_s + 30 + 60),
                   check_interval_s=60.0 * float(getattr(spec, "reconcile_minutes", 5)))

    def retry_backoff_s(self, attempts: int) -> int:
        """Delay before the retry after failed attempt ``attempts`` (1-based): doubling, capped."""
        return int(min(self.retry_backoff_base_s * 2 ** max(0, attempts - 1), self.retry_backoff_cap_s))


_T = TypeVar("_T")
_FIELDS: dict[type, frozenset[str]] = {}


def evolve(value: _T, **changes: Any) -> _T:
    """``dataclasses.replace`` for the rules' frozen values without its per-call field walk and ``__init__``
    (it was a quarter of the simulator's CPU): a copy of the instance dict with ``changes`` applied. The
    values have no ``__post_init__``; an unknown field name is refused, as ``replace`` refuses it."""
    cls = type(value)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    if not names.issuperset(changes):
        raise TypeError(f"{cls.__name__} has no field {sorted(set(changes) - names)}")
    copy = object.__new__(cls)
    state = copy.__dict__
    state.update(value.__dict__)
    state.update(changes)
    return copy


@functools.lru_cache(maxsize=65536)
def _group_digest(group: str) -> str:
    """The group name's SHA-256 in hex: a pure function of the name, asked for at every start and wake-up (a
    simulated saturated day asks it millions of times for ten thousand names), so it is remembered."""
    return hashlib.sha256(group.encode("utf-8")).hexdigest()


def run_token(group: str, epoch: int) -> str:
    """The lease's run token: unique per group and epoch, deterministic so a restart of an unanswered
    start (and a retried transaction) uses the same one. Fits a Glue argument and a DynamoDB key."""
    return f"{_group_digest(group)[:16]}-e{epoch}"


def wake_dedup_id(group: str, version: int, seq: int) -> str:
    """The FIFO dedup id of a wake-up: the group and the group item's ``version`` and ``seq`` at the write
    that set ``wake_pending`` (so they cover its epoch and not_before). A resend of that same wake-up (the
    reconciler after a crash) is dropped by SQS; any later wake-up has another id."""
    return f"{_group_digest(group)[:32]}-v{version}-s{seq}"
