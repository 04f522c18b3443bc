"""Exact overlap and reachability of feed patterns: automata over globs and the regular subset of ``re``.

A feed's ``match`` is a glob (``fnmatch.fnmatchcase``, whole name) or a regex (``re.fullmatch``). Deciding
whether two feeds can claim the same name by sampling names would miss the one a user lands next month, so
each pattern becomes a Thompson NFA built from the tree ``re``'s own parser gives (a glob through
``fnmatch.translate``, so the automaton is the very language ``fnmatchcase`` accepts), and the questions are
decided on the product of the automata, determinised on the fly:

* ``intersection_witness(a, b)``: the shortest name both accept, or None when no name does;
* ``difference_witness(a, others)``: the shortest name ``a`` accepts and none of ``others`` does, or None
  (``a`` is unreachable behind them when every name it matches is theirs).

The alphabet is every Unicode code point, cut into the intervals the patterns' classes distinguish, so the
answer is exact, not a guess. Supported: literals, classes (with ``\\d``, ``\\w``, ``\\s`` in Unicode or ASCII
mode), ``.`` (with or without DOTALL), ``* + ? {m,n}`` (greedy or lazy: the language is the same), ``|``,
groups, ``^``/``\\A`` and ``$``/``\\Z``. Outside it (backreferences, lookaround, ``\\b``, conditionals, atomic
groups and possessive repeats in a regex, IGNORECASE, MULTILINE) ``Uncheckable`` says what and what to do.
Stdlib only: this module ships in the Lambda zip with the rest of ``runtime/``.
"""

from __future__ import annotations

import bisect
import fnmatch
import importlib
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any

_sre: Any = importlib.import_module("re._parser")  # the parser re.compile uses (sre_parse is deprecated in 3.11)

