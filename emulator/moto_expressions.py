"""moto's DynamoDB update expressions at a fraction of their cost, with the same answers.

The ledger's every write is an UpdateItem inside a TransactWriteItems, and moto spent a quarter of a chaos run's
CPU on the update expressions alone: it parses each one three times per request (twice to check the names and
values it uses, once to apply it), deep-copies the parsed tree (``copy.deepcopy``, in Python, node by node)
so that its validators can rewrite the copy, and then walks the copy once per validator, rebuilding that
validator's table of node types at every node it visits (a dict and a tuple per node, ten validators, about
ninety nodes for the ledger's longer expressions).

Here a parse is remembered per expression string (a pure function of it; moto only reads the tree it returns: its
validator works on its own copy, and an expression that does not parse raises every time, as nothing is
remembered for it); the copy of a remembered tree is read back from its pickled form (the same objects, types and
links as ``deepcopy`` gives, built in C); and a validator's walk reads its table of node types once per walk
instead of once per node, and asks which entry of it a node matches once per node type (the table is a constant
of each validator class, its methods looked up on the instance as moto does; a validator that changes how it
walks, with its own ``traverse_node_recursively``, ``process`` or ``nodes_to_be_processed``, walks as before).
moto's first three validators (how many clauses of each kind, overlapping paths, no key attribute set) read only
the tree as parsed, the attribute names and the table's keys, and change nothing; once they passed for those
three, they are not run for them again (they were most of a validation: the first looks for the expression's
clauses again at every node below the root).
``tests/emulator/test_moto_expressions.py`` checks answers and tables against moto alone.
"""

from __future__ import annotations

import copy
import pickle
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

MAX_REMEMBERED = 4096
"""Distinct expressions remembered (the stack writes about twenty); past that, parses are moto's again."""


