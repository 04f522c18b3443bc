"""A group's name as an output folder that every reader of the output bucket takes literally.

A group comes from the landed key and may hold any character an SQS ``MessageGroupId`` allows, glob
characters included (``orders?_g``, ``orders[1]``, ``weird\\key``). Used as a folder name, Spark and Hadoop
read ``?``, ``*``, ``[...]``, ``{a,b}`` and ``\\`` as a pattern; Hadoop's ``Path`` splits on ``:`` and
percent-decodes ``%xx``; Spark and Hive skip folders starting with ``_`` or ``.``. Escaping the pattern is not
an answer: writes do not glob, so an escaped folder is created with the backslashes in its name and the
next read (escaped again) does not find it. So the job's folders (output, quarantine, manifest, snapshot)
use :func:`path_component`: the group itself when it is plain, else a readable part and a hash of the whole
name. Pure and dependency-free: the dispatcher, the completion handler, the emulator and the job agree on it.
"""

from __future__ import annotations

import re

from landing_pipeline.runtime.grouping import readable_with_digest

MAX_COMPONENT_LENGTH = 100
# Kept as written (existing layouts stay where they were): letters, digits and the punctuation no reader
# gives a meaning to. '/' is allowed between segments (ordering scope 'folder' nests group folders).
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9!\"$&'()+,\-.;<=>@^_`|~]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def is_plain(group: str) -> bool:
    """Whether ``group`` is already a literal, visible folder path (used unchanged)."""
    if not group or len(group) > MAX_COMPONENT_LENGTH:
        return False
    return all(_PLAIN_SEGMENT.fullmatch(segment) and not segment.startswith((".", "_"))
               for segment in group.split("/"))


def path_component(group: str) -> str:
    """``group`` as a folder: unchanged when plain, else ``<readable>~<16 hex>`` (``orders?_g`` ->
    ``orders__g~5d0b...``), the hash over the whole name so two groups never share a folder."""
    if is_plain(group):
        return group
    return readable_with_digest(group, _UNSAFE.sub("_", group).strip("._") or "group", MAX_COMPONENT_LENGTH)
