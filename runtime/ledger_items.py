"""What the ledger holds: file and run items, their statuses, and their DynamoDB attribute encoding.

Kept apart from the reads and writes in ``runtime.ledger`` so the status table
and the item shape (the contract in docs/interfaces.md) can be read on one page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from landing_pipeline.runtime.contract import FILE_PREFIX, LEDGER_KEY, WAIT_HANDLE, WAIT_INDEX_HASH, WAIT_INDEX_RANGE

WAIT_ATTRIBUTES = (WAIT_INDEX_HASH, WAIT_INDEX_RANGE, WAIT_HANDLE)
"""What lists a file in ``by_waiting``; a started run removes all three."""


class Status(StrEnum):
    RECEIVED = "RECEIVED"
    BLOCKED = "BLOCKED"      # on_failure=block: an earlier file of the group is DEAD
    STARTING = "STARTING"    # intent recorded; the Glue run may or may not exist yet
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"        # an attempt failed; the file will be retried
    DEAD = "DEAD"            # attempts used up or terminal error; parked in the FIFO DLQ
    SKIPPED = "SKIPPED"      # an operator skipped a DEAD file


STARTABLE = (Status.RECEIVED, Status.BLOCKED, Status.FAILED)
IN_FLIGHT = (Status.STARTING, Status.RUNNING)
NOT_FINAL = (*STARTABLE, *IN_FLIGHT)
RELEASES_GROUP = (Status.SUCCEEDED, Status.SKIPPED)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sequence(ts: float, file_id: str) -> str:
    """A sortable position in a group's history: zero-padded epoch milliseconds, then the file id's head."""
    return sequence_at_ms(int(ts * 1000), file_id)


def sequence_at_ms(epoch_ms: int, file_id: str) -> str:
    return f"{epoch_ms:015d}#{file_id[:8]}"


@dataclass(frozen=True)
class FileRecord:
    """One file version as the ledger holds it."""

    file_id: str
    bucket: str
    key: str
    group: str
    etag: str = ""
    version_id: str | None = None
    size: int | None = None
    status: str = Status.RECEIVED
    attempts: int = 0
    attempt_base: int = 0     # attempts used before the latest operator redrive
    redrives: int = 0
    run_ids: tuple[str, ...] = ()
    current_run_id: str | None = None
    receipt_handle: str | None = None
    received_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    output_location: str | None = None
    last_error: str | None = None
    received_seq: str = ""
    enqueue_seq: str = ""
    wait_pool: str | None = None      # WAIT_POOL while the file waits for a Glue slot (the by_waiting index)
    waiting_since: str | None = None  # its place in line (received_seq format), kept when it waits again
    wait_handle: str | None = None    # receipt handle of the waiting delivery: what a freed slot wakes

    @property
    def attempts_since_redrive(self) -> int:
        return self.attempts - self.attempt_base

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FileRecord:
        plain = {name: decode_value(value) for name, value in item.items()}
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in plain.items() if k in known}
        values["run_ids"] = tuple(values.get("run_ids") or ())
        return cls(**values)

    def to_item(self) -> dict[str, Any]:
        item = {f.name: encode_value(getattr(self, f.name)) for f in fields(self)}
        item[LEDGER_KEY] = {"S": FILE_PREFIX + self.file_id}
        return {k: v for k, v in item.items() if v is not None}


@dataclass(frozen=True)
class Waiter:
    """A file waiting for a Glue slot, as the ``by_waiting`` index projects it."""

    file_id: str
    waiting_since: str
    wait_handle: str | None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Waiter:
        handle = item.get("wait_handle", {}).get("S")
        file_id = item.get("file_id", {}).get("S") or str(item[LEDGER_KEY]["S"]).removeprefix(FILE_PREFIX)
        return cls(file_id=file_id, waiting_since=str(item.get("waiting_since", {}).get("S", "")), wait_handle=handle)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    file_id: str
    attempt: int


def encode_value(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def decode_value(av: Mapping[str, Any]) -> Any:
    if "S" in av:
        return av["S"]
    if "N" in av:
        return int(av["N"])
    if "L" in av:
        return [decode_value(v) for v in av["L"]]
    if "BOOL" in av:
        return bool(av["BOOL"])
    return None
