"""The job's fencing: a run owns its group's lease by claiming it with its run id before touching any data.

Exactly-once starts (runtime/acting.py) leave one case where two runs carry the same lease: a StartJobRun
whose answer was lost and that the reconciler restarted with the same token after the grace, when the first
start had in fact taken effect. Both runs then claim the lease (``Ledger.claim``: conditional on the token,
and on no other run id having claimed it); exactly one wins, the other exits ``fenced`` without reading or
writing anything, and its end is not the lease's (runtime/decide.py: an end of a run that did not claim a
claimed lease is stale). The winner commits each file (``Ledger.commit_file``) conditional on its claim, so a
run whose lease was taken from it cannot mark a file done.

A run started without ``--run_token`` (by hand, or by a v1 dispatcher) is not fenced: ``fence_for`` is None.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from landing_pipeline.runtime.jobs.arguments import JobArgs
    from landing_pipeline.runtime.ledger import Ledger


class Fenced(Exception):
    """This run lost its lease claim: another run of the same lease owns it, or the lease ended."""


@dataclass(frozen=True)
class Fence:
    ledger: Ledger
    group: str
    token: str
    run_id: str
    sort_keys: tuple[str, ...]

    def claim(self) -> bool:
        return self.ledger.claim(self.group, self.token, self.run_id)

    def commit(self, output: str | None) -> bool:
        """Each file of the lease moves to history as SUCCEEDED, conditional on this run's claim."""
        from landing_pipeline.runtime.order import file_id_of

        return all(self.commit_one(key, file_id_of(key), output, position, len(self.sort_keys))
                   for position, key in enumerate(self.sort_keys, 1))

    def commit_one(self, sort_key: str, file_id: str, output: str | None, position: int = 1, of: int = 1) -> bool:
        """One file of a batch, as soon as it is done: a later failure or a kill cannot undo it, and a rerun of
        the lease's files skips it (it is no longer open)."""
        return self.ledger.commit_file(self.group, self.token, self.run_id, sort_key, file_id, output,
                                       position=position, of=of)


def fence_for(args: JobArgs, client: Any | None = None) -> Fence | None:
    """The run's fence from its arguments, or None for a run started without a lease token."""
    if not args.run_token or not args.ledger_table or not args.group:
        return None
    from landing_pipeline.runtime.ledger import Ledger

    if client is None:
        import boto3

        client = boto3.client("dynamodb")
    return Fence(Ledger(client, args.ledger_table, clock=time.time), args.group, args.run_token, args.run_id,
                 args.sort_keys)
