"""The ledger v2: each group's ordered work list, its lease, and the Glue slot line, in one DynamoDB table.

Every safety decision reads base-table items with strongly consistent reads (one Query returns a group
item and its open files in order) and commits in one transaction conditional on the group item's
``version``, ``seq`` and ``epoch`` being what the decision read (runtime/decide.py ``Guard``): a file recorded
in between, a duplicate delivery or a second handler makes the commit fail, and the caller decides again.
No GSI read decides anything (F4): ``by_check`` only tells the reconciler which groups to re-read.

A write whose answer was lost and that the SDK retried fails its own condition: transactions carry a
``ClientRequestToken`` (a retry within 10 minutes is answered as the first), and a failed group condition
returns the item as it is (``ReturnValuesOnConditionCheckFailure``), so a start of ours that took effect
is recognised by its token rather than taken for someone else's lease.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime import decide_support as support
from landing_pipeline.runtime.context import aws_error_code, is_aws_error
from landing_pipeline.runtime.contract import (
    CHECK_INDEX,
    CHECK_INDEX_HASH,
    CHECK_INDEX_RANGE,
    CHECK_POOL,
    GROUP_ITEM_SK,
    GROUP_PK_PREFIX,
    HISTORY_INDEX,
    HISTORY_INDEX_HASH,
    LEDGER_KEY,
    LEDGER_SORT_KEY,
    POINTER_PK_PREFIX,
    SLOTS_PK,
    WAITER_SK_PREFIX,
)
from landing_pipeline.runtime.group_state import FileStatus, GroupItem, OpenFile, Phase
from landing_pipeline.runtime.ledger_items import (
    DEAD_COUNTER_SK,
    FileRecord,
    Lineage,
    Status,
    decode_value,
    encode_value,
    file_key,
    group_from_item,
    group_key,
    group_values,
    iso,
    item_of,
    lineage_from_item,
    lineage_values,
    open_file_from_item,
    open_file_values,
    parse_iso,
    pointer_key,
    run_key,
    slots_key,
    waiter_sk,
)
from landing_pipeline.runtime.values import Frozen

if TYPE_CHECKING:   # a type only: the router records files without ever deciding, so it need not import decide
    from landing_pipeline.runtime.decide import Decision

__all__ = ["Commit", "FileRecord", "GroupView", "Ledger", "Lineage", "Recorded", "Status", "iso", "parse_iso"]


class Commit(StrEnum):
    OK = "ok"
    CONFLICT = "conflict"   # the group item moved: load and decide again
    NO_SLOT = "no_slot"     # the start's slot increment found every slot taken: decide with slot_free=False


class GroupView(Frozen):
    """One strongly consistent read of a group: its item, open files in order, and their lineage."""

    _fields = __slots__ = ("group", "files", "lineage", "exists")
    group: GroupItem
    files: list[OpenFile]
    lineage: dict[str, Lineage]
    exists: bool

    def __init__(self, group: GroupItem, files: list[OpenFile], lineage: dict[str, Lineage], exists: bool) -> None:
        self._init(group, files, lineage, exists)


class Recorded(Frozen):
    """What the router's write did: whether it recorded the file, and the wake-up it owes the group."""

    _fields = __slots__ = ("created", "late", "wake_id", "group", "feed_conflict")
    created: bool
    late: bool
    wake_id: str | None   # the wake-up to send (this write set wake_pending), else None
    group: GroupItem
    feed_conflict: str | None   # not recorded: the group's files go to this other feed ("" none)

    def __init__(self, created: bool, late: bool, wake_id: str | None, group: GroupItem,
                 feed_conflict: str | None = None) -> None:
        self._init(created, late, wake_id, group, feed_conflict)


