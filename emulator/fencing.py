"""The job's lease claim, made by the emulator's run executors as the job script makes it.

The sleep executor runs no job script, and the Spark executor downloads a run's input before the script
starts; both claim the run's lease first through the runtime's own code (runtime/jobs/fencing.py), so a run
that loses the claim touches no data and the Glue engine's run log records it ``fenced`` (chaos mode's
invariants count fenced runs apart: they did no work). The claim is idempotent per run id: the job script's
own claim after the Spark executor's succeeds again.
"""

from __future__ import annotations

from typing import Any

from landing_pipeline.runtime.contract import GROUP_ARG, LEDGER_TABLE_ARG, RUN_TOKEN_ARG, SORT_KEYS_ARG
from landing_pipeline.runtime.jobs.fencing import Fence


def fence_of(aws: Any, run_id: str, arguments: dict[str, str]) -> Fence | None:
    """The run's fence (None: started without a lease token, e.g. ``--design seed`` or by hand)."""
    import json

    from landing_pipeline.runtime.ledger import Ledger

    token, table, group = (arguments.get(name, "") for name in (RUN_TOKEN_ARG, LEDGER_TABLE_ARG, GROUP_ARG))
    if not token or not table or not group:
        return None
    keys = tuple(json.loads(arguments.get(SORT_KEYS_ARG) or "[]"))
    return Fence(Ledger(aws.client("dynamodb"), table, clock=aws.clock.epoch), group, token, run_id, keys)


def claim(aws: Any, run_id: str, arguments: dict[str, str]) -> bool:
    """True when the run may work: it owns its lease, or it has none to claim."""
    fence = fence_of(aws, run_id, arguments)
    return fence is None or fence.claim()


def commit(aws: Any, run_id: str, arguments: dict[str, str], output: str | None) -> bool:
    fence = fence_of(aws, run_id, arguments)
    return fence is None or fence.commit(output)


def commit_one(aws: Any, run_id: str, arguments: dict[str, str], entry: dict[str, str], position: int,
               of: int) -> bool:
    """One file of a batch, committed as the job commits it when it is done (``Fence.commit_one``)."""
    fence = fence_of(aws, run_id, arguments)
    return fence is None or fence.commit_one(entry["sort_key"], entry["file_id"], None, position, of)
