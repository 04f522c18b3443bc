"""moto's DynamoDB item construction with its 400 KB check made linear, with the same answers.

moto keeps an item's attributes in a ``LimitedSizeDict`` whose every assignment sums the size of the whole item
so far before adding the new attribute (moto issue 1874: the 400 KB limit), so building an item of n attributes
costs n(n+1)/2 attribute sizes, each a walk of its value. The ledger's items have a few dozen attributes and
moto builds one for every put, every update's new image and every transaction's check: a sixth of a
TransactWriteItems went there.

Here ``Item.__init__`` keeps a running total instead: attribute by attribute, in the same order, it converts the
value, adds its size (the key's bytes and the value's ``size()``, what moto's sum counts for it), and raises
``ItemSizeTooLarge`` at the first attribute whose running total passes moto's limit, which is where moto's own
check first fails (the running total of sizes, none negative, is what moto recomputes at each step). The
dictionary it builds is moto's ``LimitedSizeDict``, so later assignments are checked by moto as before.
``tests/emulator/test_moto_items.py`` checks the answers and the errors against moto alone.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

LIMIT = 405000
"""moto's limit (``LimitedSizeDict.__setitem__``): above AWS's documented 400 KB, as moto measured AWS's."""


def linear_item_init() -> Callable[..., None]:
    """``Item.__init__`` with the size check done as a running total."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    put = dict.__setitem__

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = built = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            total += bytesize(key) + typed.size()
            if total > LIMIT:
                raise ItemSizeTooLarge
            put(built, key, typed)

    return __init__


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    """Put the change above into moto until ``stack`` closes (``replace`` restores what it replaces)."""
    from moto.dynamodb.models.dynamo_type import Item

    replace(stack, Item, "__init__", linear_item_init())