class RememberedParses:
    """``UpdateExpressionParser.make`` remembered per expression, and each remembered tree's pickled form."""

    def __init__(self, make: Callable[[Any, str], Any]):
        self._make = make
        self._by_expression: dict[tuple[Any, str], Any] = {}
        self._pickled: dict[int, tuple[Any, bytes]] = {}
        """id(tree) -> (the tree, its pickle): the tree is kept, so its id names no other object."""
        self._lock = threading.Lock()

    def make(self, cls: Any, expression: str) -> Any:
        key = (cls, expression)
        tree = self._by_expression.get(key)
        if tree is not None:
            return tree
        tree = self._make(cls, expression)  # an expression that does not parse raises here, every time
        with self._lock:
            if len(self._by_expression) < MAX_REMEMBERED and key not in self._by_expression:
                self._pickled[id(tree)] = (tree, pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
                self._by_expression[key] = tree
        return tree

    def remembered(self, tree: Any) -> bool:
        """Whether ``tree`` is one of the parses remembered here (so it is exactly what its expression parses to)."""
        entry = self._pickled.get(id(tree))
        return entry is not None and entry[0] is tree

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """``copy.deepcopy`` as ``moto.dynamodb.parsing.validators`` sees it: a remembered tree is read back
        from its pickle (moto's validator rewrites its copy; the remembered tree stays as parsed)."""
        remembered = self._pickled.get(id(value))
        if remembered is not None and remembered[0] is value and not memo:
            return pickle.loads(remembered[1])
        return copy.deepcopy(value, memo)


def fast_traverse(default_walk: Callable[..., Any], default_process: Callable[..., Any],
                  default_kinds: Callable[..., Any], default_before_child: Callable[..., Any],
                  node_class: Any) -> Callable[[Any, Any], Any]:
    """``DepthFirstTraverser.traverse``: the same depth-first walk as ``traverse_node_recursively`` (children
    first, each child's hook before it, a processed node put in its parent's place), with the validator's
    table of node types read once, and the ``isinstance`` answers behind it remembered per concrete type.

    moto's node classes are abstract base classes, so each ``isinstance`` against them goes through
    ``ABCMeta.__instancecheck__`` (a million calls a sweep of four seeds, a third of a TransactWriteItems).
    Whether a node of a given type is a ``Node``, and which entry of a validator's table is the first it is an
    instance of, depend only on the node's type and the validator's class (its table lists the same classes in
    the same order on every call), so each is asked once per pair."""
    is_node_by_type: dict[type, bool] = {}
    first_entry_by_class: dict[type, dict[type, int]] = {}

    def traverse(self: Any, node: Any) -> Any:
        cls = type(self)
        if (cls.traverse_node_recursively is not default_walk or cls.process is not default_process
                or cls.nodes_to_be_processed is not default_kinds):
            return self.traverse_node_recursively(node)
        table = list(self._processing_map().items())
        first_entry = first_entry_by_class.setdefault(cls, {})
        before_child = None if cls.pre_processing_of_child is default_before_child else self.pre_processing_of_child

        def walk(node: Any, child_id: int = -1) -> Any:
            kind = type(node)
            is_node = is_node_by_type.get(kind)
            if is_node is None:
                is_node = is_node_by_type[kind] = isinstance(node, node_class)
            if is_node:
                parent = node.parent
                if node.children is not None:
                    for i, child in enumerate(node.children):
                        if before_child is not None:
                            before_child(node, i)
                        walk(child, i)
                entry = first_entry.get(kind)
                if entry is None:
                    entry = first_entry[kind] = next(
                        (i for i, (listed, _) in enumerate(table) if isinstance(node, listed)), -1)
                if entry >= 0:
                    node = table[entry][1](node)
                    node.parent = parent
                    if parent:
                        parent.children[child_id] = node
            return node

        return walk(node)

    return traverse


STRUCTURAL = ("ActionCountValidator", "OverlappingPathsValidator", "UpdateHashRangeKeyValidator")
"""moto's first three update-expression validators: they read only the tree as parsed, the attribute names and
the table's key attributes, change nothing, and either pass or raise."""


def validate_once(parses: RememberedParses, init: Callable[..., None],
                  validate: Callable[[Any], Any]) -> tuple[Callable[..., None], Callable[[Any], Any]]:
    """``UpdateExpressionValidator.__init__`` and ``validate``, where the STRUCTURAL validators run once per
    (expression, attribute names, table keys) that passed them: they would pass again, as nothing they read
    differs. One that raised is not remembered (it raises again); a validator list in another order, or an
    expression that is not remembered, is validated as before."""
    passed: set[tuple[Any, ...]] = set()

    def __init__(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        init(self, expression, *args, **kwargs)
        self.emulator_parse = expression if parses.remembered(expression) else None

    def run(self: Any) -> Any:
        tree, processors = getattr(self, "emulator_parse", None), self.processors
        if tree is None or tuple(type(p).__name__ for p in processors[:3]) != STRUCTURAL:
            return validate(self)
        names = self.expression_attribute_names
        key = (id(tree), None if names is None else tuple(sorted(names.items())), tuple(self.table.table_key_attrs))
        try:
            known = key in passed
        except TypeError:  # an unhashable name (a malformed request): nothing to remember
            return validate(self)
        node = self.node_to_validate
        for processor in processors[3:] if known else processors:
            node = processor.traverse(node)
        passed.add(key)  # reached only when every validator passed
        return node

    return __init__, run


def install(stack: ExitStack, replace: Callable[[ExitStack, Any, str, Any], None]) -> None:
    """Put the changes above into moto until ``stack`` closes (``replace`` restores what it replaces)."""
    import moto.dynamodb.parsing.validators as validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    parses = RememberedParses(UpdateExpressionParser.make.__func__)
    replace(stack, UpdateExpressionParser, "make", classmethod(parses.make))
    replace(stack, validators, "deepcopy", parses.deepcopy)
    init, run = validate_once(parses, validators.UpdateExpressionValidator.__init__,
                              validators.UpdateExpressionValidator.validate)
    replace(stack, validators.UpdateExpressionValidator, "__init__", init)
    replace(stack, validators.UpdateExpressionValidator, "validate", run)
    replace(stack, DepthFirstTraverser, "traverse", fast_traverse(
        DepthFirstTraverser.traverse_node_recursively, DepthFirstTraverser.process,
        DepthFirstTraverser.nodes_to_be_processed, DepthFirstTraverser.pre_processing_of_child, Node))
