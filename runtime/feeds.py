"""Feeds: many datasets in one pipeline, each with its own match, format, schema, merge keys and table.

A feed claims files by ``match``, a glob (``fnmatch.fnmatchcase``: ``*``, ``?``, ``[..]``, case-sensitive,
the whole name) or a regex (``re.fullmatch``), applied to the file's group (``matchOn: group``, the
MessageGroupId ``runtime/grouping.py`` gives it) or to the object's base name (``matchOn: file_name``). The
first feed that matches wins; a file no feed matches is the stack's ``unmatchedFiles`` business (``feed_for``
returns None). Validation refuses feeds a user cannot reason about: two feeds some name matches both
(decided exactly on the patterns' automata, ``runtime/feed_overlap.py``, with that name as the witness), a
feed every name of which an earlier feed takes (unreachable), and a stack mixing the two ``matchOn`` kinds
(a group is derived from its file names, so such patterns cannot be compared).

One group, one feed. With ``matchOn: group`` every file of a group has the same group name, so the same
feed, by construction. With ``matchOn: file_name`` two files of one group can match different feeds (e.g.
``orders_*.csv`` and ``*.json`` under the default grouping, for ``orders_20250915_1015.csv`` and
``orders_20250915_1016.json``): the group's feed is the one its first file reaches, and
``group_feed_conflict`` gives the router the reason to park a later file that reaches another feed (or none),
so no group is ever split across two tables.

Pure and stdlib only (it runs in the Lambdas): ``parse_feeds`` reads the stack file's list (or the JSON
Pulumi hands a program), ``feed_problems`` says everything wrong at once as ``Problem`` s, ``feeds_to_json``
/ ``feeds_from_json`` carry feeds in a Lambda's environment.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

from landing_pipeline.runtime.errors import Problem, SpecError
from landing_pipeline.runtime.grouping import file_name as base_name

FORMATS = ("auto", "csv", "jsonl", "parquet")
SYNTAXES = ("glob", "regex")
MATCH_ON = ("group", "file_name")
ON_FAILURE = ("continue", "block")
SUFFIX_FORMATS = {".csv": "csv", ".json": "jsonl", ".jsonl": "jsonl", ".parquet": "parquet"}
"""How ``format: auto`` reads a file name's suffix (case-insensitive)."""
_FEED_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_TABLE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")  # Glue: lowercase letters, digits, underscore; at most 255
_EXAMPLE = '[{"name": "orders", "match": "orders_*"}]'


@dataclass(frozen=True)
class Feed:
    """One dataset of the pipeline: which files are its, how to read them and where they go."""

    name: str
    match: str
    match_on: str = "group"
    syntax: str = "glob"
    format: str = "auto"
    schema: tuple[str, ...] = ()
    merge_keys: tuple[str, ...] = ()
    table: str = ""
    on_failure: str | None = None
    position: int | None = field(default=None, compare=False, repr=False)
    """Where the feed stood in the stack's list, so a problem's setting path points there even when an
    earlier, unusable entry was left out; None: its place in the tuple given to ``feed_problems``."""

    @property
    def table_name(self) -> str:
        """The Glue table the feed writes: ``table``, else the feed's name."""
        return self.table or self.name

    def matches(self, group: str, file_name: str) -> bool:
        subject = group if self.match_on == "group" else file_name
        if self.syntax == "regex":
            return _regex(self.match).fullmatch(subject) is not None
        return fnmatch.fnmatchcase(subject, self.match)


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)  # its own cache: re's holds 512 patterns for the whole process


_KEYS = {"name": "name", "match": "match", "matchOn": "match_on", "syntax": "syntax", "format": "format",
         "schema": "schema", "mergeKeys": "merge_keys", "table": "table", "onFailure": "on_failure"}
"""The stack file's camelCase keys and the ``Feed`` fields they set."""
_FIELD_KEYS = {f: k for k, f in _KEYS.items()}


def parse_feeds(value: object) -> tuple[tuple[Feed, ...], list[Problem]]:
    """Feeds from the stack file's ``feeds`` (a list of mappings, or that list as JSON) and every problem of
    their shape. Never raises: an entry without a usable name and match is left out (and reported); a wrong
    optional setting is reported and the feed kept with its default, so ``feed_problems`` can still check it."""
    if value is None or value == "" or value == []:
        return (), []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            return (), [Problem("feeds", value, f"not valid JSON ({exc.msg} at line {exc.lineno} column "
                                f"{exc.colno})", f"write feeds as a YAML list of mappings, or JSON like {_EXAMPLE}")]
    if not isinstance(value, list | tuple):
        return (), [Problem("feeds", value, "must be a list of feeds",
                            f"write a YAML list of mappings with name and match, e.g. {_EXAMPLE}")]
    feeds: list[Feed] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        feed = _parse_one(index, item, problems)
        if feed is not None:
            feeds.append(feed)
    return tuple(feeds), problems


