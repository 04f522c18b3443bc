"""moto's per-request overheads, removed without changing any answer it gives.

A chaos sweep serves about a million requests through moto, and moto spends much of each one on work that
does not depend on the request: it finds the service a URL belongs to by trying the URL patterns of every
service it emulates, draws a 52-character request id one ``random.choice`` at a time, lists its response
class's methods with ``inspect``, turns CamelCase into snake_case with regular expressions (per request, and
per attribute whenever a queue's attributes are read), builds a PLY parser for every EventBridge input path
it evaluates, and writes every DynamoDB answer through its generic serialiser, although the answer is already
in DynamoDB's wire form (a fifth of moto's time on the ledger's UpdateItem calls). Worst of all, every
TransactWriteItems deep-copies each table it names, every item of it, to be able to roll back: the ledger's
guarded transactions made that 35% of a chaos run's CPU, growing with the ledger.

Here the URL's handler is remembered per URL (moto's own lookup, done once); random strings are drawn with
one ``random.choices`` from the same generator and alphabet; the next three are memoised (pure functions of
their argument); and a DynamoDB answer made of strings, numbers, booleans and bytes is walked along its output
shape (its members only, no nulls, bytes base64-encoded, as the serialiser does) and written with
``json.dumps``. Anything else (a timestamp, an error) goes through moto's serialiser as before. A transaction
keeps copies of only the items it names (the only ones it can change) and puts those back when it is cancelled,
which is what moto's whole-table rollback amounts to.
``tests/emulator/test_clock_speed.py`` checks the DynamoDB answers against moto's own serialiser.
The update expressions those transactions carry (parsed three times a request, deep-copied, validated in walks
that are quadratic in the expression) cost another quarter of a run: ``emulator/moto_expressions.py``, installed
with the rest, remembers their parses and structural checks (``tests/emulator/test_moto_expressions.py``).
A KMS key's signing key pair is made on first use (``emulator/moto_keys.py``), a request's werkzeug object is
built from its environ directly (``emulator/moto_requests.py``), a condition is parsed once
(``emulator/moto_conditions.py``).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import string
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

_NOT_PLAIN = object()


def _plain(value: Any, shape: Any) -> Any:
    """``value`` as moto's JSON serialiser writes it for ``shape`` (only the shape's members of a structure,
    bytes base64-encoded), or _NOT_PLAIN for anything that needs the serialiser (a timestamp, an odd value)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return _NOT_PLAIN
        members, result = shape.members, {}
        for key, item in value.items():
            member = members.get(key)
            if member is None or item is None:
                continue  # the serialiser writes only the shape's members, and no nulls
            converted = _plain(item, member)
            if converted is _NOT_PLAIN:
                return _NOT_PLAIN
            result[member.serialization.get("name", key)] = converted
        return result
    if kind == "map":
        if not isinstance(value, dict):
            return _NOT_PLAIN
        result = {}
        for key, item in value.items():
            converted = _plain(item, shape.value)
            if converted is _NOT_PLAIN or not isinstance(key, str):
                return _NOT_PLAIN
            result[key] = converted
        return result
    if kind == "list":
        if not isinstance(value, list | tuple):
            return _NOT_PLAIN
        items = [_plain(item, shape.member) for item in value]
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in items) else items
    if kind == "blob":
        return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else _NOT_PLAIN
    if kind == "string":
        return value if isinstance(value, str) else _NOT_PLAIN
    if kind == "boolean":
        return value if isinstance(value, bool) else _NOT_PLAIN
    if kind in ("integer", "long", "double", "float"):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else _NOT_PLAIN
    return _NOT_PLAIN


def dynamodb_fast_answer(result: Any, output_shape: Any) -> tuple[int, dict[str, str], str] | None:
    """The answer moto's JSON serialiser would give for a DynamoDB result, or None when it must decide."""
    if output_shape is None or not isinstance(result, dict):
        return None
    plain = _plain(result, output_shape)
    if plain is _NOT_PLAIN:
        return None
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(plain)


class _TransactionCopies:
    """The ``copy`` module as ``moto.dynamodb.models`` sees it while a transaction's touched items are saved:
    the whole-table deep copy moto makes for its rollback answers the table itself (a no-op rollback), since
    ``transact_write_items`` below restores the items instead."""

    def __init__(self) -> None:
        self.saving_items = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and getattr(self.saving_items, "on", False):
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


def _item_level_transactions(stack: ExitStack) -> None:
    import moto.dynamodb.models as dynamodb_models

    copies = _TransactionCopies()
    _replace(stack, dynamodb_models, "copy", copies)
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _touched_items(self, transact_items)
        if saved is None:
            return original(self, transact_items)
        copies.saving_items.on = True
        try:
            return original(self, transact_items)
        except Exception:
            _put_back(saved)
            raise
        finally:
            copies.saving_items.on = False

    _replace(stack, dynamodb_models.DynamoDBBackend, "transact_write_items", transact_write_items)


