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
from typing import Any

from landing_pipeline.runtime.context import is_aws_error
from landing_pipeline.runtime.contract import (
    FILE_PREFIX,
    GROUP_INDEX,
    GROUP_INDEX_HASH,
    GROUP_INDEX_RANGE,
    LEDGER_KEY,
    RUN_PREFIX,
    WAIT_HANDLE,
    WAIT_INDEX,
    WAIT_INDEX_HASH,
    WAIT_INDEX_RANGE,
    WAIT_POOL,
)
from landing_pipeline.runtime.ledger_items import (
    IN_FLIGHT,
    NOT_FINAL,
    RELEASES_GROUP,
    STARTABLE,
    WAIT_ATTRIBUTES,
    FileRecord,
    RunRecord,
    Status,
    Waiter,
    encode_value,
    iso,
    parse_iso,
    sequence,
    sequence_at_ms,
)

__all__ = ["FILE_PREFIX", "GROUP_INDEX", "IN_FLIGHT", "NOT_FINAL", "RELEASES_GROUP", "RUN_PREFIX", "STARTABLE",
           "WAIT_INDEX", "WAIT_POOL", "FileRecord", "Ledger", "RunRecord", "Status", "Waiter", "iso", "parse_iso",
           "sequence", "sequence_at_ms"]