def _parse_one(index: int, item: object, problems: list[Problem]) -> Feed | None:
    at = f"feeds[{index}]"
    if not isinstance(item, Mapping):
        problems.append(Problem(at, item, "a feed must be a mapping with at least name and match",
                                "write it as e.g. {name: orders, match: 'orders_*'}"))
        return None
    label = _label(item.get("name"), index)
    values: dict[str, Any] = {}
    for key, raw in item.items():
        name = _KEYS.get(key) if isinstance(key, str) else None
        if name is None:
            import difflib  # only to suggest a fix for a misspelt key: the Lambdas never need it

            close = difflib.get_close_matches(str(key), list(_KEYS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"use only: {', '.join(_KEYS)}"
            problems.append(Problem(f"{at}.{key}", raw, f"{label}: not a feed setting", hint))
        elif name in ("schema", "merge_keys"):
            if isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
                values[name] = tuple(raw)
            else:
                example = "['order_id:string', 'amount:double']" if name == "schema" else "['order_id']"
                problems.append(Problem(f"{at}.{key}", raw, f"{label}: must be a list of strings",
                                        f"write a YAML list, e.g. {key}: {example}"))
        elif name == "on_failure" and raw is None:
            values[name] = None
        elif isinstance(raw, str):
            values[name] = raw
        else:
            problems.append(Problem(f"{at}.{key}", raw, f"{label}: must be a string",
                                    _string_fix(key)))
    missing = [key for key in ("name", "match") if key not in values]
    for key in missing:
        if key not in item:
            problems.append(Problem(f"{at}.{key}", None, f"{label} has no {key}", _string_fix(key)))
    if missing:
        return None
    return Feed(**values, position=index)


def _label(name: object, index: int) -> str:
    return f"feed {name!r}" if isinstance(name, str) and name else f"the feed at position {index}"


def _string_fix(key: str) -> str:
    return {"name": "give the feed a name of lowercase letters, digits and '_', e.g. name: orders",
            "match": "give a pattern for its files, e.g. match: 'orders_*'",
            "matchOn": f"use one of: {', '.join(MATCH_ON)}",
            "syntax": f"use one of: {', '.join(SYNTAXES)}",
            "format": f"use one of: {', '.join(FORMATS)}",
            "table": "give a Glue table name of lowercase letters, digits and '_', or leave it out",
            "onFailure": f"use one of: {', '.join(ON_FAILURE)}, or leave it out for the stack's onFailure",
            }.get(key, "write a string")


def feed_problems(feeds: Sequence[Feed], *, overlap: bool = True) -> list[Problem]:
    """Everything wrong with ``feeds``, each problem naming the feed: names, tables, choices, patterns,
    schemas and merge keys, then overlapping, unreachable and uncheckable patterns.

    ``overlap=False`` skips the automata (about 0.24 s for 150 feeds, plus 0.12 s the first time a regex uses
    ``\\d``/``\\w``/``\\s``): for a Lambda re-reading feeds that ``landing config``/deploy already checked."""
    from landing_pipeline.runtime.spec_validation import column_problems  # spec_validation imports spec

    problems: list[Problem] = []
    names: dict[str, int] = {}
    tables: dict[str, Feed] = {}
    for index, feed in enumerate(feeds):
        at = f"feeds[{_at(feed, index)}]"
        label = _label(feed.name, index)

        def add(key: str, value: Any, message: str, fix: str, at: str = at, label: str = label) -> None:
            problems.append(Problem(f"{at}.{key}", value, f"{label}: {message}", fix))

        if not isinstance(feed.name, str) or not _FEED_NAME.match(feed.name):
            add("name", feed.name, "not a valid feed name", "use 1-64 lowercase letters, digits or '_', e.g. orders")
        elif feed.name in names:
            add("name", feed.name, f"the name is already used by feeds[{names[feed.name]}]",
                "give each feed its own name")
        else:
            names[feed.name] = _at(feed, index)
        if not isinstance(feed.match, str) or not feed.match:
            add("match", feed.match, "the pattern is empty", _string_fix("match"))
        for key, value, allowed in (("matchOn", feed.match_on, MATCH_ON), ("syntax", feed.syntax, SYNTAXES),
                                    ("format", feed.format, FORMATS)):
            if value not in allowed:
                add(key, value, "not a known choice", f"use one of: {', '.join(allowed)}")
        if feed.on_failure is not None and feed.on_failure not in ON_FAILURE:
            add("onFailure", feed.on_failure, "not a known choice", _string_fix("onFailure"))
        if feed.syntax == "regex" and isinstance(feed.match, str):
            try:
                re.compile(feed.match)
            except re.error as exc:
                add("match", feed.match, f"not a valid regular expression ({exc})",
                    "correct the expression, or use syntax: glob, e.g. match: 'orders_*'")
        table = feed.table_name
        if not isinstance(table, str) or not _TABLE_NAME.match(table):
            add("table", table, "not a valid Glue table name",
                "use at most 255 lowercase letters, digits or '_' (set table, or rename the feed)")
        elif table in tables:
            written = "snapshot table" if tables[table].table_name != table else "table"
            add("table", table, f"the {written} is already written by feed {tables[table].name!r}",
                "give each feed its own table")
        else:
            tables[table] = feed
            snapshot = f"{table}_snapshot"   # a merging feed's second table (runtime/catalog.snapshot_table)
            if feed.merge_keys and isinstance(feed.merge_keys, tuple) and snapshot in tables:
                add("table", table, f"its snapshot table {snapshot!r} is already written by feed "
                    f"{tables[snapshot].name!r}", "rename one of the two tables")
            elif feed.merge_keys:
                tables[snapshot] = feed
        for problem in column_problems(feed.schema, feed.merge_keys, prefix=f"{at}."):
            problems.append(Problem(problem.setting, problem.value, f"{label}: {problem.message}", problem.fix))
    if overlap:
        problems.extend(_overlap_problems(feeds))
    return problems


def _at(feed: Feed, index: int) -> int:
    return index if feed.position is None else feed.position


def _overlap_problems(feeds: Sequence[Feed]) -> list[Problem]:
    """Overlapping and unreachable feeds, decided exactly (``runtime/feed_overlap.py``)."""
    from landing_pipeline.runtime.feed_overlap import (
        Nfa,
        Uncheckable,
        compile_pattern,
        difference_witness,
        intersection_witness,
    )

    kinds: dict[str, Feed] = {}
    for feed in feeds:
        if feed.match_on in MATCH_ON:
            kinds.setdefault(feed.match_on, feed)
    if set(kinds) == set(MATCH_ON):
        first, other = kinds["group"], kinds["file_name"]
        return [Problem("feeds", [f.name for f in feeds],
                        f"feed {first.name!r} matches on the group and feed {other.name!r} on the file name: a "
                        "group is derived from its file names, so the two can disagree and their overlap cannot "
                        "be checked", "match every feed on the group (matchOn: group, recommended: one group "
                        "is one feed by construction), or every feed on the file name")]
    problems: list[Problem] = []
    checked: list[tuple[int, Feed, Nfa]] = []
    for index, feed in enumerate(feeds):
        if feed.syntax not in SYNTAXES or feed.match_on not in MATCH_ON or not isinstance(feed.match, str) \
                or not feed.match:
            continue
        at, label = f"feeds[{_at(feed, index)}].match", _label(feed.name, index)
        try:
            nfa = compile_pattern(feed.match, feed.syntax)
            earlier = [(f, intersection_witness(n, nfa)) for _, f, n in checked]
            overlaps = [(f, w) for f, w in earlier if w is not None]
            covering = [n for _, f, n in checked if any(f is o for o, _ in overlaps)]
            if difference_witness(nfa, covering) is None:
                problems.append(_unreachable(at, feed, label, _cover(nfa, overlaps, checked)))
            else:
                problems.extend(
                    Problem(at, feed.match, f"feeds {other.name!r} and {feed.name!r} overlap: the name "
                            f"{witness!r} matches both", f"narrow {feed.name!r} or {other.name!r} so no name "
                            "matches both (e.g. distinct literal prefixes: 'orders_eu_*' and 'orders_us_*')")
                    for other, witness in overlaps)
            checked.append((index, feed, nfa))
        except re.error:
            continue  # reported above as an invalid regular expression
        except Uncheckable as exc:
            problems.append(Problem(at, feed.match, f"{label}: cannot be checked for overlap with the other "
                                    f"feeds: the pattern uses {exc.construct}", exc.fix))
    return problems


def _cover(nfa: Any, overlaps: list[tuple[Feed, str]], checked: list[tuple[int, Feed, Any]]
           ) -> list[tuple[Feed, str]]:
    """The one earlier feed that alone takes every name of an unreachable feed, when there is one (the
    message then names it, not every feed it merely overlaps)."""
    from landing_pipeline.runtime.feed_overlap import difference_witness

    automata = {id(f): n for _, f, n in checked}
    alone = [(f, w) for f, w in overlaps if difference_witness(nfa, [automata[id(f)]]) is None]
    return alone[:1] or overlaps


def _unreachable(at: str, feed: Feed, label: str, overlaps: list[tuple[Feed, str]]) -> Problem:
    if not overlaps:
        return Problem(at, feed.match, f"{label}: the pattern matches no name at all",
                       "correct the pattern (an anchor in the middle, or an empty class?)")
    names = ", ".join(repr(f.name) for f, _ in overlaps)
    return Problem(at, feed.match, f"{label} is unreachable: every name it matches is matched by an earlier "
                   f"feed ({names}; the first match wins), e.g. {overlaps[0][1]!r}",
                   f"remove {feed.name!r}, or narrow {names} to leave {feed.name!r} its names (overlapping "
                   "feeds are refused whatever their order)")


def feed_for(feeds: Sequence[Feed], group: str, file_name: str) -> Feed | None:
    """The first feed matching the file (by its group or its base name, as each feed says); None: no feed."""
    return next((feed for feed in feeds if feed.matches(group, file_name)), None)


def feed_of_key(feeds: Sequence[Feed], group: str, key: str) -> Feed | None:
    """The feed of an object by its key (matched on its group or its base name): what the router, the
    dispatcher and the emulator ask."""
    return feed_for(feeds, group, base_name(key)) if feeds else None


def feed_of_group(feeds: Sequence[Feed], group: str) -> Feed | None:
    """The feed a group belongs to by its name alone (``matchOn: group`` feeds; a ``file_name`` feed needs a
    file): what settings of the whole group, such as a feed's ``onFailure``, are read from."""
    return next((feed for feed in feeds if feed.match_on == "group" and feed.matches(group, "")), None)


def unmatched_reason(feeds: Sequence[Feed], unmatched_files: str, group: str, key: str) -> str | None:
    """Why the router refuses a file under ``unmatchedFiles: reject`` (None: some feed is its, or unmatched files
    take the stack-wide settings); the simulator counts the same files as rejected."""
    if not feeds or unmatched_files != "reject":
        return None
    if feed_of_key(feeds, group, key) is not None:
        return None
    names = ", ".join(feed.name for feed in feeds)
    return (f"no feed matches {key!r} (group {group!r}; feeds: {names}) and unmatchedFiles is 'reject': "
            "add a feed for it, or set unmatchedFiles to 'default' and redrive the message")


def group_feed_conflict(feeds: Sequence[Feed], group: str, file_names: Sequence[str]) -> str | None:
    """Why the files of ``group`` cannot be one feed's, or None when they can.

    The group's feed is the one its first file (``file_names[0]``) reaches; the reason names the first file
    reaching another feed (or none), for the router to park it. Always None for feeds matching on the group."""
    if not file_names:
        return None
    first = feed_for(feeds, group, file_names[0])
    for name in file_names[1:]:
        other = feed_for(feeds, group, name)
        if other != first:
            return (f"the files of group {group!r} reach different feeds: {file_names[0]!r} {_reach(first)}, "
                    f"{name!r} {_reach(other)}; a group's files all go to one feed (the first file's)")
    return None


def _reach(feed: Feed | None) -> str:
    return f"feed {feed.name!r}" if feed is not None else "no feed (the stack's unmatchedFiles rule)"


def file_format(feed: Feed, file_name: str) -> str | None:
    """The format a feed reads ``file_name`` in: its ``format``, or with ``auto`` the suffix's (None when the
    suffix is none of ``SUFFIX_FORMATS``)."""
    if feed.format != "auto":
        return feed.format
    lowered = file_name.lower()
    return next((fmt for suffix, fmt in SUFFIX_FORMATS.items() if lowered.endswith(suffix)), None)


def feeds_to_json(feeds: Sequence[Feed]) -> str:
    """Compact JSON for a Lambda's environment (4 KB for all variables): camelCase keys, defaults left out."""
    defaults = {f.name: f.default for f in fields(Feed) if f.name not in ("name", "match")}
    out = []
    for feed in feeds:
        entry: dict[str, Any] = {"name": feed.name, "match": feed.match}
        for name, default in defaults.items():
            value = getattr(feed, name)
            if name != "position" and value != default:
                entry[_FIELD_KEYS[name]] = list(value) if isinstance(value, tuple) else value
        out.append(entry)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def feeds_from_json(text: str) -> tuple[Feed, ...]:
    """The feeds ``feeds_to_json`` wrote; raises ``SpecError`` when the text is not such a list."""
    feeds, problems = parse_feeds(text)
    if problems:
        raise SpecError(problems)
    return tuple(replace(feed, position=None) for feed in feeds)


def feeds_document(feeds: Sequence[Feed], max_env_bytes: int) -> tuple[str, str] | None:
    """``(key, text)`` of the S3 document holding ``feeds`` when their JSON is longer than ``max_env_bytes`` (the
    functions' environment cannot hold it), else None. The key names the content (``config/feeds-<digest>.json``)."""
    text = feeds_to_json(feeds) if feeds else ""
    if len(text.encode()) <= max_env_bytes:
        return None
    import hashlib

    return f"config/feeds-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json", text
