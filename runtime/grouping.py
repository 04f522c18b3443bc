"""Which group a landed file belongs to: the one rule the router and the simulator share.

Files of one group are processed strictly one after another, so the group is
the unit of ordering. The result is always a valid SQS ``MessageGroupId``: a
key the rule does not fit falls back to its own file name (or is rejected with
a reason, if the spec says so); it never raises something that loses the file.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from landing_pipeline.runtime.values import Frozen

if TYPE_CHECKING:
    from landing_pipeline.runtime.spec import PipelineSpec

MAX_GROUP_ID_LENGTH = 128
GLOBAL_GROUP = "all-files"
_HASH_CHARS = 16
# SQS allows alphanumerics and ASCII punctuation in a MessageGroupId (no spaces, nothing else).
_VALID_GROUP_ID = re.compile(r"^[A-Za-z0-9!-/:-@\[-`{-~]{1,128}$")
_INVALID_CHAR = re.compile(r"[^A-Za-z0-9!-/:-@\[-`{-~]")
_EXTENSIONS = re.compile(r"(\.[A-Za-z0-9]{1,8})+$")
_TRAILING_TIME = re.compile(r"[_-]\d{6}$")


class UngroupableKey(ValueError):
    """The key fits no group and the spec says to reject such keys; ``reason`` says why."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"{key!r}: {reason}")


def file_name(key: str) -> str:
    """The last path segment of an S3 key (the whole key if it has no '/')."""
    return key.rstrip("/").rsplit("/", 1)[-1]


def folder_of(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def default_group(name: str) -> str:
    """``orders_20250915_101500.csv`` -> ``orders_20250915``: drop extensions, then a trailing time."""
    stem = _EXTENSIONS.sub("", name) if not name.startswith(".") else name
    return _TRAILING_TIME.sub("", stem)


def to_message_group_id(group: str) -> str:
    """A valid MessageGroupId for ``group``: unchanged when already valid, else a readable prefix
    plus a hash of the whole name, so two different groups never share an id."""
    if _VALID_GROUP_ID.match(group):
        return group
    return readable_with_digest(group, _INVALID_CHAR.sub("_", group), MAX_GROUP_ID_LENGTH)


def readable_with_digest(name: str, readable: str, max_length: int) -> str:
    """``readable`` cut to fit ``max_length`` together with ``~`` and a 16-hex SHA-256 of the whole ``name``.

    The one scheme for a name that must be rewritten (a MessageGroupId, an output folder): a person still
    recognises it, and two different names never end up the same, however much of them was replaced."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{readable[: max_length - _HASH_CHARS - 1]}~{digest}"


class GroupingRule(Frozen):
    """A compiled grouping rule, built once from the spec and applied to every key."""

    _fields = __slots__ = ("rule", "pattern", "fields", "separator", "fallback", "ordering_scope")
    rule: str
    pattern: re.Pattern[str] | None
    fields: int
    separator: str
    fallback: str
    ordering_scope: str

    def __init__(self, rule: str = "default", pattern: re.Pattern[str] | None = None, fields: int = 2,
                 separator: str = "_", fallback: str = "filename", ordering_scope: str = "group") -> None:
        self._init(rule, pattern, fields, separator, fallback, ordering_scope)

    @classmethod
    def from_spec(cls, spec: PipelineSpec) -> GroupingRule:
        return _rule_for(spec.grouping_rule, spec.grouping_pattern, spec.grouping_fields,
                         spec.grouping_separator, spec.grouping_fallback, spec.ordering_scope)

    def natural_group(self, name: str) -> str | None:
        """The group the rule gives a file name, or None when the rule does not fit it."""
        if self.rule == "filename":
            return name or None
        if self.rule == "regex":
            assert self.pattern is not None
            match = self.pattern.search(name)
            return (match.group("group") or None) if match else None
        if self.rule == "fields":
            parts = _EXTENSIONS.sub("", name).split(self.separator)
            if len(parts) < self.fields or not all(parts[: self.fields]):
                return None
            return self.separator.join(parts[: self.fields])
        return default_group(name) or None

    def group_of(self, key: str) -> str:
        """The MessageGroupId for ``key``; raises ``UngroupableKey`` only with fallback 'reject'."""
        if self.ordering_scope == "global":
            return GLOBAL_GROUP
        name = file_name(key)
        if not name:
            raise UngroupableKey(key, "the key has no file name")
        group = self.natural_group(name)
        if group is None:
            if self.fallback == "reject":
                raise UngroupableKey(key, f"file name {name!r} does not fit grouping rule {self.rule!r}")
            group = name
        if self.ordering_scope == "folder" and folder_of(key):
            group = f"{folder_of(key)}/{group}"
        return to_message_group_id(group)


@lru_cache(maxsize=32)
def _rule_for(rule: str, pattern: str, fields: int, separator: str, fallback: str,
              scope: str) -> GroupingRule:
    compiled = re.compile(pattern) if rule == "regex" and pattern else None
    return GroupingRule(rule, compiled, fields, separator, fallback, scope)


def group_for_key(key: str, spec: PipelineSpec) -> str:
    """The group of ``key`` under ``spec``'s rule (the router's and the simulator's single entry point)."""
    return GroupingRule.from_spec(spec).group_of(key)