_LISTED = (WAIT_INDEX_HASH, WAIT_HANDLE)
"""What puts a file in ``by_waiting``. Removing only these keeps ``waiting_since``: a file that was woken, or
whose start is being tried, keeps its place in line if Glue refuses it again; a started run drops all three."""


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
        response = self.client.get_item(TableName=self.table, Key={LEDGER_KEY: {"S": FILE_PREFIX + file_id}},
                                        ConsistentRead=True)
        item = response.get("Item")
        return FileRecord.from_item(item) if item else None

    def get_run(self, run_id: str) -> RunRecord | None:
        response = self.client.get_item(TableName=self.table, Key={LEDGER_KEY: {"S": RUN_PREFIX + run_id}},
                                        ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return None
        return RunRecord(run_id, item["file_id"]["S"], int(item["attempt"]["N"]))

    def group_files(self, group: str, *, before_seq: str | None = None,
                    statuses: tuple[str, ...] = ()) -> list[FileRecord]:
        """A group's files in received order (eventually consistent: a global secondary index)."""
        condition = f"#{GROUP_INDEX_HASH} = :group" + (f" AND #{GROUP_INDEX_RANGE} < :before" if before_seq else "")
        values: dict[str, Any] = {":group": group, ":before": before_seq}
        request: dict[str, Any] = {"IndexName": GROUP_INDEX, "KeyConditionExpression": condition}
        if statuses:
            request["FilterExpression"] = _in_list("status", statuses, values)
        return list(self._paginate("query", request, values))

    def waiting_files(self, limit: int, start_key: Mapping[str, Any] | None = None
                      ) -> tuple[list[Waiter], dict[str, Any] | None]:
        """The files waiting longest for a Glue slot, oldest first (eventually consistent: a global secondary
        index), and where the next page starts (None: no more)."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": WAIT_INDEX, "KeyConditionExpression": f"#{WAIT_INDEX_HASH} = :pool",
            "ExpressionAttributeNames": {f"#{WAIT_INDEX_HASH}": WAIT_INDEX_HASH},
            "ExpressionAttributeValues": {":pool": {"S": WAIT_POOL}}, "ScanIndexForward": True, "Limit": limit}
        if start_key:
            request["ExclusiveStartKey"] = dict(start_key)
        page = self.client.query(**request)
        return [Waiter.from_item(item) for item in page.get("Items", [])], page.get("LastEvaluatedKey")

    def all_files(self) -> Iterator[FileRecord]:
        values: dict[str, Any] = {":file": FILE_PREFIX}
        yield from self._paginate("scan", {"FilterExpression": f"begins_with(#{LEDGER_KEY}, :file)"}, values)

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
                                      "receipt_handle": receipt_handle}, remove=WAIT_ATTRIBUTES, statuses=STARTABLE)

    def mark_waiting(self, file_id: str, receipt_handle: str) -> FileRecord | None:
        """Glue had no free slot: list the file in ``by_waiting`` so the next run to end wakes it. A file
        that waits again keeps its ``waiting_since`` (its place in line); the handle is the latest delivery's."""
        return self._update(file_id, {WAIT_INDEX_HASH: WAIT_POOL, WAIT_HANDLE: receipt_handle},
                            if_absent={WAIT_INDEX_RANGE: sequence(self.clock(), file_id)}, statuses=STARTABLE)

    def clear_waiter(self, file_id: str, receipt_handle: str) -> bool:
        """Take a waiter out of ``by_waiting`` if it still waits with ``receipt_handle``: True for the one
        caller that did, so two runs ending together never wake the same file for two slots."""
        return self._update(file_id, {}, remove=_LISTED, statuses=NOT_FINAL,
                            condition=f"#{WAIT_HANDLE} = :handle", values={":handle": receipt_handle}) is not None

    def begin_attempt(self, file_id: str, attempt: int, receipt_handle: str) -> FileRecord | None:
        """Record the intent to start attempt ``attempt`` before calling Glue, so a crash right after the
        start leaves a trace that the next delivery follows (it looks the run up instead of starting again)."""
        return self._update(file_id, {"status": Status.STARTING, "attempts": attempt, "started_at": iso(self.clock()),
                                      "receipt_handle": receipt_handle},
                            remove=("current_run_id", "finished_at", *_LISTED), statuses=STARTABLE,
                            condition="#attempts = :previous", values={":previous": attempt - 1})

    def abandon_attempt(self, file_id: str, attempt: int, back_to: str,
                        finished_at: str | None = None) -> FileRecord | None:
        """Undo an intent whose start Glue refused (throttled): a refused start is not an attempt. A FAILED
        file gets back the end of its failed attempt, which the intent removed and its retry backoff counts from."""
        changes: dict[str, Any] = {"status": back_to, "attempts": attempt - 1}
        if finished_at:
            changes["finished_at"] = finished_at
        return self._update(file_id, changes, statuses=(Status.STARTING,),
                            condition="#attempts = :attempt", values={":attempt": attempt})

    def record_started(self, file_id: str, attempt: int, run_id: str, receipt_handle: str) -> FileRecord | None:
        """Write the run item (the completion handler's way back to this file), then mark the file RUNNING."""
        self.put_run(run_id, file_id, attempt)
        return self._update(file_id, {"status": Status.RUNNING, "current_run_id": run_id,
                                      "receipt_handle": receipt_handle}, append_run=run_id, remove=WAIT_ATTRIBUTES,
                            statuses=(Status.STARTING,), condition="#attempts = :attempt",
                            values={":attempt": attempt})

    def put_run(self, run_id: str, file_id: str, attempt: int) -> None:
        self.client.put_item(TableName=self.table, Item={
            LEDGER_KEY: {"S": RUN_PREFIX + run_id}, "file_id": {"S": file_id}, "attempt": {"N": str(attempt)},
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
        running = self._update(file_id, changes, statuses=(Status.RUNNING,), remove=WAIT_ATTRIBUTES,
                               condition="#attempts = :attempt AND #current_run_id = :run",
                               values={":attempt": attempt, ":run": run_id})
        if running is not None:
            return running
        # the run finished before the dispatcher recorded it (or the dispatcher crashed): adopt it here
        return self._update(file_id, {**changes, "current_run_id": run_id}, append_run=run_id,
                            remove=WAIT_ATTRIBUTES, statuses=(Status.STARTING,), condition="#attempts = :attempt",
                            values={":attempt": attempt})

    def record_dead(self, file_id: str, reason: str) -> FileRecord | None:
        return self._update(file_id, {"status": Status.DEAD, "last_error": reason[:2000],
                                      "finished_at": iso(self.clock())}, remove=WAIT_ATTRIBUTES, statuses=NOT_FINAL)

    def record_requeued(self, file_id: str, reason: str) -> FileRecord | None:
        """The file's message was sent to the back of its group again (it yielded to a redriven file)."""
        return self._update(file_id, {"status": Status.RECEIVED, "last_error": reason,
                                      "enqueue_seq": sequence(self.clock(), file_id)},
                            remove=("receipt_handle", *WAIT_ATTRIBUTES), statuses=STARTABLE)

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
                                      "finished_at": iso(self.clock())}, remove=WAIT_ATTRIBUTES,
                            statuses=(Status.DEAD,))

    # --- the one conditional update everything above goes through -----------------------------
    def _update(self, file_id: str, changes: Mapping[str, Any], *, statuses: tuple[str, ...],
                condition: str = "", values: Mapping[str, Any] | None = None, remove: tuple[str, ...] = (),
                append_run: str | None = None, if_absent: Mapping[str, Any] | None = None) -> FileRecord | None:
        all_values: dict[str, Any] = dict(values or {})
        sets = []
        for index, (name, value) in enumerate(changes.items()):
            all_values[f":v{index}"] = value
            sets.append(f"#{name} = :v{index}")
        for index, (name, value) in enumerate((if_absent or {}).items()):
            all_values[f":a{index}"] = value
            sets.append(f"#{name} = if_not_exists(#{name}, :a{index})")
        if append_run is not None:
            all_values[":new_run"] = [append_run]
            all_values[":no_runs"] = []
            sets.append("#run_ids = list_append(if_not_exists(#run_ids, :no_runs), :new_run)")
        clauses = (["SET " + ", ".join(sets)] if sets else []) + (["REMOVE " + ", ".join(f"#{n}" for n in remove)]
                                                                 if remove else [])
        expression = " ".join(clauses)
        guard = f"attribute_exists(#{LEDGER_KEY}) AND " + _in_list("status", statuses, all_values)
        if condition:
            guard += " AND " + condition
        request = {"UpdateExpression": expression, "ConditionExpression": guard}
        request.update(_placeholders(f"{expression} {guard}", all_values))
        try:
            response = self.client.update_item(TableName=self.table, Key={LEDGER_KEY: {"S": FILE_PREFIX + file_id}},
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
            marshalled[name] = {"L": [{"S": str(v)} for v in value]} if isinstance(value, list) else encode_value(value)
    if marshalled:
        result["ExpressionAttributeValues"] = marshalled
    return result
