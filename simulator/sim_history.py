"""A simulated run written as a history trace, the input ``landing simulate calibrate`` fits.

What a real history records of each file: when it landed, its key, size, how long its first run took and
how many attempts failed. Taken from the model's own draws (``Attempts.first_run_s``, the run time before
a batch's shared start-up is discounted) and the run log (failed rows per file), so the calibration test
can check the fit against the scenario that produced the history.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from landing_pipeline.simulator.runner import SimulationResult
from landing_pipeline.simulator.trace import TraceRow


def history_rows(result: SimulationResult) -> list[TraceRow]:
    w, model = result.workload, result.model
    runs = model.runs
    failed = Counter(int(f) for f, ok in zip(runs.file, runs.ok, strict=True) if not ok)
    first = model.draws.first_run_s
    return sorted((TraceRow(w.land_s[i], w.keys[i], None if w.size_mb[i] < 0 else w.size_mb[i] * 1e6, first[i],
                            failed.get(i, 0)) for i in range(w.files)), key=lambda r: r.time_s)


def write_history(rows: list[TraceRow], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["time_s", "key", "size_bytes", "duration_s", "fail_attempts"])
        for r in rows:
            out.writerow([f"{r.time_s:.3f}", r.key, "" if r.size_bytes is None else f"{r.size_bytes:.0f}",
                          "" if r.duration_s is None else f"{r.duration_s:.3f}", r.fail_attempts])
