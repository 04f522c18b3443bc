"""One batch run of a group's small files against one single-file run per file, on one local SparkSession.

Run: .venv/bin/python bench/bench_batch_job.py [--files 20] [--rows-per-file 16000] [--master local[*]] [--keep DIR]

Why: a group of small files can be run as one Glue run (``--batch``: the files one after another on one
session, runtime/jobs/batch_run.py) or as one run each. Locally both share one warm JVM, so what this
measures is the job's own work per file (reads, validation, writes, snapshot merge), not Glue's start-up of
a run, which a batch saves on top of it. The warm per-file figures it prints are what the simulator's
run-time model for small files is set from.

1. Generates ``--files`` orders CSVs of one group (default 20 of about 1 MB: 16,000 rows each; the 7-column
   schema of bench/bench_job.py). Each file's ``order_id``s overlap half of the previous file's, with other
   values, so the snapshot merge by ``order_id`` and its order matter; every fourth file has five invalid
   rows (bad int, decimal losing digits, impossible date, empty merge key, a short record) so quarantine
   is exercised.
2. Starts a local SparkSession (timed on its own, ``start_spark`` of bench/bench_job.py) and warms it with
   one throwaway batch run of the first 3 files (also timed on its own; the same ``run`` per file as a
   single-file run, and a merge onto an existing snapshot).
3. Runs (a) one batch run of all the files (``ingest_job.main`` with ``--batch``, unfenced: no ledger) and
   (b) one single-file run per file, in order, each side into its own output root with its own snapshot.
   The pair is run twice, (a, b) then (b, a), so JIT warm-up favours neither; the better of each side
   counts. Wall seconds and the driver JVM's CPU seconds (/proc, ``jvm_cpu_seconds``) are printed per side,
   per file, and as the ratio single/batch.
4. Checks with pyarrow (not Spark), for every repetition: each file's output rows and quarantined rows,
   and the final snapshot (the version ``_current.json`` names, rows sorted), are the same on both sides,
   leaving out ``_run_id`` and ``_ingested_at`` (the run and the clock differ by design). Prints
   ``identical`` or what differs, and exits 1 when anything differs.

The figures are not asserted. On 2 shared cores the defaults take about 2-3 minutes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_job import SCHEMA, Timing, jvm_cpu_seconds, start_spark  # noqa: E402

GROUP = "bench"
MERGE_KEY = "order_id"
RUN_COLUMNS = ("_run_id", "_ingested_at")
"""Lineage that names the run and its clock: different by design between the two sides, so not compared."""
WARMUP_FILES = 3
"""The throwaway run: a few files, so the code of a file merged onto an existing snapshot is compiled too."""
INVALID_ROWS = (
    "{id},c00001,10.00,x,2024-01-02,2024-01-02 00:00:00,true",          # qty not an int
    "{id},c00002,1.234,1,2024-01-02,2024-01-02 00:00:00,true",          # decimal(12,2) would lose a digit
    "{id},c00003,10.00,1,2024-02-30,2024-02-30 00:00:00,false",         # no such date
    ",c00004,10.00,1,2024-01-02,2024-01-02 00:00:00,true",              # empty merge key
    "{id},c00005,10.00",                                                # too few fields
)


def generate_files(folder: Path, files: int, rows: int, seed: int = 11) -> list[Path]:
    """File n holds order_ids [n*rows/2, n*rows/2 + rows): half of them also in file n-1, with new values."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for n in range(files):
        path = folder / f"orders_{n + 1:03d}.csv"
        first = n * rows // 2
        lines = ["order_id,customer,amount,qty,order_date,created_at,paid"]
        for i in range(first, first + rows):
            day = f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
            lines.append(f"{i},c{rnd.randrange(100_000):05d},{rnd.randrange(1_000_000) / 100:.2f},{(i + n) % 19 + 1},"
                         f"{day},{day} {i % 24:02d}:{n % 60:02d}:{i % 60:02d},{'true' if (i + n) % 3 else 'false'}")
        if n % 4 == 1:
            for k, template in enumerate(INVALID_ROWS):
                lines.insert(1 + k * (rows // len(INVALID_ROWS)), template.format(id=first + k))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _uris(root: Path, file_id: str) -> dict[str, str]:
    return {"output_uri": f"file://{root}/processed/{file_id}/", "quarantine_uri": f"file://{root}/quarantine/{file_id}/",
            "manifest_uri": f"file://{root}/manifests/{file_id}.json"}


def _head_argv(root: Path, path: Path, file_id: str, run_id: str) -> list[str]:
    """The arguments of a run of ``path`` (the head of a batch, or the one file), as the dispatcher builds them."""
    from landing_pipeline.runtime import contract as c

    uris = _uris(root, file_id)
    return [c.GLUE_JOB_NAME_ARG, "ingest-job", c.GLUE_RUN_ID_ARG, run_id,
            c.INPUT_URI_ARG, f"file://{path}", c.SOURCE_KEY_ARG, path.name, c.SOURCE_VERSION_ARG, "",
            c.GROUP_ARG, GROUP, c.FILE_ID_ARG, file_id, c.ATTEMPT_ARG, "1",
            c.OUTPUT_URI_ARG, uris["output_uri"], c.QUARANTINE_URI_ARG, uris["quarantine_uri"],
            c.MANIFEST_URI_ARG, uris["manifest_uri"], c.SNAPSHOT_URI_ARG, f"file://{root}/snapshots/{GROUP}/",
            c.MERGE_KEYS_ARG, MERGE_KEY, c.SCHEMA_ARG, json.dumps(SCHEMA)]


def file_id(path: Path) -> str:
    return path.stem


def run_batch(spark: Any, paths: list[Path], root: Path, run_id: str) -> None:
    """One run of every file, in order (``--batch``); no ``--run_token``, so no ledger is involved."""
    from landing_pipeline.runtime import contract as c
    from landing_pipeline.runtime.jobs import ingest_job

    entries = [{"file_id": file_id(path), "sort_key": f"f#{n:03d}", "input_uri": f"file://{path}",
                "source_key": path.name, "source_version": "", "attempt": "1", **_uris(root, file_id(path))}
               for n, path in enumerate(paths, 1)]
    argv = [*_head_argv(root, paths[0], file_id(paths[0]), run_id), c.BATCH_ARG, json.dumps(entries),
            c.RUN_MANIFEST_URI_ARG, f"file://{root}/manifests/_runs/{run_id}.json"]
    result = ingest_job.main(argv, spark=spark)
    if result.get("status") != "SUCCEEDED":
        raise RuntimeError(f"the batch run ended {result.get('status')}: {result}")


def run_singles(spark: Any, paths: list[Path], root: Path, run_id: str) -> None:
    """One run per file, in order, each with its own run id (as Glue would give it)."""
    from landing_pipeline.runtime.jobs import ingest_job

    for n, path in enumerate(paths, 1):
        ingest_job.main(_head_argv(root, path, file_id(path), f"{run_id}_{n:03d}"), spark=spark)


def timed(spark: Any, action: Callable[[], None]) -> Timing:
    started, cpu = time.perf_counter(), jvm_cpu_seconds(spark)
    action()
    cpu_after = jvm_cpu_seconds(spark)
    return Timing(time.perf_counter() - started, None if cpu is None or cpu_after is None else cpu_after - cpu)


# --- the check, with pyarrow only -------------------------------------------------------------------------

def _table(folder: Path) -> Any:
    """A Spark output folder's rows without the run's own columns, sorted by every column; None for no folder.

    Compared as Arrow tables (``Table.equals``): turning 300,000 rows into Python objects per side would
    make the check slower than the runs it checks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet"))
    if not parts:
        return None
    table = pa.concat_tables([pq.read_table(part) for part in parts])
    table = table.drop_columns([name for name in RUN_COLUMNS if name in table.column_names])
    return table.sort_by([(name, "ascending") for name in table.column_names])


def _rows_differ(label: str, batch: Any, single: Any) -> str | None:
    """None when the two tables hold the same rows, else what differs (row sets compared only then)."""
    if batch is None or single is None:
        return None if batch is None and single is None else (
            f"{label}: written by {'the single runs' if batch is None else 'the batch'} only")
    if batch.schema.equals(single.schema) and batch.equals(single):
        return None
    as_set = [{tuple(sorted(row.items())) for row in table.to_pylist()} for table in (batch, single)]
    return (f"{label} differ (batch {batch.num_rows}, single {single.num_rows}; {len(as_set[0] - as_set[1])} only in "
            f"the batch's, {len(as_set[1] - as_set[0])} only in the single runs')")


def snapshot_table(root: Path) -> tuple[int | None, Any]:
    """(version, rows) of the snapshot version the group's pointer names."""
    pointer = root / "snapshots" / GROUP / "_current.json"
    if not pointer.exists():
        return None, None
    current = json.loads(pointer.read_text())
    return int(current["version"]), _table(Path(str(current["path"]).removeprefix("file://")))


def differences(paths: list[Path], batch_root: Path, single_root: Path) -> tuple[list[str], dict[str, int]]:
    """What differs between the two roots (empty when identical), and how many rows were compared."""
    problems: list[str] = []
    seen = {"output rows": 0, "quarantined rows": 0, "snapshot rows": 0}
    for path in paths:
        for kind, label in (("processed", "output rows"), ("quarantine", "quarantined rows")):
            batch, single = _table(batch_root / kind / file_id(path)), _table(single_root / kind / file_id(path))
            seen[label] += batch.num_rows if batch is not None else 0
            problem = _rows_differ(f"{file_id(path)}: {label}", batch, single)
            if problem:
                problems.append(problem)
    (batch_version, batch), (single_version, single) = snapshot_table(batch_root), snapshot_table(single_root)
    seen["snapshot rows"] = batch.num_rows if batch is not None else 0
    if batch_version != single_version:
        problems.append(f"snapshot version: batch {batch_version}, single runs {single_version}")
    problem = _rows_differ("final snapshot rows", batch, single)
    if problem:
        problems.append(problem)
    return problems, seen


# --- the report ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]) + "\nexample: .venv/bin/python bench/bench_batch_job.py --files 10 "
               "--rows-per-file 2000")
    parser.add_argument("--files", type=int, default=20, help="files in the group (default 20)")
    parser.add_argument("--rows-per-file", type=int, default=16_000,
                        help="rows per file (default 16000: about 1 MB of CSV)")
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*]: every core)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    options = parser.parse_args()
    if options.files < 2 or options.rows_per_file < 10:
        parser.error("--files must be at least 2 and --rows-per-file at least 10")
    work = options.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        same = report(work, options.files, options.rows_per_file, options.master)
    finally:
        if options.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if same else 1)


