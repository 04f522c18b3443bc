"""The deep copies moto's DynamoDB makes of what a write may change, cut to what is read afterwards.

Every TransactWriteItems deep-copies each table it names, every item of it, to be able to roll back: with the
ledger's guarded transactions that was 35% of a chaos run's CPU, growing with the ledger. A transaction here
keeps copies of only the items it names (the only ones it can change) and puts those back when it is
cancelled, which is what moto's whole-table rollback amounts to (``tests/emulator/test_moto_transactions.py``).

Every UpdateItem (also each Update of a transaction) deep-copies the item it updates, for one reader: the
table's stream, which records the old image. A table without a stream (every table of this stack) never
reads that copy, so there the item itself stands in for it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any


class _Copies:
    """The ``copy`` module as ``moto.dynamodb.models`` sees it. While a transaction's touched items are saved,
    the whole-table deep copy moto makes for its rollback answers the table itself (a no-op rollback, since
    ``transact_write_items`` below restores the items instead); while an update of a table without a stream
    runs, the old item's copy answers the item."""

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and getattr(self.local, "saving_items", False):
            return value
        if isinstance(value, Item) and getattr(self.local, "unstreamed_update", False):
            return value
        return copy.deepcopy(value, memo)


_Saved = list[tuple[Any, Any, Any, Any]]  # (table, hash value, range value or None, item copy or None)


def _touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> _Saved | None:
    """A copy of every item the transaction names, or None when one cannot be located (moto then decides,
    with its own whole-table copy)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: _Saved = []
    try:
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op["Key"] if "Key" in op else op["Item"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.items.get(hash_value)
            if range_value is not None:
                current = current.get(range_value) if current else None
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    except (KeyError, TypeError, AttributeError, StopIteration):
        return None
    return saved


def _put_back(saved: _Saved) -> None:
    for table, hash_value, range_value, item in reversed(saved):  # reversed: the earliest copy of an item wins
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    """Both changes, in ``moto.dynamodb.models`` until ``stack`` closes."""
    import moto.dynamodb.models as dynamodb_models

    copies = _Copies()
    replace(stack, dynamodb_models, "copy", copies)
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _touched_items(self, transact_items)
        if saved is None:
            return original(self, transact_items)
        copies.local.saving_items = True
        try:
            return original(self, transact_items)
        except Exception:
            _put_back(saved)
            raise
        finally:
            copies.local.saving_items = False

    replace(stack, dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)
    update = dynamodb_models.DynamoDBBackend.update_item

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        unstreamed = table is not None and getattr(table, "stream_shard", None) is None
        outer = getattr(copies.local, "unstreamed_update", False)
        copies.local.unstreamed_update = unstreamed
        try:
            return update(self, table_name, *args, **kwargs)
        finally:
            copies.local.unstreamed_update = outer

    replace(stack, dynamodb_models.DynamoDBBackend, "update_item", update_item)
