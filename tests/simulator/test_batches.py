"""Batches in the simulator, through the shared rules (runtime/decide.py): one Glue run for several files of a
group, billed once; a file that fails mid-batch stops it there (the files before it done, the ones after it run
next with no attempt); a batch killed at the job timeout retries the file it was on alone."""

from __future__ import annotations

from pathlib import Path

from landing_pipeline.runtime.spec import PipelineSpec
from tests.simulator.test_protocol import run, starts


def test_a_group_of_six_files_runs_in_two_batches_in_order(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    rows = [f"{n},landing/a_00000{n}.csv,10" for n in range(1, 7)]
    one = run(tmp_path, dev_spec.replace(settle_seconds=0, batch_max_files=1), rows)
    result = run(tmp_path, dev_spec.replace(settle_seconds=0, batch_max_files=3, batch_window_seconds=10), rows)
    m = result.metrics
    assert m["succeeded"] == 6 and m["glue_runs"] == 2 and one.metrics["glue_runs"] == 6
    assert m["ordering_violations"] == 0 and m["overlapping_runs"] == 0
    assert m["glue_dpu_hours"] < one.metrics["glue_dpu_hours"]   # one 1-minute minimum a run, not a file
    by_run = sorted(starts(result), key=lambda row: (row[1], row[0]))
    assert [name for name, _, _ in by_run] == [f"a_00000{n}.csv" for n in range(1, 7)]


def test_a_failure_mid_batch_charges_only_the_failing_file(tmp_path: Path, dev_spec: PipelineSpec) -> None:
    rows = ["0,landing/a_000001.csv,,10,0", "1,landing/a_000002.csv,,10,1", "2,landing/a_000003.csv,,10,0"]
    spec = dev_spec.replace(settle_seconds=0, batch_max_files=3, batch_window_seconds=5, retry_backoff_base_s=30)
    (tmp_path / "trace.csv").write_text("time_s,key,size_bytes,duration_s,fail_attempts\n" + "\n".join(rows) + "\n",
                                        encoding="utf-8")
    from landing_pipeline.simulator.runner import simulate
    from landing_pipeline.simulator.scenario import parse_scenario

    scenario = parse_scenario({"trace": "trace.csv", "overheads": "none"}, str(tmp_path / "s.yaml"), tmp_path)
    result = simulate(spec, scenario, seed=1)
    m = result.metrics
    assert m["succeeded"] == 3 and m["ordering_violations"] == 0 and m["overlapping_runs"] == 0
    assert m["glue_runs"] == 2          # [1, 2 fails]; then [2 retried, 3]
    w, runs = result.workload, result.model.runs
    rows = sorted((float(s), w.keys[int(f)].removeprefix("landing/"), bool(ok))
                  for f, s, ok in zip(runs.file, runs.start, runs.ok, strict=True))
    first, second = rows[0][0], rows[-1][0]
    assert [r for r in rows if r[0] == first] == [(first, "a_000001.csv", True), (first, "a_000002.csv", False),
                                                 (first, "a_000003.csv", False)]   # 3: never reached
    assert [r for r in rows if r[0] == second] == [(second, "a_000002.csv", True), (second, "a_000003.csv", True)]
    assert second >= first + 20 + 30    # file 2 waited for its retry backoff; file 3 did not run past it
