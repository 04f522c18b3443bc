"""Feeds (issue 13): parsing from the stack file, the problems a user sees, exact overlap and reachability, the
first-match lookup, the one-group-one-feed rule and the JSON the Lambdas carry.

Witnesses are checked with ``fnmatch``/``re`` directly, and the exact overlap decision is compared with a brute
force over every short name, so a wrong automaton fails here even when the code agrees with itself."""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
import re

import pytest

from landing_pipeline.runtime.errors import SpecError
from landing_pipeline.runtime.feed_overlap import compile_pattern, difference_witness, intersection_witness
from landing_pipeline.runtime.feeds import (
    Feed,
    feed_for,
    feed_problems,
    feeds_from_json,
    feeds_to_json,
    file_format,
    group_feed_conflict,
    parse_feeds,
)
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_validation import column_problems

STACK = [
    {"name": "orders", "match": "orders_*", "format": "csv", "schema": ["order_id:string", "amount:double"],
     "mergeKeys": ["order_id"], "onFailure": "block"},
    {"name": "customers", "match": r"customers_\d{8}", "syntax": "regex", "table": "dim_customers"},
]


def _matches(feed: Feed, name: str) -> bool:
    """An independent record of what a feed's pattern means: fnmatchcase for globs, re.fullmatch for regexes."""
    if feed.syntax == "regex":
        return re.fullmatch(feed.match, name) is not None
    return fnmatch.fnmatchcase(name, feed.match)


def _problems(entries: list[dict[str, object]]) -> list[str]:
    feeds, problems = parse_feeds(entries)
    assert problems == []
    return [str(p) for p in feed_problems(feeds)]


# ---------------------------------------------------------------------------------------------- parsing


def test_parses_a_list_and_the_same_list_as_json() -> None:
    from_list, problems = parse_feeds(STACK)
    assert problems == []
    assert from_list == (
        Feed("orders", "orders_*", format="csv", schema=("order_id:string", "amount:double"),
             merge_keys=("order_id",), on_failure="block"),
        Feed("customers", r"customers_\d{8}", syntax="regex", table="dim_customers"),
    )
    assert parse_feeds(json.dumps(STACK)) == (from_list, [])
    assert [f.table_name for f in from_list] == ["orders", "dim_customers"]
    assert feed_problems(from_list) == []


def test_no_feeds_is_no_problem() -> None:
    for empty in (None, "", [], "[]"):
        assert parse_feeds(empty) == ((), [])


@pytest.mark.parametrize(("value", "setting", "message"), [
    ("[{", "feeds", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 3)"),
    ({"name": "orders"}, "feeds", "must be a list of feeds"),
    (["orders"], "feeds[0]", "a feed must be a mapping with at least name and match"),
    ([{"match": "orders_*"}], "feeds[0].name", "the feed at position 0 has no name"),
    ([{"name": "orders"}], "feeds[0].match", "feed 'orders' has no match"),
    ([{"name": "orders", "match": 7}], "feeds[0].match", "feed 'orders': must be a string"),
    ([{"name": "orders", "match": "o*", "merge_keys": ["id"]}], "feeds[0].merge_keys",
     "feed 'orders': not a feed setting"),
    ([{"name": "orders", "match": "o*", "mergeKeys": "order_id"}], "feeds[0].mergeKeys",
     "feed 'orders': must be a list of strings"),
    ([{"name": "orders", "match": "o*", "schema": ["id:string", 3]}], "feeds[0].schema",
     "feed 'orders': must be a list of strings"),
    ([{"name": "orders", "match": "o*", "onFailure": True}], "feeds[0].onFailure", "feed 'orders': must be a string"),
])
def test_bad_input_is_a_problem_naming_the_feed_and_the_field(value: object, setting: str, message: str) -> None:
    _, problems = parse_feeds(value)
    assert [(p.setting, p.message) for p in problems] == [(setting, message)]
    assert problems[0].fix


def test_unknown_key_suggests_the_setting() -> None:
    _, problems = parse_feeds([{"name": "orders", "match": "o*", "merge_keys": ["id"]}])
    assert str(problems[0]) == ("landing-pipeline:feeds[0].merge_keys = ['id']: feed 'orders': not a feed setting. "
                                "Fix: did you mean mergeKeys?")


