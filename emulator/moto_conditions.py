"""Each DynamoDB condition expression parsed once per (expression, names, values), not three times a request.

moto parses a condition expression where it validates the request (``responses``: are all names and values
used?) and again where it applies it (``get_filter_expression`` in the transaction, then once more inside
``update_item``), each time lexing the text character by character: a twentieth of a chaos seed's CPU, for
the ledger's guarded transactions. The parse is a pure function of the expression, its attribute names and
values, and its result (an ``Op`` tree) is only evaluated, never changed, so here ``ConditionExpressionParser
.parse`` answers a repeat of the last few parses with the same tree and reports the same names and values it
found. A parse that raised is not remembered: it raises again.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

REMEMBERED = 256
"""Parses kept (the most recent): a request's repeats are a few calls apart."""


def remembering_parse(parse: Callable[[Any], Any], limit: int = REMEMBERED) -> Callable[[Any], Any]:
    """``ConditionExpressionParser.parse`` that answers a repeat from memory."""
    memo: OrderedDict[tuple[Any, str, str], tuple[Any, tuple[str, ...], tuple[str, ...]]] = OrderedDict()
    lock = threading.Lock()  # moto outside the emulator (a test) may serve two requests at once

    def remembered(self: Any) -> Any:
        try:
            key = (self.condition_expression, json.dumps(self.expression_attribute_names, sort_keys=True),
                   json.dumps(self.expression_attribute_values, sort_keys=True))
            hash(key)
        except (TypeError, ValueError):  # not JSON (a malformed request): parse it as moto does
            return parse(self)
        with lock:
            hit = memo.get(key)
            if hit is not None:
                memo.move_to_end(key)
        if hit is None:
            op = parse(self)
            with lock:
                memo[key] = (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found))
                if len(memo) > limit:
                    memo.popitem(last=False)
            return op
        op, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    return remembered


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    """Remember parses in ``moto.dynamodb.comparisons`` until ``stack`` closes."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    replace(stack, ConditionExpressionParser, "parse", remembering_parse(ConditionExpressionParser.parse))
