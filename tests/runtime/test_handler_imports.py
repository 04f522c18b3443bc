"""What importing a Lambda handler module loads: a cold start pays for every module before the first record.

Import time itself is measured in bench/bench_handlers.py (a timed test would fail on a busy machine); these
tests pin its causes instead, each in a fresh interpreter, so a module-level import that drags a rare path back
into every cold start fails here. What a handler needs on every invocation (Powertools' Logger and Metrics,
runtime.batch, the ledger, runtime.decide) stays at module level on purpose: moving it into a function would
only move its cost from the import to the first invocation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = "landing_pipeline.runtime"

RARE_PATHS = {f"{RUNTIME}.{name}" for name in ("feeds", "catalog", "catalog_sync", "spec_validation", "spec_loader",
                                                "feed_overlap", "jobs")} | {"difflib"}
"""Feeds (only stacks that have them: imported where feeds are read), catalog sync (stacks with feeds and a
catalog), spec validation (on the first invocation, building the spec), the stack-file loader and the
feed-overlap check (deployment), the Glue job's code, difflib (suggesting fixes): no handler module imports them."""

NEVER = {"aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.data_classes", "asyncio"}
"""Powertools' batch utility, which runtime.batch replaced: it imports asyncio and every Powertools data class,
0.17x a bare ``import boto3`` on each cold start (docs/runtime.md, "Import time")."""

NOT_IMPORTED = {
    "router": RARE_PATHS | NEVER | {f"{RUNTIME}.decide", f"{RUNTIME}.acting", f"{RUNTIME}.job_args"},  # no decide
    "dispatcher": RARE_PATHS | NEVER,
    "completion": RARE_PATHS | NEVER | {f"{RUNTIME}.job_args"},   # it never starts a run
    # no SQS batch, and a start only on a rare restart (job_args then)
    "reconciler": RARE_PATHS | NEVER | {f"{RUNTIME}.job_args", f"{RUNTIME}.batch"},
}


def _loaded_by(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("handler", sorted(NOT_IMPORTED))
def test_a_handler_module_imports_no_rare_path(handler: str) -> None:
    loaded = _loaded_by(f"{RUNTIME}.{handler}")
    unwanted = sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in NOT_IMPORTED[handler]))
    assert unwanted == [], f"{handler} imports {unwanted} at module level"


def test_the_runtime_never_imports_powertools_data_classes_or_batch_utility() -> None:
    """Not even for the type checker: runtime.batch has its own ``SQSRecord``, and a module-level import of either
    (checked above for the handlers) would put asyncio and every data class back into each cold start."""
    offenders = []
    for path in sorted((ROOT / "runtime").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        imports = [line.strip() for line in text.splitlines() if line.strip().startswith(("from ", "import "))]
        offenders += [f"{path.name}: {line}" for line in imports
                      if "utilities.data_classes" in line or "utilities.batch" in line]
    assert offenders == []
