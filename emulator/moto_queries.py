"""moto's DynamoDB Query on a table's own key without sorting the whole table first.

For a query on the table's key (no index), moto's ``Table.query`` lists every item of the table sorted by
(hash, range) (``all_items``) and keeps those whose hash key equals the queried one; the ledger's group reads
do that on every load, so the sort grows with the ledger (3 % of a steady chaos seed). Keys are unique and
``DynamoType`` hashes as it compares (type and value), so the items with that hash key are exactly the queried
key's entry of ``Table.items``; sorted with the same key function (a stable sort of the same items in the same
relative order), they are the sub-list moto's filter would keep, in the same order. Only that one call of
``all_items`` inside such a query is answered this way; index queries and scans see the whole table as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

INDEX_NAME_POSITION = 6
"""``index_name``'s place among ``Table.query``'s positional arguments after ``hash_key``."""


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    from moto.dynamodb.models.table import Table

    original_query, original_all_items = Table.query, Table.all_items
    hint = threading.local()

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[INDEX_NAME_POSITION] if len(args) > INDEX_NAME_POSITION else kwargs.get("index_name")
        hint.key = (self, hash_key) if index_name is None and hash_key is not None else None
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            hint.key = None

    def all_items(self: Any) -> list[Any]:
        key = getattr(hint, "key", None)
        if key is None or key[0] is not self:
            return original_all_items(self)
        hint.key = None
        hash_set = self.items.get(key[1])
        if hash_set is None:
            return []
        items = list(hash_set.values()) if self.range_key_attr else [hash_set]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    replace(stack, Table, "query", query)
    replace(stack, Table, "all_items", all_items)