def report(work: Path, files: int, rows: int, master: str) -> bool:
    started = time.perf_counter()
    paths = generate_files(work / "in", files, rows)
    size_mb = sum(path.stat().st_size for path in paths) / 1e6
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; generated {files} files of {rows:,} rows, "
          f"{size_mb:.1f} MB in all ({size_mb / files:.2f} MB each) in {time.perf_counter() - started:.1f} s")

    spark, start_s = start_spark(master)
    print(f"spark session start ({master}): {start_s:.2f} s (not counted below)")
    warm_files = paths[:WARMUP_FILES]
    warm = timed(spark, functools.partial(run_batch, spark, warm_files, work / "warmup", "jr_warmup"))
    print(f"warm-up: one throwaway batch run of the first {len(warm_files)} files, {warm.wall_s:.2f} s wall, "
          f"{warm.cpu_s or 0:.2f} s JVM CPU (not counted below)")

    timings: dict[str, list[Timing]] = {"batch": [], "single": []}
    roots: list[tuple[Path, Path]] = []
    for rep, order in enumerate((("batch", "single"), ("single", "batch")), 1):
        rep_roots = {side: work / f"rep{rep}_{side}" for side in order}
        for side in order:
            runner = run_batch if side == "batch" else run_singles
            timing = timed(spark, functools.partial(runner, spark, paths, rep_roots[side], f"jr_{side}_{rep}"))
            timings[side].append(timing)
            print(f"  repetition {rep}, {side:<6}: {timing.wall_s:7.2f} s wall, {timing.cpu_s or 0:7.2f} s JVM CPU")
        roots.append((rep_roots["batch"], rep_roots["single"]))
    spark.stop()

    best = {side: min(runs, key=lambda t: t.wall_s) for side, runs in timings.items()}
    best_cpu = {side: min((t.cpu_s for t in runs if t.cpu_s is not None), default=None)
                for side, runs in timings.items()}
    labels = {"batch": f"(a) one batch run of {files} files", "single": f"(b) {files} single-file runs"}
    print(f"\n{'better of 2 each':<40}{'wall s':>9}{'JVM CPU s':>11}{'wall/file':>11}{'CPU/file':>10}")
    for side in ("batch", "single"):
        cpu = best_cpu[side]
        cpu_s, cpu_file = (f"{cpu:.2f}", f"{cpu / files:.3f}") if cpu is not None else ("n/a", "n/a")
        print(f"{labels[side]:<40}{best[side].wall_s:>9.2f}{cpu_s:>11}{best[side].wall_s / files:>11.3f}{cpu_file:>10}")
    wall_ratio = best["single"].wall_s / best["batch"].wall_s
    cpu_ratio = (best_cpu["single"] / best_cpu["batch"]
                 if best_cpu["single"] is not None and best_cpu["batch"] else None)
    cpu_ratio_text = f"{cpu_ratio:.2f}x" if cpu_ratio is not None else "n/a"
    print(f"{'ratio single/batch':<40}{wall_ratio:>8.2f}x{cpu_ratio_text:>11}")
    print(f"\nWARM PER-FILE TIME (for the simulator's small-file run-time model, {size_mb / files:.2f} MB files, "
          f"{master}):\n  in a batch: {best['batch'].wall_s / files:.3f} s wall per file"
          f"\n  single run: {best['single'].wall_s / files:.3f} s wall per file (warm JVM; Glue's per-run start-up "
          f"not included)\nload average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    same, check_started = True, time.perf_counter()
    for rep, (batch_root, single_root) in enumerate(roots, 1):
        problems, seen = differences(paths, batch_root, single_root)
        compared = ", ".join(f"{count:,} {what}" for what, count in seen.items())
        if problems:
            same = False
            print(f"\ncheck, repetition {rep}: DIFFERENT\n  " + "\n  ".join(problems))
        else:
            print(f"\ncheck, repetition {rep} (pyarrow; {compared}; {', '.join(RUN_COLUMNS)} left out): identical")
    print(f"(check took {time.perf_counter() - check_started:.1f} s)")
    return same


if __name__ == "__main__":
    main()
