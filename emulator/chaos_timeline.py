"""A chaos group's story in pipeline time, for a reader of a failed invariant: landings, hearings, run starts
and ends, operator actions, deliveries and dropped sends, and how each file ended (never judged: the
invariants are emulator/invariants.py's)."""

from __future__ import annotations

from landing_pipeline.emulator.invariants import Landing, Records, is_fenced, name_of, order_key, short_id


def _role(function: str) -> str:
    """``ingest-functions-dispatcher-fn-2c3c307`` -> ``dispatcher`` (the name is the stack's)."""
    return next((role for role in ("router", "dispatcher", "completion") if role in function), function)


def timeline(records: Records, group: str) -> list[str]:
    """The group's story in pipeline time: landings, hearings, run starts and ends, operator actions, and how
    each file ended; what a reader needs to see why an invariant failed there."""
    members = [landing for landing in records.landings if landing.group == group]
    ids = {landing.file_id: landing for landing in members}
    # at one instant: landed, heard, then runs' ends, starts and operator actions (in the run log's sequence
    # when it has one, else ends before starts before actions), then deliveries and dropped sends
    events: list[tuple[float, int, str]] = []
    for landing in members:
        events.append((landing.at, 0, f"landed    {name_of(landing.key)}"))
        if landing.file_id in records.heard:
            events.append((records.heard[landing.file_id], 1, f"heard     {name_of(landing.key)}"))
    for run in records.runs:
        if run.file_id not in ids:
            continue
        fenced = " (fenced)" if is_fenced(run) else ""
        line = f"start     {name_of(run.key)} run {short_id(run.run_id)} attempt {run.attempt}{fenced}"
        events.append((run.start, _rank(3, getattr(run, "start_seq", None)), line))
        if run.end is not None:
            detail = f": {run.message}" if run.message and run.state != "SUCCEEDED" else ""
            events.append((run.end, _rank(2, getattr(run, "end_seq", None)),
                           f"end       {name_of(run.key)} run {short_id(run.run_id)} {run.state}{detail}"))
        else:
            going = f"running   {name_of(run.key)} run {short_id(run.run_id)} had not ended"
            events.append((records.now, UNRANKED, going))
    for at, function, identity, count, outcome in records.deliveries:
        file_id = identity[len("file "):] if identity.startswith("file ") else ""
        if file_id in ids:
            line = f"delivered {name_of(ids[file_id].key)} to {_role(function)} (receive {count}): {outcome}"
            events.append((at, UNRANKED + 1, line))
    for at, queue, dedup in records.dropped_sends:
        dropped = next((fid for fid in ids if dedup.startswith(fid)), None)
        if dropped is not None:
            suffix = dedup[len(dropped):] or "the file id"
            line = f"dropped   a send of {name_of(ids[dropped].key)} to {queue} (dedup id {suffix})"
            events.append((at, UNRANKED + 2, line))
    for action in records.operator:
        if action.file_id in ids:
            events.append((action.at, _rank(4, action.seq), f"operator  {action.action} {name_of(action.key)}"))
    lines = [f"{at:9.1f}  {text}" for at, _, text in sorted(events, key=lambda e: (e[0], e[1]))]
    for landing in sorted(members, key=lambda m: order_key(m, records.order_by)):
        lines.append(f"{'end':>9}  {name_of(landing.key)}: {_fate(records, landing)}")
    return lines


UNRANKED = 1 << 62
"""Timeline ranks at one instant: 0 landed, 1 heard, 2-4 ends, starts, actions without a sequence number,
then 10 + the sequence number; runs still going, deliveries and dropped sends after all of them."""


def _rank(fallback: int, seq: int | None) -> int:
    return fallback if seq is None else 10 + seq


def _fate(records: Records, landing: Landing) -> str:
    runs = [run for run in records.runs if run.file_id == landing.file_id and not is_fenced(run)]
    successes = sum(1 for run in runs if run.state == "SUCCEEDED")
    parts = [f"{successes} successful run(s) of {len(runs)}"] if runs else ["never ran"]
    if landing.file_id in records.dlq_files:
        parts.append("in a DLQ")
    if landing.file_id in records.ledger_dead:
        parts.append("ledger says DEAD")
    if any(a.action == "skip" and a.file_id == landing.file_id for a in records.operator):
        parts.append("skipped by the operator")
    if not landing.taken_in:
        parts.append("ignored by the stack's rule")
    return ", ".join(parts)
