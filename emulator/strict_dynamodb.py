"""DynamoDB global secondary indexes, eventually consistent as on AWS: ``--fault gsi-lag:SECONDS``.

On AWS a GSI is updated asynchronously from its table, always: a read right after a write can see the
state before it. moto updates indexes in the same call. With a lag, every Query and every Scan on a GSI here
sees each item as it was ``SECONDS`` pipeline seconds ago (a put not yet there, an update not yet applied, a
deleted item still present), while reads of the table itself (GetItem, Query or Scan without an index) stay
exact.

How: every write records the version of each item it replaces; a GSI read puts the versions of the last
``SECONDS`` back into moto's table for the length of that one request (under the emulator's lock), then the
current ones. Writes older than the lag are forgotten, so the cost is bounded by the writes of one lag.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from typing import Any

from landing_pipeline.emulator.strict_requests import operation, parameters

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
_Key = tuple[str, str, str]  # table, hash value, range value (as moto's DynamoType reprs)


def _keys_written(op: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, item-or-key) of every item ``op`` may write."""
    if op in ("PutItem", "UpdateItem", "DeleteItem"):
        return [(params.get("TableName", ""), params.get("Item") or params.get("Key") or {})]
    if op == "TransactWriteItems":
        return [(action.get("TableName", ""), action.get("Item") or action.get("Key") or {})
                for entry in params.get("TransactItems") or [] for kind, action in entry.items()
                if kind in ("Put", "Update", "Delete")]
    if op == "BatchWriteItem":
        return [(table, (request.get("PutRequest") or {}).get("Item") or (request.get("DeleteRequest") or {}).get("Key")
                 or {}) for table, requests in (params.get("RequestItems") or {}).items() for request in requests]
    return []


class GsiLag:
    """The request hook (innermost: it serves with moto's own lock held around its bookkeeping)."""

    def __init__(self, aws: Any, lag_s: float):
        from moto.dynamodb.models import dynamodb_backends

        self.aws, self.lag_s = aws, float(lag_s)
        self.backend = dynamodb_backends[aws.account_id][aws.region]
        self._replaced: deque[tuple[float, _Key, Any]] = deque()
        self._lock = threading.Lock()
        self.lagged_queries = 0
        """GSI queries and scans answered from a state older than the table's (at least one item differed)."""

    def __call__(self, request: Any, serve: Any) -> Any:
        op = operation(request)
        if op in WRITES:
            return self._write(request, op, serve)
        if op in ("Query", "Scan"):
            params = parameters(request)
            if params.get("IndexName") and self._is_gsi(params.get("TableName", ""), params["IndexName"]):
                return self._lagged_query(request, params["TableName"], serve)
        return serve(request)

    def _table(self, name: str) -> Any:
        return self.backend.tables.get(name)

    def _is_gsi(self, table_name: str, index: str) -> bool:
        table = self._table(table_name)
        return table is not None and any(i.name == index for i in table.global_indexes)

    def _slot(self, table: Any, item: dict[str, Any]) -> tuple[Any, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        if table.hash_key_attr not in item:
            return None
        hash_value = DynamoType(item[table.hash_key_attr])
        range_value = DynamoType(item[table.range_key_attr]) if table.range_key_attr in item else None
        return hash_value, range_value

    @staticmethod
    def _get(table: Any, slot: tuple[Any, Any]) -> Any:
        hash_value, range_value = slot
        if range_value is None:
            return table.items.get(hash_value)
        return table.items.get(hash_value, {}).get(range_value)

    @staticmethod
    def _set(table: Any, slot: tuple[Any, Any], item: Any) -> None:
        hash_value, range_value = slot
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            return
        versions = table.items.setdefault(hash_value, {})
        if item is None:
            versions.pop(range_value, None)
        else:
            versions[range_value] = item

    def _write(self, request: Any, op: str, serve: Any) -> Any:
        with self.aws.lock:
            before = []
            for table_name, item in _keys_written(op, parameters(request)):
                table = self._table(table_name)
                slot = self._slot(table, item) if table is not None else None
                if slot is not None:
                    before.append(((table_name, repr(slot[0]), repr(slot[1])), table, slot,
                                   copy.deepcopy(self._get(table, slot))))
            response = serve(request)
            if isinstance(response, tuple) and response[0] == 200:
                now = self.aws.clock.now()
                with self._lock:
                    while self._replaced and self._replaced[0][0] <= now - self.lag_s:
                        self._replaced.popleft()
                    for key, table, slot, previous in before:
                        self._replaced.append((now, key, (table, slot, previous)))
            return response

    def _lagged_query(self, request: Any, table_name: str, serve: Any) -> Any:
        with self.aws.lock:
            cutoff = self.aws.clock.now() - self.lag_s
            oldest: dict[_Key, tuple[Any, Any, Any]] = {}
            with self._lock:
                for at, key, entry in self._replaced:
                    if at > cutoff and key[0] == table_name and key not in oldest:
                        oldest[key] = entry  # the version before the first write inside the lag
            if not oldest:
                return serve(request)
            current = [(table, slot, self._get(table, slot)) for table, slot, _ in oldest.values()]
            for table, slot, previous in oldest.values():
                self._set(table, slot, previous)
            self.lagged_queries += 1
            try:
                return serve(request)
            finally:
                for table, slot, item in current:
                    self._set(table, slot, item)
