"""After a run of a feed ends, the catalog is brought up to date for its group (``runtime/catalog.py``).

Called by the completion handler for every end event it accepts and by the reconciler when it finishes a run
whose event was lost, whether or not the event changed the ledger: a retried event is how a failed catalog call
is tried again, so the call must not depend on the ledger write it follows. The run's own arguments say which
feed and group it wrote and which manifests it may have left, so nothing is guessed from the ledger.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.catalog import sync_group
from landing_pipeline.runtime.context import RuntimeContext
from landing_pipeline.runtime.contract import BATCH_ARG, FEED_ARG, GROUP_ARG, MANIFEST_URI_ARG

ENDED_STATES = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"})


def sync_run(ctx: RuntimeContext, run: Mapping[str, Any]) -> list[str]:
    """Register ``run``'s group in its feed's tables (a Glue ``JobRun``: its ``Arguments`` and state). Runs of no
    feed, of a stack without a catalog, or still running change nothing. Raises on a failed catalog call (the
    caller's event is retried)."""
    if not ctx.keeps_catalog or str(run.get("JobRunState", "")) not in ENDED_STATES:
        return []
    arguments = run.get("Arguments") or {}
    feed = next((f for f in ctx.spec.feeds if f.name == arguments.get(FEED_ARG)), None)
    group = arguments.get(GROUP_ARG)
    if feed is None or not group:
        return []
    changed = sync_group(ctx.glue, ctx.s3, database=ctx.catalog_database, feed=feed,
                         output_bucket=ctx.output_bucket, output_prefix=ctx.spec.output_prefix, group=str(group),
                         manifest_keys=_manifest_keys(arguments, ctx.output_bucket))
    if changed:
        obs.logger.info("catalog updated", extra={"feed": feed.name, "group": group, "changes": changed})
    return changed


def _manifest_keys(arguments: Mapping[str, Any], bucket: str) -> list[str]:
    """The manifests of the run's files in the output bucket (head, then an inline batch's others)."""
    uris = [str(arguments.get(MANIFEST_URI_ARG, ""))]
    with contextlib.suppress(ValueError, AttributeError):
        uris += [str(entry.get("manifest_uri", "")) for entry in json.loads(arguments.get(BATCH_ARG) or "[]")][1:]
    prefix = f"s3://{bucket}/"
    return [uri[len(prefix):] for uri in uris if uri.startswith(prefix)]