def test_problem_paths_point_at_the_stack_list_even_past_a_dropped_entry() -> None:
    feeds, problems = parse_feeds([{"match": "x*"}, {"name": "Orders", "match": "orders_*"}])
    assert [p.setting for p in problems] == ["feeds[0].name"]
    assert [(p.setting, p.message) for p in feed_problems(feeds)] == [
        ("feeds[1].name", "feed 'Orders': not a valid feed name"),
        ("feeds[1].table", "feed 'Orders': not a valid Glue table name")]


# ---------------------------------------------------------------------------------------------- feed rules


@pytest.mark.parametrize(("entry", "setting", "message"), [
    ({"name": "Orders-EU", "match": "o*", "table": "t"}, "feeds[1].name", "feed 'Orders-EU': not a valid feed name"),
    ({"name": "x" * 65, "match": "o*", "table": "t"}, "feeds[1].name", "not a valid feed name"),
    ({"name": "b", "match": "o*", "table": "Bad-Table"}, "feeds[1].table", "feed 'b': not a valid Glue table name"),
    ({"name": "b", "match": "o*", "table": "a"}, "feeds[1].table",
     "feed 'b': the table is already written by feed 'a'"),
    ({"name": "a", "match": "o*", "table": "t"}, "feeds[1].name", "feed 'a': the name is already used by feeds[0]"),
    ({"name": "b", "match": "o*", "format": "xml"}, "feeds[1].format", "feed 'b': not a known choice"),
    ({"name": "b", "match": "o*", "syntax": "sql"}, "feeds[1].syntax", "feed 'b': not a known choice"),
    ({"name": "b", "match": "o*", "matchOn": "key"}, "feeds[1].matchOn", "feed 'b': not a known choice"),
    ({"name": "b", "match": "o*", "onFailure": "retry"}, "feeds[1].onFailure", "feed 'b': not a known choice"),
    ({"name": "b", "match": "", "table": "t"}, "feeds[1].match", "feed 'b': the pattern is empty"),
    ({"name": "b", "match": "orders_(", "syntax": "regex"}, "feeds[1].match",
     "feed 'b': not a valid regular expression (missing ), unterminated subpattern at position 7)"),
    ({"name": "b", "match": "o*", "schema": ["amount:money"]}, "feeds[1].schema",
     "feed 'b': column 'amount' has unknown type 'money'"),
    ({"name": "b", "match": "o*", "schema": ["9col:string"]}, "feeds[1].schema",
     "feed 'b': column '9col:string' has no valid name"),
    ({"name": "b", "match": "o*", "schema": ["id:string", "id:int"]}, "feeds[1].schema",
     "feed 'b': columns declared twice: id"),
    ({"name": "b", "match": "o*", "schema": ["order_id:string"], "mergeKeys": ["id"]}, "feeds[1].mergeKeys",
     "feed 'b': 'id' is not in the declared schema"),
    ({"name": "b", "match": "o*", "mergeKeys": ["id", "id"]}, "feeds[1].mergeKeys", "feed 'b': a key is listed twice"),
])
def test_each_feed_rule_names_the_feed_and_the_field(entry: dict[str, object], setting: str, message: str) -> None:
    feeds, problems = parse_feeds([{"name": "a", "match": "a_*"}, entry])
    assert problems == []
    found = [(p.setting, p.message) for p in feed_problems(feeds)]
    assert any(s == setting and message in m for s, m in found), found


def test_stack_wide_schema_messages_are_unchanged_by_the_shared_rule() -> None:
    schema, keys = ("amount:money", "a:string", "a:int"), ("id", "id", "bad key")
    with pytest.raises(SpecError) as raised:
        PipelineSpec(schema=schema, merge_keys=keys)
    stack = [p for p in raised.value.problems if p.setting in ("schema", "mergeKeys")]
    assert [(p.setting, p.message) for p in stack] == [
        ("schema", "column 'amount' has unknown type 'money'"),
        ("schema", "columns declared twice: a"),
        ("mergeKeys", "'id' is not in the declared schema"),
        ("mergeKeys", "'id' is not in the declared schema"),
        ("mergeKeys", "'bad key' is not a column name"),
        ("mergeKeys", "a key is listed twice"),
    ]
    assert stack == column_problems(schema, keys)
    assert stack[1].value == ["amount:money", "a:string", "a:int"]


