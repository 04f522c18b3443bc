"""The ledger: one DynamoDB item per file version, the pipeline's memory beyond SQS's 5-minute dedup window.

It answers three questions no queue can: has this file version already
succeeded (idempotency), which held message belongs to this Glue run
(correlation), and where is every file of a group (operators). Every
transition is a conditional write on the file's status and attempt number, so a
repeated or late delivery (a duplicate event, a stale completion, a second
dispatcher after a crash) finds its condition false and cannot move a file
backwards. The schema is the one in docs/interfaces.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from runtime.context import is_aws_error

GROUP_INDEX = "by_group"
FILE_PREFIX = "file#"
RUN_PREFIX = "run#"


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

    @property
    def attempts_since_redrive(self) -> int:
        return self.attempts - self.attempt_base

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FileRecord:
        plain = {name: _from_av(value) for name, value in item.items()}
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in plain.items() if k in known}
        values["run_ids"] = tuple(values.get("run_ids") or ())
        return cls(**values)

    def to_item(self) -> dict[str, Any]:
        item = {f.name: _to_av(getattr(self, f.name)) for f in fields(self)}
        item["pk"] = {"S": FILE_PREFIX + self.file_id}
        return {k: v for k, v in item.items() if v is not None}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    file_id: str
    attempt: int


def _to_av(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def _from_av(av: Mapping[str, Any]) -> Any:
    if "S" in av:
        return av["S"]
    if "N" in av:
        return int(av["N"])
    if "L" in av:
        return [_from_av(v) for v in av["L"]]
    if "BOOL" in av:
        return bool(av["BOOL"])
    return None


_NAME = re.compile(r"#(\w+)")
_VALUE = re.compile(r":(\w+)")


class Ledger:
    """Conditional reads and writes of file and run items; a False/None result means "someone moved first"."""

    def __init__(self, client: Any, table: str, *, clock: Callable[[], float]):
        self.client = client
        self.table = table
        self.clock = clock

    # --- reads --------------------------------------------------------------------------------
    def get(self, file_id: str) -> FileRecord | None:
        response = self.client.get_item(TableName=self.table, Key={"pk": {"S": FILE_PREFIX + file_id}},
                                        ConsistentRead=True)
        item = response.get("Item")
        return FileRecord.from_item(item) if item else None

    def get_run(self, run_id: str) -> RunRecord | None:
        response = self.client.get_item(TableName=self.table, Key={"pk": {"S": RUN_PREFIX + run_id}},
                                        ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return None
        return RunRecord(run_id, item["file_id"]["S"], int(item["attempt"]["N"]))

    def group_files(self, group: str, *, before_seq: str | None = None,
                    statuses: tuple[str, ...] = ()) -> list[FileRecord]:
        """A group's files in received order (eventually consistent: a global secondary index)."""
        condition = "#group = :group" + (" AND #received_seq < :before" if before_seq else "")
        values: dict[str, Any] = {":group": group, ":before": before_seq}
        request: dict[str, Any] = {"IndexName": GROUP_INDEX, "KeyConditionExpression": condition}
        if statuses:
            request["FilterExpression"] = _in_list("status", statuses, values)
        return list(self._paginate("query", request, values))

    def all_files(self) -> Iterator[FileRecord]:
        values: dict[str, Any] = {":file": FILE_PREFIX}
        yield from self._paginate("scan", {"FilterExpression": "begins_with(#pk, :file)"}, values)

    def _paginate(self, operation: str, request: dict[str, Any], values: dict[str, Any]) -> Iterator[FileRecord]:
        expressions = " ".join(str(v) for k, v in request.items() if k.endswith("Expression"))
        request.update(_placeholders(expressions, values))
        call = getattr(self.client, operation)
        while True:
            page = call(TableName=self.table, **request)
            for item in page.get("Items", []):
                yield FileRecord.from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- writes by the handlers ---------------------------------------------------------------
    def record_received(self, record: FileRecord) -> tuple[FileRecord, bool]:
        """Create the file's item once; a repeated event gets the existing item and False."""
        try:
            self.client.put_item(TableName=self.table, Item=record.to_item(),
                                 ConditionExpression="attribute_not_exists(pk)")
            return record, True
        except Exception as exc:
            if not is_aws_error(exc, "ConditionalCheckFailedException"):
                raise
        existing = self.get(record.file_id)
        if existing is None:  # deleted between the two calls: an operator cleaned the table; write again
            return self.record_received(record)
        return existing, False

    def mark_blocked(self, file_id: str, reason: str, receipt_handle: str) -> FileRecord | None:
        return self._update(file_id, {"status": Status.BLOCKED, "last_error": reason,
                                      "receipt_handle": receipt_handle}, statuses=STARTABLE)

    def begin_attempt(self, file_id: str, attempt: int, receipt_handle: str) -> FileRecord | None:
        """Record the intent to start attempt ``attempt`` before calling Glue, so a crash right after the
        start leaves a trace that the next delivery follows (it looks the run up instead of starting again)."""
        return self._update(file_id, {"status": Status.STARTING, "attempts": attempt, "started_at": iso(self.clock()),
                                      "receipt_handle": receipt_handle},
                            remove=("current_run_id", "finished_at"), statuses=STARTABLE,
                            condition="#attempts = :previous", values={":previous": attempt - 1})

    def abandon_attempt(self, file_id: str, attempt: int, back_to: str) -> FileRecord | None:
        """Undo an intent whose start Glue refused (throttled): a refused start is not an attempt."""
        return self._update(file_id, {"status": back_to, "attempts": attempt - 1}, statuses=(Status.STARTING,),
                            condition="#attempts = :attempt", values={":attempt": attempt})

    def record_started(self, file_id: str, attempt: int, run_id: str, receipt_handle: str) -> FileRecord | None:
        """Write the run item (the completion handler's way back to this file), then mark the file RUNNING."""
        self.put_run(run_id, file_id, attempt)
        return self._update(file_id, {"status": Status.RUNNING, "current_run_id": run_id,
                                      "receipt_handle": receipt_handle}, append_run=run_id,
                            statuses=(Status.STARTING,), condition="#attempts = :attempt",
                            values={":attempt": attempt})

    def put_run(self, run_id: str, file_id: str, attempt: int) -> None:
        self.client.put_item(TableName=self.table, Item={
            "pk": {"S": RUN_PREFIX + run_id}, "file_id": {"S": file_id}, "attempt": {"N": str(attempt)},
            "started_at": {"S": iso(self.clock())}})

    def refresh_receipt(self, file_id: str, run_id: str, receipt_handle: str) -> FileRecord | None:
        """After a redelivery the old receipt handle is stale; the completion handler must use this one."""
        return self._update(file_id, {"receipt_handle": receipt_handle}, statuses=(Status.RUNNING,),
                            condition="#current_run_id = :run", values={":run": run_id})

    def record_outcome(self, file_id: str, attempt: int, run_id: str, status: Status, *,
                       output_location: str | None = None, error: str | None = None) -> FileRecord | None:
        """Finish attempt ``attempt`` with its run's result; None when the file is already past it."""
        changes: dict[str, Any] = {"status": status, "finished_at": iso(self.clock())}
        if output_location is not None:
            changes["output_location"] = output_location
        if error is not None:
            changes["last_error"] = error[:2000]
        running = self._update(file_id, changes, statuses=(Status.RUNNING,),
                               condition="#attempts = :attempt AND #current_run_id = :run",
                               values={":attempt": attempt, ":run": run_id})
        if running is not None:
            return running
        # the run finished before the dispatcher recorded it (or the dispatcher crashed): adopt it here
        return self._update(file_id, {**changes, "current_run_id": run_id}, append_run=run_id,
                            statuses=(Status.STARTING,), condition="#attempts = :attempt",
                            values={":attempt": attempt})

    def record_dead(self, file_id: str, reason: str) -> FileRecord | None:
        return self._update(file_id, {"status": Status.DEAD, "last_error": reason[:2000],
                                      "finished_at": iso(self.clock())}, statuses=NOT_FINAL)

    def record_requeued(self, file_id: str, reason: str) -> FileRecord | None:
        """The file's message was sent to the back of its group again (it yielded to a redriven file)."""
        return self._update(file_id, {"status": Status.RECEIVED, "last_error": reason,
                                      "enqueue_seq": sequence(self.clock(), file_id)},
                            remove=("receipt_handle",), statuses=STARTABLE)

    # --- writes by the operator CLI -----------------------------------------------------------
    def record_redriven(self, record: FileRecord) -> FileRecord | None:
        """Give a file a fresh set of ``max_attempts`` runs and mark it as back in the ordered queue."""
        changes: dict[str, Any] = {"redrives": record.redrives + 1, "enqueue_seq": sequence(self.clock(),
                                                                                            record.file_id)}
        if record.status == Status.DEAD:
            changes.update(status=Status.RECEIVED, attempt_base=record.attempts,
                           last_error=f"redriven by an operator after: {record.last_error or 'DEAD'}"[:2000])
            return self._update(record.file_id, changes, statuses=(Status.DEAD,))
        return self._update(record.file_id, changes, statuses=NOT_FINAL)

    def record_skipped(self, file_id: str, reason: str) -> FileRecord | None:
        return self._update(file_id, {"status": Status.SKIPPED, "last_error": reason,
                                      "finished_at": iso(self.clock())}, statuses=(Status.DEAD,))

    # --- the one conditional update everything above goes through -----------------------------
    def _update(self, file_id: str, changes: Mapping[str, Any], *, statuses: tuple[str, ...],
                condition: str = "", values: Mapping[str, Any] | None = None, remove: tuple[str, ...] = (),
                append_run: str | None = None) -> FileRecord | None:
        all_values: dict[str, Any] = dict(values or {})
        sets = []
        for index, (name, value) in enumerate(changes.items()):
            all_values[f":v{index}"] = value
            sets.append(f"#{name} = :v{index}")
        if append_run is not None:
            all_values[":new_run"] = [append_run]
            all_values[":no_runs"] = []
            sets.append("#run_ids = list_append(if_not_exists(#run_ids, :no_runs), :new_run)")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(f"#{n}" for n in remove) if remove else "")
        guard = "attribute_exists(#pk) AND " + _in_list("status", statuses, all_values)
        if condition:
            guard += " AND " + condition
        request = {"UpdateExpression": expression, "ConditionExpression": guard}
        request.update(_placeholders(f"{expression} {guard}", all_values))
        try:
            response = self.client.update_item(TableName=self.table, Key={"pk": {"S": FILE_PREFIX + file_id}},
                                               ReturnValues="ALL_NEW", **request)
        except Exception as exc:
            if is_aws_error(exc, "ConditionalCheckFailedException"):
                return None
            raise
        return FileRecord.from_item(response["Attributes"])


def _in_list(attribute: str, options: tuple[str, ...], values: dict[str, Any]) -> str:
    names = []
    for index, option in enumerate(options):
        values[f":{attribute}{index}"] = str(option)
        names.append(f":{attribute}{index}")
    return f"#{attribute} IN ({', '.join(names)})"


def _placeholders(expressions: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the names and values an expression uses: DynamoDB rejects unused ones."""
    used_names = set(_NAME.findall(expressions))
    used_values = set(_VALUE.findall(expressions))
    result: dict[str, Any] = {"ExpressionAttributeNames": {f"#{n}": n for n in sorted(used_names)}}
    marshalled = {}
    for name, value in values.items():
        if name[1:] in used_values:
            marshalled[name] = {"L": [{"S": str(v)} for v in value]} if isinstance(value, list) else _to_av(value)
    if marshalled:
        result["ExpressionAttributeValues"] = marshalled
    return result
