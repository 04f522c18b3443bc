"""What "the order files landed in" means, as one sortable string per file (``orderBy``).

The string is the file item's sort key under its group, so DynamoDB keeps a group's open files in order
and one strongly consistent Query returns them so. ``landing_time``: the S3 event's time in whole
seconds (EventBridge's precision), then the key, then the sequencer (which orders events of one key
only); files of one group landing in the same second run in key order. ``file_name``: the file name,
then the same tie-breakers. The file id ends every sort key, so two versions never share one.
"""

from __future__ import annotations

from datetime import datetime

SEPARATOR = "\x1f"
"""Below every printable character: ``a`` sorts before ``ab`` whatever follows either."""
FILE_ITEM_PREFIX = "f#"
SEQUENCER_WIDTH = 32


def event_epoch_s(event_time: str | None, fallback: float) -> int:
    """The event's time in whole seconds (``fallback``, e.g. the router's clock, if it has none)."""
    if event_time:
        try:
            return int(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(fallback)


def order_key(order_by: str, *, landed_s: int, key: str, sequencer: str | None) -> str:
    """The order of one file among its group's files (without the file id)."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    # hex sequencers of different lengths compare as numbers once left-padded
    seq = (sequencer or "").rjust(SEQUENCER_WIDTH, "0")
    if order_by == "file_name":
        return SEPARATOR.join((name, f"{landed_s:011d}", key, seq))
    return SEPARATOR.join((f"{landed_s:011d}", key, seq))


def sort_key(order: str, file_id: str) -> str:
    """The file item's sort key: its order, then its id."""
    return f"{FILE_ITEM_PREFIX}{order}{SEPARATOR}{file_id}"


def file_id_of(sort_key_text: str) -> str:
    return sort_key_text.rsplit(SEPARATOR, 1)[-1]


def readable(sort_key_text: str) -> str:
    """A sort key as an operator reads it (``landing status``)."""
    return sort_key_text.removeprefix(FILE_ITEM_PREFIX).rsplit(SEPARATOR, 1)[0].replace(SEPARATOR, " | ")