def _random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """``MotoRandom.get_random_string`` in one draw: same generator (seeding it still fixes every id), same
    alphabet and length."""
    pool = string.ascii_letters + (string.digits if include_digits else "")
    text = "".join(self.choices(pool, k=length))
    return text.lower() if lower_case else text


def _replace(stack: ExitStack, owner: Any, name: str, value: Any) -> None:
    if isinstance(owner, type) and name not in owner.__dict__:  # inherited: put the inheritance back after
        setattr(owner, name, value)
        stack.callback(delattr, owner, name)
        return
    original = getattr(owner, name)
    setattr(owner, name, value)
    stack.callback(setattr, owner, name, original)


def _memoised_everywhere(stack: ExitStack, module_name: str, name: str) -> None:
    """Replace a pure function by a memoised one in its module and in every moto module that imported it."""
    module = sys.modules[module_name]
    original: Callable[..., Any] = getattr(module, name)
    cached = functools.lru_cache(maxsize=4096)(original)
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "__name__", "").startswith("moto") and getattr(loaded, name, None) is original:
            _replace(stack, loaded, name, cached)


def _resolver() -> Callable[[str], Any]:
    """moto's lookup of the function that serves a URL (``BotocoreStubber.process_request``), remembered per
    URL. None: not a URL moto serves directly (passthrough, not whitelisted, unknown): moto decides as before."""
    import re

    import moto.backend_index as backend_index
    import moto.backends as backends
    import moto.core
    from moto.core.base_backend import BackendDict
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted

    def resolve(clean_url: str) -> Any:
        if passthrough_url(clean_url):
            return None
        for service, pattern in backend_index.backend_url_patterns:
            if not pattern.match(clean_url):
                continue
            if passthrough_service(service) or not service_whitelisted(service):
                return None
            backend_dict: Any = backends.get_backend(service)  # type: ignore[call-overload]
            if isinstance(backend_dict, BackendDict):
                accounts = backend_dict[moto.core.DEFAULT_ACCOUNT_ID]  # type: ignore[attr-defined]
                backend = accounts["us-east-1"] if "us-east-1" in accounts else accounts["aws"]
            else:
                backend = backend_dict["global"]
            for url, method in backend.urls.items():
                if re.compile(url).match(clean_url):
                    return method
            return None  # moto stops at the first service whose pattern matches, too
        return None

    return functools.lru_cache(maxsize=8192)(resolve)


def fast_process_request(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``BotocoreStubber.process_request`` with the URL's handler remembered; the request itself is served
    exactly as moto serves it (normalised, recorded, dispatched, HTTP errors turned into answers)."""
    from botocore.awsrequest import AWSPreparedRequest
    from moto.core.exceptions import HTTPException  # type: ignore[attr-defined]
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    from landing_pipeline.emulator.moto_requests import request_from_botocore

    resolve = _resolver()

    def process_request(request: Any) -> Any:
        parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
        method = resolve(f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}")
        if method is None:
            return original(request)
        normalized = (request_from_botocore(request) if isinstance(request, AWSPreparedRequest) else None
                      ) or normalize_request(request)
        try:
            recorder._record_request(normalized)
            return method(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as error:
            return error.code, error.get_headers(), error.get_body()

    return process_request


@contextmanager
def installed() -> Iterator[None]:
    """moto with the overheads above removed, for as long as the block runs."""
    import jsonpath_ng.ext
    import moto.core.responses as responses
    import moto.core.utils
    import moto.dynamodb.responses as dynamodb_responses
    import moto.events.utils
    import moto.sqs.models  # noqa: F401
    from moto.moto_api._internal.moto_random import MotoRandom

    from landing_pipeline.emulator import moto_conditions, moto_expressions, moto_keys, moto_queries

    with ExitStack() as stack:
        _memoised_everywhere(stack, "moto.core.utils", "camelcase_to_underscores")
        method_names = functools.lru_cache(maxsize=None)(responses.method_names_from_class)  # type: ignore[attr-defined]
        _replace(stack, responses, "method_names_from_class", method_names)
        parse = jsonpath_ng.ext.parse  # type: ignore[attr-defined]
        _replace(stack, jsonpath_ng.ext, "parse", functools.lru_cache(maxsize=1024)(parse))
        _replace(stack, MotoRandom, "get_random_string", _random_string)

        original_execute = dynamodb_responses.DynamoResult.execute_result

        def execute_result(self: Any, context: Any) -> Any:
            fast = dynamodb_fast_answer(self.result, context.operation_model.output_shape)
            return fast if fast is not None else original_execute(self, context)

        _replace(stack, dynamodb_responses.DynamoResult, "execute_result", execute_result)
        _item_level_transactions(stack)
        moto_expressions.install(stack, _replace)
        moto_queries.install(stack, _replace)
        moto_keys.install(stack, _replace)
        moto_conditions.install(stack, _replace)
        yield