class Ledger:
    def __init__(self, client: Any, table: str, *, clock: Callable[[], float], max_slots: int = 1_000_000):
        self.client = client
        self.table = table
        self.clock = clock
        self.max_slots = max_slots

    # --- reads --------------------------------------------------------------------------------------------
    def load_group(self, group: str) -> GroupView:
        """The group item and its open files, strongly consistent, in sort-key order (one Query, paginated)."""
        request: dict[str, Any] = {
            "TableName": self.table, "ConsistentRead": True, "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": LEDGER_KEY}, "ExpressionAttributeValues": {":pk": {"S":
                                                                                              GROUP_PK_PREFIX + group}}}
        head: Mapping[str, Any] | None = None
        files: list[OpenFile] = []
        lineage: dict[str, Lineage] = {}
        for item in self._pages("query", request):
            if item[LEDGER_SORT_KEY]["S"] == GROUP_ITEM_SK:
                head = item
            else:
                f = open_file_from_item(item)
                files.append(f)
                lineage[f.sort_key] = lineage_from_item(item)
        return GroupView(group_from_item(group, head), files, lineage, head is not None)

    def get_group(self, group: str) -> GroupItem | None:
        item = self.client.get_item(TableName=self.table, Key=group_key(group), ConsistentRead=True).get("Item")
        return group_from_item(group, item) if item else None

    def get(self, file_id: str) -> FileRecord | None:
        """A file by id: its pointer item, with the open item's live fields while it is open."""
        pointer = self.client.get_item(TableName=self.table, Key=pointer_key(file_id), ConsistentRead=True).get("Item")
        if not pointer:
            return None
        record = FileRecord.from_item(pointer)
        if record.status in (Status.SUCCEEDED, Status.SKIPPED):
            return record
        item = self.client.get_item(TableName=self.table, Key=file_key(record.group, record.sort_key),
                                    ConsistentRead=True).get("Item")
        return FileRecord.from_item({**pointer, **item}) if item else record

    def get_run(self, run_id: str) -> tuple[str, str] | None:
        """(group, token) of a run this pipeline recorded."""
        item = self.client.get_item(TableName=self.table, Key=run_key(run_id), ConsistentRead=True).get("Item")
        if not item:
            return None
        return str(item["group"]["S"]), str(item["token"]["S"])

    def due_groups(self, now: float, limit: int = 500) -> list[str]:
        """Groups whose ``next_check_at`` is due (the sparse ``by_check`` GSI: a hint, re-read before acting)."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": CHECK_INDEX,
            "KeyConditionExpression": "#h = :h AND #r <= :now",
            "ExpressionAttributeNames": {"#h": CHECK_INDEX_HASH, "#r": CHECK_INDEX_RANGE},
            "ExpressionAttributeValues": {":h": {"S": CHECK_POOL}, ":now": {"N": repr(round(now, 3))}}}
        groups: list[str] = []
        for item in self._pages("query", request):
            groups.append(str(item["group"]["S"]))
            if len(groups) >= limit:
                break
        return groups

    def leases_held(self, limit: int = 5_000) -> int:
        """How many groups hold a lease, each re-read strongly: every lease has a ``next_check_at``, so the
        sparse ``by_check`` GSI lists them all (a hint; the group item decides)."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": CHECK_INDEX, "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": CHECK_INDEX_HASH},
            "ExpressionAttributeValues": {":h": {"S": CHECK_POOL}}}
        held = 0
        for n, item in enumerate(self._pages("query", request)):
            if n >= limit:
                break
            group = self.get_group(str(item["group"]["S"]))
            held += 1 if group is not None and group.leased else 0
        return held

    def waiters(self, limit: int) -> list[tuple[str, str]]:
        """The line of groups waiting for a Glue slot, longest first: (waiter sk, group). Strongly consistent."""
        page = self.client.query(
            TableName=self.table, ConsistentRead=True, Limit=limit,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :w)",
            ExpressionAttributeNames={"#pk": LEDGER_KEY, "#sk": LEDGER_SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": SLOTS_PK}, ":w": {"S": WAITER_SK_PREFIX}})
        return [(str(i[LEDGER_SORT_KEY]["S"]), str(i["group"]["S"])) for i in page.get("Items", [])]

    def counters(self) -> tuple[int, int]:
        """(leases holding a slot, dead files): the slot partition's two counters."""
        page = self.client.query(
            TableName=self.table, ConsistentRead=True, KeyConditionExpression="#pk = :pk AND begins_with(#sk, :c)",
            ExpressionAttributeNames={"#pk": LEDGER_KEY, "#sk": LEDGER_SORT_KEY},
            ExpressionAttributeValues={":pk": {"S": SLOTS_PK}, ":c": {"S": "#"}})
        values = {i[LEDGER_SORT_KEY]["S"]: int(decode_value(i.get("n", {"N": "0"}))) for i in page.get("Items", [])}
        return values.get(slots_key()[LEDGER_SORT_KEY]["S"], 0), values.get(DEAD_COUNTER_SK, 0)

    def group_history(self, group: str) -> list[FileRecord]:
        """Every file of a group, finished or not, by sort key (the ``by_group_files`` GSI: operators only)."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": HISTORY_INDEX, "KeyConditionExpression": "#g = :g",
            "ExpressionAttributeNames": {"#g": HISTORY_INDEX_HASH}, "ExpressionAttributeValues": {":g": {"S": group}}}
        return [FileRecord.from_item(i) for i in self._pages("query", request)]

    def all_files(self) -> Iterator[FileRecord]:
        """Every file's pointer item (a scan: operators and the emulator's report only)."""
        request: dict[str, Any] = {
            "TableName": self.table, "FilterExpression": "begins_with(#pk, :p)",
            "ExpressionAttributeNames": {"#pk": LEDGER_KEY}, "ExpressionAttributeValues": {":p": {"S":
                                                                                             POINTER_PK_PREFIX}}}
        for item in self._pages("scan", request):
            yield FileRecord.from_item(item)

    def all_groups(self) -> Iterator[str]:
        request: dict[str, Any] = {
            "TableName": self.table, "FilterExpression": "#sk = :g",
            "ExpressionAttributeNames": {"#sk": LEDGER_SORT_KEY}, "ExpressionAttributeValues": {":g": {"S":
                                                                                                 GROUP_ITEM_SK}}}
        for item in self._pages("scan", request):
            yield str(item["group"]["S"])

    def _pages(self, operation: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        call = getattr(self.client, operation)
        while True:
            page = call(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    # --- the router's write ---------------------------------------------------------------------------------
    def record_file(self, group: str, file: OpenFile, lineage: Lineage, *, wake_check_s: float,
                    attempts: int = 6, feed: str | None = None) -> Recorded:
        """Record a file, its pointer and ``seq + 1`` in one transaction; set ``wake_pending`` (and say which
        wake-up to send) when the group is idle with none pending. A file id already recorded: not created.

        ``feed`` (stacks whose feeds match on the file name): the file's feed, "" for none. The group's first
        file sets the group's feed; a file of another feed is not recorded (``feed_conflict``), so a group's
        files all go to one feed. The write is conditional on it, so two first files cannot both win."""
        from landing_pipeline.runtime.group_state import wake_dedup_id

        for _ in range(attempts):
            current = self.get_group(group)
            g = current or GroupItem(group)
            if feed is not None and g.feed is not None and g.feed != feed:
                return Recorded(False, False, None, g, feed_conflict=g.feed)
            now = self.clock()
            rec = support.record_file(g, file, now, wake_check_s=wake_check_s)   # late, owed a wake-up: one rule
            late, wake, stored = rec.late, rec.wake, rec.file
            names = {"#seq": "seq", "#epoch": "epoch", "#group": "group", "#state": "state"}
            values: dict[str, Any] = {":one": {"N": "1"}, ":g": {"S": group}, ":zero": {"N": "0"},
                                      ":idle": {"S": str(Phase.IDLE)}}
            sets = ["#group = :g", "#epoch = if_not_exists(#epoch, :zero)", "#state = if_not_exists(#state, :idle)"]
            if current is None:
                condition = "attribute_not_exists(#seq)"
            else:
                condition = "#epoch = :e"
                values[":e"] = {"N": str(g.epoch)}
            if feed is not None:
                names["#feed"], values[":feed"] = "feed", {"S": feed}
                sets.append("#feed = if_not_exists(#feed, :feed)")
                condition += " AND (attribute_not_exists(#feed) OR #feed = :feed)"
            if wake:
                names.update({"#check": CHECK_INDEX_RANGE, "#pool": CHECK_INDEX_HASH, "#wake": "wake_pending"})
                values.update({":t": {"BOOL": True}, ":f": {"BOOL": False}, ":check": encode_value(now + wake_check_s),
                               ":pool": {"S": CHECK_POOL}})
                sets += ["#wake = :t", "#check = :check", "#pool = :pool"]
                condition += " AND (attribute_not_exists(#wake) OR #wake = :f)"
            update = {"Update": {"TableName": self.table, "Key": group_key(group),
                                 "UpdateExpression": "SET " + ", ".join(sets) + " ADD #seq :one",
                                 "ConditionExpression": condition, "ExpressionAttributeNames": names,
                                 "ExpressionAttributeValues": values}}
            file_item = item_of(file_key(group, file.sort_key), {"file_id": file.file_id, "landed_at": file.landed_at,
                                                                 **open_file_values(stored), **lineage_values(lineage)})
            pointer = item_of(pointer_key(file.file_id), {
                "file_id": file.file_id, "group": group, "sort_key": file.sort_key, "status": str(Status.RECEIVED),
                "landed_at": file.landed_at, "late": late, **lineage_values(lineage)})
            try:
                self.client.transact_write_items(TransactItems=[
                    {"Put": {"TableName": self.table, "Item": pointer,
                             "ConditionExpression": "attribute_not_exists(#pk)",
                             "ExpressionAttributeNames": {"#pk": LEDGER_KEY}}},
                    {"Put": {"TableName": self.table, "Item": file_item}}, update],
                    ClientRequestToken=_token("rec", file.file_id, g.epoch, g.seq, int(wake)))
            except Exception as exc:
                reasons = _cancellation_codes(exc)
                if reasons is None:
                    raise
                if reasons[0] == "ConditionalCheckFailed":
                    return Recorded(False, False, None, g)
                continue   # the group moved (a start, another router setting wake_pending): read again
            return Recorded(True, late, wake_dedup_id(group, g.version, g.seq + 1) if wake else None, rec.group)
        raise RuntimeError(f"group {group!r} kept changing while a file was recorded; the event will be retried")

    # --- committing a decision ---------------------------------------------------------------------------
    def commit(self, before: GroupItem, d: Decision, now: float, *, lineage: Mapping[str, Lineage] | None = None,
               request_token: str | None = None) -> Commit:
        """Write ``d`` (runtime/decide.py) in one transaction conditional on its guard."""
        from landing_pipeline.runtime.decide import committed

        after, _ = committed(before, [c.before for c in d.files], d, now)
        items: list[dict[str, Any]] = [self._group_update(before, after, d)]
        for change in d.files:
            items += self._file_writes(before.group, change.after, now, lineage or {})
        if d.slot_delta > 0:
            items.append({"Update": {
                "TableName": self.table, "Key": slots_key(), "UpdateExpression": "ADD #n :one",
                "ConditionExpression": "attribute_not_exists(#n) OR #n < :max",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": str(self.max_slots)}}}})
        elif d.slot_delta < 0:
            items.append({"Update": {"TableName": self.table, "Key": slots_key(), "UpdateExpression": "ADD #n :m",
                                     "ExpressionAttributeNames": {"#n": "n"},
                                     "ExpressionAttributeValues": {":m": {"N": str(d.slot_delta)}}}})
        deaths = sum(1 for c in d.files if c.after.status == FileStatus.DEAD and c.before.status != FileStatus.DEAD)
        if deaths:
            items.append(self._dead_counter(deaths))
        if d.waiter == "add" and after.waiting_since is not None:
            items.append({"Put": {"TableName": self.table, "Item": item_of(slots_key(waiter_sk(after.waiting_since,
                                                                                              before.group)),
                                                                           {"group": before.group})}})
        elif d.waiter == "remove" and before.waiting_since is not None:
            items.append({"Delete": {"TableName": self.table, "Key": slots_key(waiter_sk(before.waiting_since,
                                                                                      before.group))}})
        token = request_token or _token(d.kind, before.group, before.version, before.seq, before.epoch)
        try:
            self.client.transact_write_items(TransactItems=items, ClientRequestToken=token)
        except Exception as exc:
            codes = _cancellation_codes(exc)
            if codes is None:
                if is_aws_error(exc, "IdempotentParameterMismatchException"):
                    return Commit.CONFLICT
                raise
            slot_index = next((i for i, item in enumerate(items) if d.slot_delta > 0 and "Update" in item
                               and item["Update"]["Key"] == slots_key()), None)
            if codes[0] == "ConditionalCheckFailed":
                old = _cancellation_items(exc)[0]
                if old and d.lease is not None and decode_value(old.get("token", {"NULL": True})) == d.lease.token \
                        and int(decode_value(old.get("version", {"N": "0"}))) == before.version + 1:
                    return Commit.OK   # our own transaction, whose answer was lost, already took effect
                return Commit.CONFLICT
            if slot_index is not None and codes[slot_index] == "ConditionalCheckFailed":
                return Commit.NO_SLOT
            return Commit.CONFLICT
        return Commit.OK

    def _group_update(self, before: GroupItem, after: GroupItem, d: Decision) -> dict[str, Any]:
        names = {"#version": "version", "#seq": "seq", "#epoch": "epoch"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":v": {"N": str(d.guard.version)},
                                  ":s": {"N": str(d.guard.seq)}, ":e": {"N": str(d.guard.epoch)}}
        sets, removes = [], []
        for index, (name, value) in enumerate(group_values(after).items()):
            names[f"#a{index}"] = name
            encoded = encode_value(value)
            if encoded is None:
                removes.append(f"#a{index}")
            else:
                values[f":a{index}"] = encoded
                sets.append(f"#a{index} = :a{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "") + \
            " ADD #version :one"
        if d.guard.version == 0:
            condition = "(attribute_not_exists(#version) OR #version = :v) AND #seq = :s AND #epoch = :e"
        else:
            condition = "#version = :v AND #seq = :s AND #epoch = :e"
        return {"Update": {"TableName": self.table, "Key": group_key(before.group), "UpdateExpression": expression,
                           "ConditionExpression": condition, "ExpressionAttributeNames": names,
                           "ExpressionAttributeValues": values, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}

    def _file_writes(self, group: str, f: OpenFile, now: float, lineage: Mapping[str, Lineage],
                     output: str | None = None, processed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        pointer_values: dict[str, Any] = {"status": str(f.status), "attempts": f.attempts, "deaths": f.deaths,
                                          "reason": (f.reason or "")[:2000] or None, **(processed or {})}
        if f.status in (FileStatus.SUCCEEDED, FileStatus.SKIPPED):
            pointer_values["finished_at"] = now
            if output:
                pointer_values["output_location"] = output
            return [{"Delete": {"TableName": self.table, "Key": file_key(group, f.sort_key),
                                "ConditionExpression": "attribute_exists(#pk)",
                                "ExpressionAttributeNames": {"#pk": LEDGER_KEY}}},
                    self._set(pointer_key(f.file_id), pointer_values)]
        file_update = self._set(file_key(group, f.sort_key), open_file_values(f))
        file_update["Update"]["ConditionExpression"] = "attribute_exists(#pk)"
        file_update["Update"]["ExpressionAttributeNames"]["#pk"] = LEDGER_KEY
        return [file_update, self._set(pointer_key(f.file_id), pointer_values)]

    def _set(self, key: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        names, values, sets, removes = {}, {}, [], []
        for index, (name, value) in enumerate(changes.items()):
            names[f"#c{index}"] = name
            encoded = encode_value(value)
            if encoded is None:
                removes.append(f"#c{index}")
            else:
                values[f":c{index}"] = encoded
                sets.append(f"#c{index} = :c{index}")
        expression = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        update: dict[str, Any] = {"TableName": self.table, "Key": dict(key), "UpdateExpression": expression.strip(),
                                  "ExpressionAttributeNames": names}
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}

    def _dead_counter(self, delta: int) -> dict[str, Any]:
        return {"Update": {"TableName": self.table, "Key": slots_key(DEAD_COUNTER_SK), "UpdateExpression": "ADD #n :d",
                           "ExpressionAttributeNames": {"#n": "n"},
                           "ExpressionAttributeValues": {":d": {"N": str(delta)}}}}

    # --- after StartJobRun, announcements, counters ------------------------------------------------------------
    def record_run(self, group: str, token: str, run_id: str) -> bool:
        """The run id of the lease ``token``, and its run item, in one transaction (False: not the lease)."""
        try:
            self.client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self.table, "Key": group_key(group),
                            "UpdateExpression": "SET #run = :r, #state = :running",
                            "ConditionExpression": "#token = :t AND #state IN (:starting, :running)",
                            "ExpressionAttributeNames": {"#run": "run_id", "#state": "state", "#token": "token"},
                            "ExpressionAttributeValues": {":r": {"S": run_id}, ":t": {"S": token},
                                                          ":starting": {"S": str(Phase.STARTING)},
                                                          ":running": {"S": str(Phase.RUNNING)}}}},
                {"Put": {"TableName": self.table, "Item": item_of(run_key(run_id), {"group": group, "token": token})}}],
                ClientRequestToken=_token("run", group, token, run_id))
        except Exception as exc:
            if _cancellation_codes(exc) is None:
                raise
            self.client.put_item(TableName=self.table, Item=item_of(run_key(run_id), {"group": group, "token": token}))
            return False
        return True

    def put_run(self, run_id: str, group: str, token: str) -> None:
        self.client.put_item(TableName=self.table, Item=item_of(run_key(run_id), {"group": group, "token": token}))

    def mark_announced(self, group: str, sort_key: str, death: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table, Key=file_key(group, sort_key), UpdateExpression="SET #a = :d",
                ConditionExpression="attribute_exists(#pk) AND (attribute_not_exists(#a) OR #a < :d)",
                ExpressionAttributeNames={"#a": "announced", "#pk": LEDGER_KEY},
                ExpressionAttributeValues={":d": {"N": str(death)}})
        except Exception as exc:
            if is_aws_error(exc, "ConditionalCheckFailedException"):
                return False
            raise
        return True

    def set_slot_count(self, expected: int, value: int) -> bool:
        """The reconciler's repair of the slot counter (conditional on the value it read)."""
        try:
            self.client.update_item(TableName=self.table, Key=slots_key(), UpdateExpression="SET #n = :v",
                                    ConditionExpression="attribute_not_exists(#n) OR #n = :x",
                                    ExpressionAttributeNames={"#n": "n"},
                                    ExpressionAttributeValues={":v": {"N": str(value)}, ":x": {"N": str(expected)}})
        except Exception as exc:
            if is_aws_error(exc, "ConditionalCheckFailedException"):
                return False
            raise
        return True

    def drop_waiter(self, sk: str) -> None:
        self.client.delete_item(TableName=self.table, Key=slots_key(sk))

    def set_wake_pending(self, group: str, *, state: Phase) -> GroupItem | None:
        """Set ``wake_pending`` if it is not and the group is in ``state``; the group after, else None."""
        try:
            response = self.client.update_item(
                TableName=self.table, Key=group_key(group), ReturnValues="ALL_NEW",
                UpdateExpression="SET #w = :t ADD #version :one",
                ConditionExpression="#state = :s AND (attribute_not_exists(#w) OR #w = :f)",
                ExpressionAttributeNames={"#w": "wake_pending", "#state": "state", "#version": "version"},
                ExpressionAttributeValues={":t": {"BOOL": True}, ":f": {"BOOL": False}, ":s": {"S": str(state)},
                                           ":one": {"N": "1"}})
        except Exception as exc:
            if is_aws_error(exc, "ConditionalCheckFailedException"):
                return None
            raise
        return group_from_item(group, response["Attributes"])

    # --- the job's fencing -------------------------------------------------------------------------------------
    def claim(self, group: str, token: str, run_id: str) -> bool:
        """The job's first step: own the lease ``token`` with its run id, unless another run claimed it."""
        try:
            self.client.update_item(
                TableName=self.table, Key=group_key(group), UpdateExpression="SET #c = :r",
                ConditionExpression="#token = :t AND (attribute_not_exists(#c) OR #c = :r)",
                ExpressionAttributeNames={"#c": "claimed_by", "#token": "token"},
                ExpressionAttributeValues={":r": {"S": run_id}, ":t": {"S": token}})
        except Exception as exc:
            if is_aws_error(exc, "ConditionalCheckFailedException"):
                return False
            raise
        return True

    def commit_file(self, group: str, token: str, run_id: str, sort_key: str, file_id: str,
                    output: str | None, *, position: int = 1, of: int = 1) -> bool:
        """The job's per-file commit, conditional on its claim: the file moves to history as SUCCEEDED, with the
        run that processed it and its place in the run's batch (``landing status`` shows both)."""
        now = self.clock()
        done = OpenFile(sort_key, file_id, 0.0, status=FileStatus.SUCCEEDED)
        items = self._file_writes(group, done, now, {}, output,
                                  processed={"processed_by": run_id, "batch_position": f"{position}/{of}"})
        items.append({"ConditionCheck": {"TableName": self.table, "Key": group_key(group),
                                         "ConditionExpression": "#token = :t AND #c = :r",
                                         "ExpressionAttributeNames": {"#token": "token", "#c": "claimed_by"},
                                         "ExpressionAttributeValues": {":t": {"S": token}, ":r": {"S": run_id}}}})
        try:
            self.client.transact_write_items(TransactItems=items, ClientRequestToken=_token("commit", token, sort_key))
        except Exception as exc:
            if _cancellation_codes(exc) is None:
                raise
            return False
        return True

    # --- operators ---------------------------------------------------------------------------------------------
    def redrive(self, file_id: str, *, death: int | None = None) -> FileRecord | None:
        """A DEAD file gets a fresh ``maxAttempts`` and is no longer late, conditional on its death number:
        ``death``, the one the operator saw (a file redriven and dead again since is left alone), else the
        current one."""
        return self._operator(file_id, "redrive", death=death)

    def skip(self, file_id: str, *, reason: str = "", death: int | None = None) -> FileRecord | None:
        """A DEAD file is finished as SKIPPED, with the operator's ``reason`` stored on it, conditional on its
        death number (``death`` as in ``redrive``)."""
        return self._operator(file_id, "skip", death=death, reason=reason)

    def _operator(self, file_id: str, action: str, *, death: int | None = None,
                  reason: str = "") -> FileRecord | None:
        record = self.get(file_id)
        if record is None or record.status != Status.DEAD or (death is not None and record.deaths != death):
            return None
        group = self.get_group(record.group)
        if group is None:
            return None
        f = OpenFile(record.sort_key, file_id, record.landed_at or 0.0, status=FileStatus.DEAD,
                     attempts=record.attempts, attempt_base=record.attempt_base, deaths=record.deaths,
                     announced=record.announced, late=record.late, redrives=record.redrives)
        if action == "skip":
            why = f"skipped by an operator: {reason}" if reason else "skipped by an operator"
            after = OpenFile(f.sort_key, file_id, f.landed_at, status=FileStatus.SKIPPED, reason=why[:2000])
        else:
            after = OpenFile(f.sort_key, file_id, f.landed_at, status=FileStatus.RECEIVED, attempts=f.attempts,
                             attempt_base=f.attempts, deaths=f.deaths, announced=f.announced, late=False,
                             redrives=f.redrives + 1,
                             reason=f"redriven by an operator after: {record.reason or 'DEAD'}")
        items = self._file_writes(group.group, after, self.clock(), {})
        items[0][next(iter(items[0]))]["ConditionExpression"] = "attribute_exists(#pk) AND #deaths = :d"
        body = items[0][next(iter(items[0]))]
        body["ExpressionAttributeNames"].update({"#pk": LEDGER_KEY, "#deaths": "deaths"})
        body.setdefault("ExpressionAttributeValues", {})[":d"] = {"N": str(record.deaths)}
        items.append({"Update": {"TableName": self.table, "Key": group_key(group.group),
                                 "UpdateExpression": "ADD #version :one", "ExpressionAttributeNames":
                                     {"#version": "version"}, "ExpressionAttributeValues": {":one": {"N": "1"}}}})
        items.append(self._dead_counter(-1))
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as exc:
            if _cancellation_codes(exc) is None:
                raise
            return None
        return self.get(file_id)


def _token(*parts: object) -> str:
    """A ClientRequestToken (at most 36 characters) from what makes a write unique."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:36]


def _cancellation_codes(exc: BaseException) -> list[str] | None:
    """The per-item codes of a cancelled transaction ("None" for items that passed), or None if ``exc`` is
    not a cancelled transaction."""
    if aws_error_code(exc) != "TransactionCanceledException":
        return None
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    codes = [str(r.get("Code") or "None") for r in reasons]
    if not codes:   # some clients only put them in the message: "[ConditionalCheckFailed, None]"
        text = str(exc)
        inside = text[text.find("[") + 1:text.rfind("]")] if "[" in text else ""
        codes = [c.strip() for c in inside.split(",")] if inside else ["ConditionalCheckFailed"]
    return codes


def _cancellation_items(exc: BaseException) -> list[dict[str, Any] | None]:
    reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [r.get("Item") for r in reasons] or [None]