# ---------------------------------------------------------------------------------------------- overlap


@pytest.mark.parametrize(("first", "second"), [
    ("orders_*", "*_20250915"),
    ("orders_*", "orders_eu_*"),
    ("*.csv", "orders_??.*"),
    ("a[0-9]*", "a?x"),
    ("[!a-m]*", "z*"),
    ("orders_[0-9][0-9]", "orders_?[5-9]"),
])
def test_overlapping_globs_are_refused_with_both_names_and_a_real_witness(first: str, second: str) -> None:
    feeds, _ = parse_feeds([{"name": "first", "match": first}, {"name": "second", "match": second}])
    problems = feed_problems(feeds)
    assert len(problems) == 1 and problems[0].setting == "feeds[1].match"
    message = problems[0].message
    assert "'first'" in message and "'second'" in message
    witness = re.search(r"the name '(.*)' matches both|e\.g\. '(.*)'$", message)
    assert witness is not None, message
    name = witness.group(1) or witness.group(2)
    assert fnmatch.fnmatchcase(name, first) and fnmatch.fnmatchcase(name, second)


@pytest.mark.parametrize(("first", "second"), [
    ("orders_*", "customers_*"),
    ("orders_eu_*", "orders_us_*"),
    ("[a-m]*", "[n-z]*"),
    ("orders_??", "orders_???"),
    ("*.csv", "*.json"),
    ("orders_[0-4]*", "orders_[5-9]*"),
])
def test_disjoint_globs_are_accepted(first: str, second: str) -> None:
    assert _problems([{"name": "first", "match": first}, {"name": "second", "match": second}]) == []


def test_an_unreachable_feed_is_named_as_unreachable() -> None:
    problems = _problems([{"name": "orders", "match": "orders_*"}, {"name": "other", "match": "x*"},
                          {"name": "orders_eu", "match": "orders_eu_*"}])
    assert problems == [
        "landing-pipeline:feeds[2].match = 'orders_eu_*': feed 'orders_eu' is unreachable: every name it matches "
        "is matched by an earlier feed ('orders'; the first match wins), e.g. 'orders_eu_'. Fix: remove "
        "'orders_eu', or narrow 'orders' to leave 'orders_eu' its names (overlapping feeds are refused whatever "
        "their order)"]


def test_unreachable_behind_two_feeds_together() -> None:
    problems = _problems([{"name": "low", "match": "x[0-4]*"}, {"name": "high", "match": "x[5-9]*"},
                          {"name": "digits", "match": r"x\d.*", "syntax": "regex"}])
    assert len(problems) == 2, problems  # \d is Unicode: x٣ is reachable, so overlaps, not unreachable
    problems = _problems([{"name": "low", "match": "x[0-4]*"}, {"name": "high", "match": "x[5-9]*"},
                          {"name": "digits", "match": r"(?a)x\d.*", "syntax": "regex"}])
    assert len(problems) == 1 and "feed 'digits' is unreachable" in problems[0]
    assert "('low', 'high'; the first match wins)" in problems[0]


def test_a_pattern_matching_nothing_is_reported() -> None:
    problems = _problems([{"name": "never", "match": r"a\Zb", "syntax": "regex"}])
    assert problems and "feed 'never': the pattern matches no name at all" in problems[0]


@pytest.mark.parametrize(("first", "second"), [
    (r"orders_\d{8}", r".*_2025\d*"),
    (r"^(eu|us)_orders$", r"us_.*"),
    (r"(a|b)+", r"b{2,3}"),
    (r"(?s)a.", "a\n"),
    (r"a$" "\n", "a\n"),
    (r"\x00", r"[^\n]"),  # no readable character fits: the witness is a control character
])
def test_overlapping_regexes_are_refused_with_a_real_witness(first: str, second: str) -> None:
    feeds, _ = parse_feeds([{"name": "first", "match": first, "syntax": "regex"},
                            {"name": "second", "match": second, "syntax": "regex"}])
    problems = feed_problems(feeds)
    assert len(problems) == 1, problems
    name = re.search(r"(?:the name|e\.g\.) ('(?:[^'\\]|\\.)*'|\"[^\"]*\")", problems[0].message)
    assert name is not None, problems[0].message
    witness = eval(name.group(1))  # the repr the message shows
    assert all(_matches(f, witness) for f in feeds), witness


