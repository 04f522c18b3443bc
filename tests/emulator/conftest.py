"""Helpers for the emulator's end-to-end tests: a demo run with short, fast settings."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from landing_pipeline.emulator.demo import DemoOptions, DemoResult, run_demo


@pytest.fixture(autouse=True, scope="session")
def _reused_deployments() -> Iterator[None]:
    """Each stack configuration is deployed through Pulumi once per test session and replayed after
    (emulator/deploy_cache.py): about 4 s of CPU saved per demo; tests of reuse itself opt out."""
    from landing_pipeline.emulator.deploy_cache import reused_deployments

    with reused_deployments():
        yield


FAST = {"jobTimeoutMinutes": 15, "holdMarginS": 60}
"""Stack settings shortened for tests (dev's job timeout is 30 minutes). 15 minutes holds a default batch (up to 10
files) of any group the tests land: the demo's files take 60-180 s each, and with 5 minutes a batch of two of them
was killed at the timeout whenever the second had landed before the first started (batches of one file had fit)."""


def demo(*, faults: tuple[str, ...] = (), design: str = "held", overrides: dict[str, Any] | None = None,
         speedup: float = 120.0, engine: str = "sleep", **options: Any) -> DemoResult:
    result = run_demo(DemoOptions(stack="dev", engine=engine, speedup=speedup, faults=list(faults),  # type: ignore[arg-type]
                                  design=design, overrides={**FAST, **(overrides or {})},  # type: ignore[arg-type]
                                  timeout_s=240 if engine == "sleep" else 900, **options),
                      keep_output=engine == "spark")
    assert result.quiet, "the pipeline never went quiet"
    return result


def explain(result: DemoResult) -> str:
    """What a failing end-to-end test prints: every file with its runs, the ledger, the DLQs, function errors."""
    lines = [json.dumps(result.report["summary"])]
    for file in result.report["files"]:
        lines.append(f"{file['key']}: {file['status']} attempts={file['attempts']} seq={file['enqueue_seq']} "
                     f"runs={[(r['state'], r['start'], r['end']) for r in file['runs']]} reason={file['_reason']}")
    lines += [f"ledger: {view}" for view in result.ledger.values()]
    lines += [f"{role}: {len(messages)} message(s) {[m['attributes'] for m in messages]}"
              for role, messages in result.dead_letters.items()]
    lines += [f"function error: {error}" for error in result.function_errors[:10]]
    lines.append(f"faults fired: {result.faults_fired}")
    unfinished = {view.file_id for view in result.ledger.values() if view.status not in ("SUCCEEDED", "DEAD")}
    lines += [f"delivery: {delivery}" for delivery in result.deliveries
              if any(file_id in delivery[2] for file_id in unfinished)]
    return "\n".join(lines)


def by_key(result: DemoResult) -> dict[str, dict[str, Any]]:
    return {f["key"].rsplit("/", 1)[-1]: f for f in result.report["files"]}


def assert_nothing_lost(result: DemoResult) -> None:
    """Every file SUCCEEDED or DEAD (with its reason), no file succeeded twice, each group's order held."""
    for file in result.report["files"]:
        assert file["status"] in ("SUCCEEDED", "DEAD"), f"{file['key']} ended {file['status']}\n{explain(result)}"
        if file["status"] == "DEAD":
            assert file["_reason"], f"{file['key']} is DEAD without a reason"
        successes = Counter(run["state"] for run in file["runs"])["SUCCEEDED"]
        assert successes <= 1, f"{file['key']} succeeded {successes} times"
        assert (successes == 1) == (file["status"] == "SUCCEEDED")
    summary = result.report["summary"]
    assert summary["overlapping_runs"] == 0
    assert summary["ordering_violations"] == 0
    assert_group_order(result)


def assert_group_order(result: DemoResult) -> None:
    """Within each group the runs follow enqueue order and never overlap (checked here from the runs, not from
    the summary's counters)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for file in result.report["files"]:
        if file["runs"]:
            groups.setdefault(file["group"], []).append(file)
    for group, files in groups.items():
        files.sort(key=lambda f: f["enqueue_seq"])
        runs = [run for f in files for run in f["runs"]]
        for earlier, later in itertools.pairwise(runs):
            assert earlier["end"] is not None and earlier["end"] <= later["start"], (
                f"group {group}: a run started at {later['start']} before the previous one ended at {earlier['end']}"
                f"\n{explain(result)}")


@pytest.fixture
def held_result() -> DemoResult:
    """On virtual time: the assertions compare pipeline times (a run of one group beside another's), which the
    scaled clock (120x) lets a loaded machine stretch into minutes (test_clock_demo covers the scaled clock)."""
    return demo(virtual_time=True)
