"""Chaos with batches on: seeds of emulator/chaos.py's draw run through the real stack with ``batchMaxFiles: 5``
and a batch window, judged by the same invariants from the Glue engine's run log (each batch run file by file,
``observe.per_file``) and the landing log. The draw's bursts (1-6 files into one group within a second) make
batches of several files; faults (failed runs, deleted inputs, lost events, crashes) land inside them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from landing_pipeline.emulator import chaos

BATCHES = {"batchMaxFiles": 5, "batchWindowSeconds": 20}
SEEDS = (4, 5, 8, 9, 12)
"""Seeds whose draw has runs of 3-5 files and faults inside batches (seed 8: a file recorded 180 s late, after a
batch covering later files of its group had started, runs next as a late file; failures mid-batch)."""


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_every_invariant_holds_with_batches_on(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    original = chaos.plan

    def batched(seed: int, *, files: int = 50, groups: int = 5) -> chaos.ChaosPlan:
        drawn = original(seed, files=files, groups=groups)
        return replace(drawn, overrides={**drawn.overrides, **BATCHES})

    monkeypatch.setattr(chaos, "plan", batched)
    report, result = chaos.run_with_result(seed, files=20, groups=4)
    assert result.recorder is not None
    sizes = [len(run.files) for run in result.recorder.snapshot_runs()]
    assert max(sizes) >= 3, f"seed {seed} made no batch of 3 or more files: {sizes}"
    assert report.quiet and not report.problems, json.dumps(report.to_json(), default=str)[:4000]
    assert not report.failed, json.dumps({"invariants": report.invariants, "violations": report.violations,
                                          "timelines": report.timelines}, default=str)[:6000]