@pytest.mark.parametrize(("first", "second"), [
    (r"orders_\d{8}", r"orders_[a-z]+"),
    (r"(eu|us)_.*", r"(de|fr)_.*"),
    (r"a+", r"b*"),
    (r"a.", "a\n"),
    (r"orders_\d{8}", r"orders_\d{9,}"),
    (r"^orders$", r"orders\n"),
    (r"x(^a|b)", r"xa"),  # ^ past the start matches nothing
])
def test_disjoint_regexes_are_accepted(first: str, second: str) -> None:
    assert _problems([{"name": "first", "match": first, "syntax": "regex"},
                      {"name": "second", "match": second, "syntax": "regex"}]) == []


def test_a_glob_and_a_regex_are_compared_exactly() -> None:
    problems = _problems([{"name": "orders", "match": "orders_*"},
                          {"name": "dated", "match": r"[a-z]+_\d{8}", "syntax": "regex"}])
    assert problems == ["landing-pipeline:feeds[1].match = '[a-z]+_\\\\d{8}': feeds 'orders' and 'dated' overlap: "
                        "the name 'orders_00000000' matches both. Fix: narrow 'dated' or 'orders' so no name "
                        "matches both (e.g. distinct literal prefixes: 'orders_eu_*' and 'orders_us_*')"]


@pytest.mark.parametrize(("pattern", "construct"), [
    (r"(a)\1", "a backreference"),
    (r"orders_(?!test).*", "a lookahead or lookbehind"),
    (r"\borders", "a word boundary"),
    (r"(?i)orders_.*", "case-insensitive matching"),
    (r"a++", "an atomic group or possessive repeat"),
])
def test_a_regex_outside_the_regular_subset_cannot_be_checked(pattern: str, construct: str) -> None:
    problems = feed_problems(parse_feeds([{"name": "odd", "match": pattern, "syntax": "regex"}])[0])
    assert len(problems) == 1
    assert problems[0].message.startswith(
        f"feed 'odd': cannot be checked for overlap with the other feeds: the pattern uses {construct}")
    assert problems[0].fix


def test_mixing_group_and_file_name_matching_is_refused() -> None:
    problems = _problems([{"name": "orders", "match": "orders_*"},
                          {"name": "json", "match": "*.json", "matchOn": "file_name"}])
    assert len(problems) == 1 and problems[0].startswith("landing-pipeline:feeds = ['orders', 'json']: feed "
                                                         "'orders' matches on the group and feed 'json' on the file")


def _brute(first: str, second: str, syntax: str, alphabet: str, longest: int) -> str | None:
    for length in range(longest + 1):
        for letters in itertools.product(alphabet, repeat=length):
            name = "".join(letters)
            a, b = (Feed("a", p, syntax=syntax) for p in (first, second))
            if _matches(a, name) and _matches(b, name):
                return name
    return None


@pytest.mark.parametrize("syntax", ["glob", "regex"])
def test_the_exact_decision_agrees_with_a_brute_force_over_short_names(syntax: str) -> None:
    """Random small patterns over {a, b}; names over {a, b, c} ('c' stands for any other character) up to a
    length past every pattern's literal part: a shortest common name, if any, is found by both."""
    rng = random.Random(13)
    tokens = ["a", "b", "*", "?", "[ab]", "[!a]"] if syntax == "glob" else \
        ["a", "b", ".", "a*", "(a|b)", "[^a]", "b?", "(ab)+", "c{1,2}"]
    for _ in range(150):
        first, second = ("".join(rng.choice(tokens) for _ in range(rng.randint(1, 4))) for _ in range(2))
        exact = intersection_witness(compile_pattern(first, syntax), compile_pattern(second, syntax))
        brute = _brute(first, second, syntax, "abc", 6)
        assert (exact is None) == (brute is None), (first, second, exact, brute)
        if exact is not None:
            assert len(exact) == len(brute or "")  # breadth-first: the witness is a shortest name
            assert _matches(Feed("a", first, syntax=syntax), exact)
            assert _matches(Feed("b", second, syntax=syntax), exact)
        left = difference_witness(compile_pattern(first, syntax), [compile_pattern(second, syntax)])
        assert left is None or (_matches(Feed("a", first, syntax=syntax), left)
                                and not _matches(Feed("b", second, syntax=syntax), left))


