"""moto's per-request overheads, removed without changing any answer it gives.

A chaos sweep serves about a million requests through moto, and moto spends much of each one on work that
does not depend on the request: it finds the service a URL belongs to by trying the URL patterns of every
service it emulates, draws a 52-character request id one ``random.choice`` at a time, lists its response
class's methods with ``inspect``, turns CamelCase into snake_case with regular expressions (per request, and
per attribute whenever a queue's attributes are read), builds a PLY parser for every EventBridge input path
it evaluates, and writes every DynamoDB answer through its generic serialiser, although the answer is already
in DynamoDB's wire form (a fifth of moto's time on the ledger's UpdateItem calls).

Here the URL's handler is remembered per URL (moto's own lookup, done once); random strings are drawn with
one ``random.choices`` from the same generator and alphabet; the next three are memoised (pure functions of
their argument); and a DynamoDB answer made of strings, numbers, booleans and bytes is walked along its output
shape (its members only, no nulls, bytes base64-encoded, as the serialiser does) and written with
``json.dumps``. Anything else (a timestamp, an error) goes through moto's serialiser as before.
``tests/emulator/test_clock_speed.py`` checks the DynamoDB answers against moto's own serialiser.
The update expressions those transactions carry (parsed three times a request, deep-copied, validated in walks
that are quadratic in the expression) cost another quarter of a run: ``emulator/moto_expressions.py``, installed
with the rest, remembers their parses and structural checks (``tests/emulator/test_moto_expressions.py``).
Installed with the rest, each with its own test: the deep copies a transaction and an update make, cut to what
is read afterwards (``emulator/moto_copies.py``: once 35% of a chaos run's CPU); a KMS key's signing key pair,
made on first use (``moto_keys.py``); a request's werkzeug object, built from its environ directly
(``moto_requests.py``); a condition expression, parsed once (``moto_conditions.py``); an item's 400 KB check,
as a running total (``moto_items.py``).
"""

from __future__ import annotations

import base64
import functools
import json
import string
import sys
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

    from landing_pipeline.emulator import (
        moto_conditions,
        moto_copies,
        moto_expressions,
        moto_items,
        moto_keys,
        moto_queries,
    )

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
        moto_copies.install(stack, _replace)
        moto_expressions.install(stack, _replace)
        moto_queries.install(stack, _replace)
        moto_keys.install(stack, _replace)
        moto_conditions.install(stack, _replace)
        moto_items.install(stack, _replace)
        yield
