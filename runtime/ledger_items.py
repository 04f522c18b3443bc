"""The ledger's item shapes and their DynamoDB encoding (the table in runtime/contract.py ``LEDGER_TABLE_V2``).

Kept apart from the reads and writes (``runtime.ledger``) so the layout can be read on one page:

- group item ``pk = g#<group>``, ``sk = #group``: ``GroupItem`` (seq, version, epoch, state, lease, ...);
- open file item ``pk = g#<group>``, ``sk = f#<order>\\x1f<file id>``: ``OpenFile`` plus the file's lineage;
- pointer item ``pk = id#<file id>``, ``sk = #file``: the file's group and sort key (dedup and correlation),
  its status, and once it is finished its whole history (``FileRecord``);
- run item ``pk = run#<run id>``, ``sk = #run``: the run's group and token;
- slot partition ``pk = slots``: the running-lease counter, the dead-file counter and the waiters' line.

A ledger of the v1 shape (one ``pk`` per file) is not read or migrated: nothing of v1 was deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from landing_pipeline.runtime.contract import (
    CHECK_INDEX_HASH,
    CHECK_INDEX_RANGE,
    CHECK_POOL,
    GROUP_ITEM_SK,
    GROUP_PK_PREFIX,
    LEDGER_KEY,
    LEDGER_SORT_KEY,
    POINTER_PK_PREFIX,
    POINTER_SK,
    RUN_PK_PREFIX,
    RUN_SK,
    SLOTS_COUNTER_SK,
    SLOTS_PK,
    WAITER_SK_PREFIX,
)
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase
from landing_pipeline.runtime.values import Frozen

Status = FileStatus
DEAD_COUNTER_SK = "#dead"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def group_key(group: str) -> dict[str, Any]:
    return {LEDGER_KEY: {"S": GROUP_PK_PREFIX + group}, LEDGER_SORT_KEY: {"S": GROUP_ITEM_SK}}


def file_key(group: str, sort_key: str) -> dict[str, Any]:
    return {LEDGER_KEY: {"S": GROUP_PK_PREFIX + group}, LEDGER_SORT_KEY: {"S": sort_key}}


def pointer_key(file_id: str) -> dict[str, Any]:
    return {LEDGER_KEY: {"S": POINTER_PK_PREFIX + file_id}, LEDGER_SORT_KEY: {"S": POINTER_SK}}


def run_key(run_id: str) -> dict[str, Any]:
    return {LEDGER_KEY: {"S": RUN_PK_PREFIX + run_id}, LEDGER_SORT_KEY: {"S": RUN_SK}}


def slots_key(sk: str = SLOTS_COUNTER_SK) -> dict[str, Any]:
    return {LEDGER_KEY: {"S": SLOTS_PK}, LEDGER_SORT_KEY: {"S": sk}}


def waiter_sk(waiting_since: float, group: str) -> str:
    return f"{WAITER_SK_PREFIX}{waiting_since:017.3f}#{group}"


class Lineage(Frozen):
    """What a file is, beyond its place in the group: what the job reads and operators see."""

    _fields = __slots__ = ("bucket", "key", "etag", "version_id", "size", "recorded_at")
    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int | None
    recorded_at: float

    def __init__(self, bucket: str, key: str, etag: str = "", version_id: str | None = None,
                 size: int | None = None, recorded_at: float = 0.0) -> None:
        self._init(bucket, key, etag, version_id, size, recorded_at)


class FileRecord(Frozen):
    """A file as operators see it: the pointer item (and the open item while the file is open)."""

    _fields = __slots__ = ("file_id", "group", "sort_key", "status", "bucket", "key", "version_id", "etag",
                           "size", "attempts", "attempt_base", "redrives", "deaths", "announced", "late", "run_ids",
                           "recorded_at", "landed_at", "finished_at", "output_location", "reason", "processed_by",
                           "batch_position")
    file_id: str
    group: str
    sort_key: str
    status: str
    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int | None
    attempts: int
    attempt_base: int
    redrives: int
    deaths: int
    announced: int
    late: bool
    run_ids: tuple[str, ...]
    recorded_at: float | None
    landed_at: float | None
    finished_at: float | None
    output_location: str | None
    reason: str | None
    processed_by: str | None      # the run that committed it
    batch_position: str | None    # its place in that run's batch, "2/5"

    def __init__(self, file_id: str, group: str, sort_key: str, status: str, bucket: str = "", key: str = "",
                 version_id: str | None = None, etag: str = "", size: int | None = None, attempts: int = 0,
                 attempt_base: int = 0, redrives: int = 0, deaths: int = 0, announced: int = 0, late: bool = False,
                 run_ids: tuple[str, ...] = (), recorded_at: float | None = None, landed_at: float | None = None,
                 finished_at: float | None = None, output_location: str | None = None, reason: str | None = None,
                 processed_by: str | None = None, batch_position: str | None = None) -> None:
        self._init(file_id, group, sort_key, status, bucket, key, version_id, etag, size, attempts, attempt_base,
                   redrives, deaths, announced, late, run_ids, recorded_at, landed_at, finished_at, output_location,
                   reason, processed_by, batch_position)

    @property
    def last_error(self) -> str | None:
        return self.reason

    @property
    def attempts_since_redrive(self) -> int:
        return self.attempts - self.attempt_base

    @property
    def received_at(self) -> str | None:
        """When the router recorded the file (ISO 8601), as v1's readers and the DLQ message bodies name it."""
        return iso(self.recorded_at) if self.recorded_at else None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FileRecord:
        plain = {name: decode_value(value) for name, value in item.items()}
        known = set(cls._fields)
        values = {k: v for k, v in plain.items() if k in known}
        values["run_ids"] = tuple(values.get("run_ids") or ())
        for name in ("recorded_at", "landed_at", "finished_at"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        return cls(**values)


def encode_value(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": repr(round(value, 3)) if isinstance(value, float) else str(value)}
    if isinstance(value, list | tuple):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def decode_value(av: Mapping[str, Any]) -> Any:
    if "S" in av:
        return av["S"]
    if "N" in av:
        text = str(av["N"])
        return float(text) if any(c in text for c in ".eE") else int(text)
    if "L" in av:
        return [decode_value(v) for v in av["L"]]
    if "BOOL" in av:
        return bool(av["BOOL"])
    return None


def _get(item: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = item.get(name)
    return default if value is None else decode_value(value)


def group_from_item(group: str, item: Mapping[str, Any] | None) -> GroupItem:
    """The group item (a group never seen: the initial state, version 0)."""
    if not item:
        return GroupItem(group)
    lease_at, not_before, check, since = (_get(item, n) for n in ("lease_at", "not_before", "next_check_at",
                                                                   "waiting_since"))
    return GroupItem(
        group=group, seq=int(_get(item, "seq", 0)), version=int(_get(item, "version", 0)),
        epoch=int(_get(item, "epoch", 0)), state=Phase(_get(item, "state", Phase.IDLE)),
        token=_get(item, "token"), run_id=_get(item, "run_id"), claimed_by=_get(item, "claimed_by"),
        lease_keys=tuple(_get(item, "lease_keys", ())), lease_at=None if lease_at is None else float(lease_at),
        not_before=None if not_before is None else float(not_before), wake_pending=bool(_get(item, "wake_pending",
                                                                                             False)),
        last_started_key=str(_get(item, "last_started_key", "")),
        next_check_at=None if check is None else float(check), waiting_since=None if since is None else float(since),
        feed=_get(item, "feed"))


def group_values(g: GroupItem) -> dict[str, Any]:
    """The group item's attributes after a write (None: remove the attribute)."""
    return {
        "group": g.group, "epoch": g.epoch, "state": str(g.state), "token": g.token, "run_id": g.run_id,
        "claimed_by": g.claimed_by, "lease_keys": list(g.lease_keys) or None, "lease_at": g.lease_at,
        "not_before": g.not_before, "wake_pending": g.wake_pending, "last_started_key": g.last_started_key or None,
        CHECK_INDEX_RANGE: g.next_check_at, CHECK_INDEX_HASH: CHECK_POOL if g.next_check_at is not None else None,
        "waiting_since": g.waiting_since,
    }


def open_file_from_item(item: Mapping[str, Any]) -> OpenFile:
    finished = _get(item, "finished_at")
    return OpenFile(
        sort_key=str(item[LEDGER_SORT_KEY]["S"]), file_id=str(_get(item, "file_id")),
        landed_at=float(_get(item, "landed_at", 0.0)), status=FileStatus(_get(item, "status", FileStatus.RECEIVED)),
        attempts=int(_get(item, "attempts", 0)), attempt_base=int(_get(item, "attempt_base", 0)),
        finished_at=None if finished is None else float(finished), deaths=int(_get(item, "deaths", 0)),
        announced=int(_get(item, "announced", 0)), late=bool(_get(item, "late", False)),
        redrives=int(_get(item, "redrives", 0)), reason=_get(item, "reason"), size=int(_get(item, "size", 0) or 0),
        alone=bool(_get(item, "alone", False)))


def open_file_values(f: OpenFile) -> dict[str, Any]:
    return {"status": str(f.status), "attempts": f.attempts, "attempt_base": f.attempt_base,
            "finished_at": f.finished_at, "deaths": f.deaths, "announced": f.announced, "late": f.late,
            "redrives": f.redrives, "reason": (f.reason or "")[:2000] or None, "alone": f.alone or None}


def lineage_values(lineage: Lineage) -> dict[str, Any]:
    return {"bucket": lineage.bucket, "key": lineage.key, "etag": lineage.etag, "version_id": lineage.version_id,
            "size": lineage.size, "recorded_at": lineage.recorded_at}


def lineage_from_item(item: Mapping[str, Any]) -> Lineage:
    size = _get(item, "size")
    return Lineage(bucket=str(_get(item, "bucket", "")), key=str(_get(item, "key", "")),
                   etag=str(_get(item, "etag", "")), version_id=_get(item, "version_id"),
                   size=None if size is None else int(size), recorded_at=float(_get(item, "recorded_at", 0.0)))


def item_of(key: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    item = dict(key)
    for name, value in values.items():
        encoded = encode_value(value)
        if encoded is not None:
            item[name] = encoded
    return item