# ---------------------------------------------------------------------------------------------- lookup


def test_first_match_by_group() -> None:
    feeds, _ = parse_feeds([{"name": "orders_eu", "match": "orders_eu_*"}, {"name": "orders", "match": "orders_*"}])
    assert feed_for(feeds, "orders_eu_20250915", "customers_20250915_1015.csv") is feeds[0]
    assert feed_for(feeds, "orders_us_20250915", "orders_eu_20250915_1015.csv") is feeds[1]
    assert feed_for(feeds, "invoices_20250915", "orders_20250915_1015.csv") is None


def test_first_match_by_file_name_and_the_format_it_reads() -> None:
    feeds, _ = parse_feeds([{"name": "csv", "match": "*.csv", "matchOn": "file_name"},
                            {"name": "events", "match": r"events_\d+\.jsonl?", "syntax": "regex",
                             "matchOn": "file_name"}])
    assert feed_problems(feeds) == []
    assert feed_for(feeds, "ignored", "orders_1.csv") is feeds[0]
    assert feed_for(feeds, "ignored", "events_1.json") is feeds[1]
    assert feed_for(feeds, "ignored", "events_1.JSON") is None  # case-sensitive, as fnmatchcase and re are
    assert file_format(feeds[0], "orders_1.CSV") == "csv"
    assert file_format(feeds[1], "events_1.json") == "jsonl"
    assert file_format(feeds[1], "events_1.xml") is None
    assert file_format(Feed("p", "*", format="parquet"), "x.csv") == "parquet"


def test_a_group_whose_files_reach_different_feeds_is_a_conflict() -> None:
    feeds, _ = parse_feeds([{"name": "orders", "match": "orders_*.csv", "matchOn": "file_name"},
                            {"name": "json", "match": "*.json", "matchOn": "file_name"}])
    assert feed_problems(feeds) == []
    same = ["orders_20250915_101500.csv", "orders_20250915_101600.csv"]
    assert group_feed_conflict(feeds, "orders_20250915", same) is None
    reason = group_feed_conflict(feeds, "orders_20250915", [*same, "orders_20250915_101700.json"])
    assert reason == ("the files of group 'orders_20250915' reach different feeds: 'orders_20250915_101500.csv' "
                      "feed 'orders', 'orders_20250915_101700.json' feed 'json'; a group's files all go to one "
                      "feed (the first file's)")
    unmatched = group_feed_conflict(feeds, "orders_20250915", [same[0], "orders_20250915_101700.xml"])
    assert unmatched is not None and "no feed (the stack's unmatchedFiles rule)" in unmatched


def test_matching_on_the_group_never_conflicts() -> None:
    feeds, _ = parse_feeds([{"name": "orders", "match": "orders_*"}, {"name": "csv", "match": "*.csv"}])
    assert group_feed_conflict(feeds, "orders_20250915", ["a.csv", "b.json", "c.xml"]) is None


# ---------------------------------------------------------------------------------------------- JSON


def test_json_round_trip_for_the_lambda_environment() -> None:
    feeds, _ = parse_feeds([*STACK, {"name": "events", "match": "ev_*", "matchOn": "group", "onFailure": None}])
    text = feeds_to_json(feeds)
    assert feeds_from_json(text) == feeds
    assert json.loads(text) == [  # camelCase as in the stack file, defaults left out to save env space
        {"name": "orders", "match": "orders_*", "format": "csv", "schema": ["order_id:string", "amount:double"],
         "mergeKeys": ["order_id"], "onFailure": "block"},
        {"name": "customers", "match": r"customers_\d{8}", "syntax": "regex", "table": "dim_customers"},
        {"name": "events", "match": "ev_*"}]
    assert feeds_from_json("[]") == ()


def test_json_that_is_not_feeds_raises_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"feeds\[0\]\.name"):
        feeds_from_json('[{"match": "x*"}]')


def test_the_overlap_check_can_be_skipped_where_feeds_were_checked_at_deploy() -> None:
    feeds, _ = parse_feeds([{"name": "a", "match": "x*"}, {"name": "b", "match": "x*", "schema": ["q:money"]}])
    assert [p.setting for p in feed_problems(feeds, overlap=False)] == ["feeds[1].schema"]
    assert [p.setting for p in feed_problems(feeds)] == ["feeds[1].schema", "feeds[1].match"]