MAX_CODE = 0x10FFFF
MAX_NFA_STATES = 20_000
"""Largest automaton one pattern may become (a ``{m,n}`` repeat is expanded into copies)."""
MAX_PRODUCT_STATES = 50_000
"""Most product states one question may visit before it gives up rather than stall a deploy."""
_PREFERRED = [ord(c) for c in "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + \
    list(range(0x21, 0x7F)) + [0x20]
"""Characters a witness is spelt in when the class allows: a readable name beats chr(0)."""

Ranges = tuple[tuple[int, int], ...]
"""A set of code points as sorted, disjoint, inclusive (low, high) intervals."""
ALL: Ranges = ((0, MAX_CODE),)
NEWLINE: Ranges = ((10, 10),)


class Uncheckable(ValueError):
    """The pattern leaves the regular subset the check decides exactly; ``construct`` names what, ``fix`` what
    to write instead."""

    def __init__(self, construct: str, fix: str):
        self.construct = construct
        self.fix = fix
        super().__init__(f"{construct}: {fix}")


def _normal(ranges: Sequence[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= MAX_CODE:
        out.append((start, MAX_CODE))
    return tuple(out)


def _contains(ranges: Ranges, code: int) -> bool:
    at = bisect.bisect_right(ranges, (code, MAX_CODE + 1)) - 1
    return at >= 0 and ranges[at][0] <= code <= ranges[at][1]


@lru_cache(maxsize=1)
def _every_code_point() -> str:
    return "".join(map(chr, range(MAX_CODE + 1)))


@lru_cache(maxsize=16)
def _category(name: str, ascii_only: bool) -> Ranges:
    """The code points ``re`` puts in ``\\d``/``\\w``/``\\s`` (or their negation), read from ``re`` itself."""
    negate = name.startswith("CATEGORY_NOT_")
    escape = {"DIGIT": r"\d", "WORD": r"\w", "SPACE": r"\s"}.get(name.removeprefix("CATEGORY_NOT_")
                                                               .removeprefix("CATEGORY_"))
    if escape is None:
        raise Uncheckable(f"the class {name}", "use \\d, \\w, \\s or an explicit class")
    found = _normal([(m.start(), m.end() - 1)
                     for m in re.finditer(escape + "+", _every_code_point(), re.ASCII if ascii_only else 0)])
    return _complement(found) if negate else found


@dataclass
class Nfa:
    """A Thompson automaton: ``chars[s]`` are (class, target) edges, ``eps[s]`` (guard, target) edges where the
    guard is None, 'start' (``^``, ``\\A``), 'end' (``\\Z``) or 'eol' (``$``: at the end or before a final
    newline)."""

    chars: list[list[tuple[Ranges, int]]] = field(default_factory=list)
    eps: list[list[tuple[str | None, int]]] = field(default_factory=list)
    start: int = 0
    accept: int = 0
    steps: dict[tuple[frozenset[tuple[int, int]], int], frozenset[tuple[int, int]]] = field(
        default_factory=dict, repr=False)
    """Memoised moves of the determinised automaton: one feed is compared with every other, so its first
    moves are shared by every question."""
    prefix: str | None = field(default=None, repr=False)
    """``literal_prefix``'s answer, once computed."""

    def state(self) -> int:
        if len(self.chars) >= MAX_NFA_STATES:
            raise Uncheckable(f"a pattern of more than {MAX_NFA_STATES} automaton states",
                              "use smaller {m,n} repeat counts (e.g. \\d+ instead of \\d{1,5000})")
        self.chars.append([])
        self.eps.append([])
        return len(self.chars) - 1


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str, syntax: str) -> Nfa:
    """The automaton of a feed's ``match``: ``syntax`` 'glob' (fnmatchcase) or 'regex' (re.fullmatch).

    Raises ``re.error`` for an invalid regex and ``Uncheckable`` outside the supported subset."""
    source = fnmatch.translate(pattern) if syntax == "glob" else pattern
    re.compile(source)
    parsed = _sre.parse(source)
    nfa = Nfa()
    builder = _Builder(nfa, glob=syntax == "glob")
    start, end = builder.sequence(list(parsed), parsed.state.flags)
    nfa.start, nfa.accept = start, end
    return nfa


class _Builder:
    def __init__(self, nfa: Nfa, glob: bool):
        self.nfa = nfa
        self.glob = glob  # fnmatch.translate's atomic groups (?>.*?X) accept the same language as (?:.*?X)

    def sequence(self, items: list[Any], flags: int) -> tuple[int, int]:
        start = end = self.nfa.state()
        for op, av in items:
            first, last = self.node(op, av, flags)
            self.nfa.eps[end].append((None, first))
            end = last
        return start, end

    def edge(self, ranges: Ranges) -> tuple[int, int]:
        first, last = self.nfa.state(), self.nfa.state()
        if ranges:
            self.nfa.chars[first].append((ranges, last))
        return first, last

    def guard(self, guard: str) -> tuple[int, int]:
        first, last = self.nfa.state(), self.nfa.state()
        self.nfa.eps[first].append((guard, last))
        return first, last

    def node(self, op: Any, av: Any, flags: int) -> tuple[int, int]:
        _check_flags(flags)
        if op is _sre.LITERAL:
            return self.edge(((av, av),))
        if op is _sre.NOT_LITERAL:
            return self.edge(_complement(((av, av),)))
        if op is _sre.ANY:
            return self.edge(ALL if flags & re.DOTALL else _complement(NEWLINE))
        if op is _sre.IN:
            return self.edge(_class(av, flags))
        if op is _sre.BRANCH:
            return self.alternatives([self.sequence(list(branch), flags) for branch in av[1]])
        if op is _sre.SUBPATTERN:
            _group, add, remove, body = av
            return self.sequence(list(body), (flags | add) & ~remove)
        if op is _sre.ATOMIC_GROUP and self.glob:
            return self.sequence(list(av), flags)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, body = av
            return self.repeat(list(body), flags, low, None if high is _sre.MAXREPEAT else high)
        if op is _sre.AT:
            return self.anchor(av, flags)
        raise _unsupported(op)

    def alternatives(self, parts: list[tuple[int, int]]) -> tuple[int, int]:
        first, last = self.nfa.state(), self.nfa.state()
        for start, end in parts:
            self.nfa.eps[first].append((None, start))
            self.nfa.eps[end].append((None, last))
        return first, last

    def repeat(self, body: list[Any], flags: int, low: int, high: int | None) -> tuple[int, int]:
        start = end = self.nfa.state()
        for _ in range(low):
            first, last = self.sequence(body, flags)
            self.nfa.eps[end].append((None, first))
            end = last
        if high is None:  # a loop: hub -> body -> hub, hub -> out
            hub = self.nfa.state()
            first, last = self.sequence(body, flags)
            self.nfa.eps[end].append((None, hub))
            self.nfa.eps[hub].append((None, first))
            self.nfa.eps[last].append((None, hub))
            return start, hub
        out = self.nfa.state()
        for _ in range(high - low):  # each optional copy may be skipped straight to the end
            self.nfa.eps[end].append((None, out))
            first, last = self.sequence(body, flags)
            self.nfa.eps[end].append((None, first))
            end = last
        self.nfa.eps[end].append((None, out))
        return start, out

    def anchor(self, at: Any, flags: int) -> tuple[int, int]:
        if at in (_sre.AT_BEGINNING_STRING, _sre.AT_BEGINNING):
            return self.guard("start")
        if at is _sre.AT_END_STRING:
            return self.guard("end")
        if at is _sre.AT_END:
            return self.guard("eol")
        raise Uncheckable("a word boundary (\\b or \\B)",
                          "match the characters themselves, e.g. [_-] between words, or use a glob")


def _check_flags(flags: int) -> None:
    if flags & re.IGNORECASE:
        raise Uncheckable("case-insensitive matching ((?i))", "write both cases in a class, e.g. [Oo]rders_.*")
    if flags & re.MULTILINE:
        raise Uncheckable("multi-line anchors ((?m))", "drop (?m): a name is one line")


def _class(items: list[Any], flags: int) -> Ranges:
    negate, parts = False, []
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            parts.append((av, av))
        elif op is _sre.RANGE:
            parts.append(av)
        elif op is _sre.CATEGORY:
            parts.extend(_category(str(av), bool(flags & re.ASCII)))
        else:
            raise _unsupported(op)
    ranges = _normal(parts)
    return _complement(ranges) if negate else ranges


def _unsupported(op: Any) -> Uncheckable:
    name = str(op)
    if name in ("GROUPREF", "GROUPREF_EXISTS"):
        return Uncheckable("a backreference or conditional ((?P=name), \\1, (?(1)...))",
                           "repeat the sub-pattern itself instead of referring back to it")
    if name in ("ASSERT", "ASSERT_NOT"):
        return Uncheckable("a lookahead or lookbehind ((?=...), (?!...), (?<=...), (?<!...))",
                           "express the condition in the pattern itself, e.g. orders_(eu|us)_.* instead of "
                           "orders_(?!test).*, or split the feed in two")
    if name in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT"):
        return Uncheckable("an atomic group or possessive repeat ((?>...), *+, ++)",
                           "write an ordinary group or repeat: (?:...), *, +")
    return Uncheckable(f"the construct {name}", "use literals, classes, ., *, +, ?, {m,n}, | and groups")


Config = frozenset[tuple[int, int]]
"""NFA configurations (state, mode): mode 0 reads on, 1 may read only a final newline ($ passed), 2 is at the
end (\\Z passed)."""


def _closure(nfa: Nfa, seeds: Sequence[tuple[int, int]], at_start: bool) -> Config:
    seen = set(seeds)
    todo = list(seeds)
    while todo:
        state, mode = todo.pop()
        for guard, target in nfa.eps[state]:
            if guard == "start" and not at_start:
                continue
            step = (target, 2 if guard == "end" else max(mode, 1) if guard == "eol" else mode)
            if step not in seen:
                seen.add(step)
                todo.append(step)
    return frozenset(seen)


def _labels(nfa: Nfa, config: Config) -> list[Ranges]:
    """The classes ``config`` can read next (a configuration past ``$`` reads only a newline)."""
    out = []
    for state, mode in config:
        if mode == 2:
            continue
        for ranges, _ in nfa.chars[state]:
            out.append(ranges if mode == 0 else (NEWLINE if _contains(ranges, 10) else ()))
    return out


def _step(nfa: Nfa, config: Config, code: int) -> Config:
    known = nfa.steps.get((config, code))
    if known is None:
        known = nfa.steps[(config, code)] = _move(nfa, config, code)
    return known


def _move(nfa: Nfa, config: Config, code: int) -> Config:
    seeds = [(target, 0 if mode == 0 else 2)
             for state, mode in config if mode == 0 or (mode == 1 and code == 10)
             for ranges, target in nfa.chars[state] if _contains(ranges, code)]
    return _closure(nfa, seeds, at_start=False) if seeds else frozenset()


def _accepts(nfa: Nfa, config: Config) -> bool:
    return any(state == nfa.accept for state, _ in config)


def _nicest(segments: list[tuple[int, int]]) -> int:
    ranges = _normal(segments)
    return next((c for c in _PREFERRED if _contains(ranges, c)), ranges[0][0])


def _search(nfas: Sequence[Nfa], wanted: Callable[[list[bool]], bool],
            alive: Callable[[list[Config]], bool]) -> str | None:
    """Breadth-first over the determinised product: the shortest string whose acceptance vector is
    ``wanted``, or None. ``alive`` prunes product states from which no wanted string can follow."""
    first = tuple(_closure(n, [(n.start, 0)], at_start=True) for n in nfas)
    parents: dict[tuple[Config, ...], tuple[tuple[Config, ...], list[tuple[int, int]]] | None] = {first: None}
    queue = deque([first])
    while queue:
        current = queue.popleft()
        if wanted([_accepts(n, c) for n, c in zip(nfas, current, strict=True)]):
            return _spell(parents, current)
        labels = [r for n, c in zip(nfas, current, strict=True) for r in _labels(n, c)]
        cuts = sorted({low for r in labels for low, _ in r} | {high + 1 for r in labels for _, high in r})
        successors: dict[tuple[Config, ...], list[tuple[int, int]]] = {}
        for low, next_low in pairwise(cuts):
            after = tuple(_step(n, c, low) for n, c in zip(nfas, current, strict=True))
            if alive(list(after)):
                successors.setdefault(after, []).append((low, next_low - 1))
        for after, segments in successors.items():
            if after not in parents:
                if len(parents) >= MAX_PRODUCT_STATES:
                    raise Uncheckable(f"patterns whose product has more than {MAX_PRODUCT_STATES} states",
                                      "simplify the patterns (fewer alternatives and nested repeats)")
                parents[after] = (current, segments)
                queue.append(after)
    return None


def _spell(parents: dict[tuple[Config, ...], tuple[tuple[Config, ...], list[tuple[int, int]]] | None],
           state: tuple[Config, ...]) -> str:
    codes = []
    link = parents[state]
    while link is not None:
        state, segments = link
        codes.append(_nicest(segments))
        link = parents[state]
    return "".join(map(chr, reversed(codes)))


def literal_prefix(nfa: Nfa) -> str:
    """The characters every name the automaton accepts starts with (``sys001_(eu|uk)_.*`` -> ``sys001_``)."""
    if nfa.prefix is None:
        config = _closure(nfa, [(nfa.start, 0)], at_start=True)
        codes: list[int] = []
        while not _accepts(nfa, config) and len(codes) < 256:
            labels = _normal([pair for ranges in _labels(nfa, config) for pair in ranges])
            if len(labels) != 1 or labels[0][0] != labels[0][1]:
                break
            codes.append(labels[0][0])
            config = _step(nfa, config, labels[0][0])
        nfa.prefix = "".join(map(chr, codes))
    return nfa.prefix


def intersection_witness(a: Nfa, b: Nfa) -> str | None:
    """The shortest name both automata accept, or None when their languages are disjoint."""
    first, second = literal_prefix(a), literal_prefix(b)
    if not (first.startswith(second) or second.startswith(first)):
        return None  # 150 feeds are 11,175 pairs: most differ in their leading literal, decided right here
    return _search([a, b], lambda acc: acc[0] and acc[1], lambda configs: all(configs))


def difference_witness(a: Nfa, others: Sequence[Nfa]) -> str | None:
    """The shortest name ``a`` accepts and none of ``others`` does, or None (with no others: ``a`` is empty)."""
    return _search([a, *others], lambda acc: acc[0] and not any(acc[1:]), lambda configs: bool(configs[0]))
