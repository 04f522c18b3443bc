"""The ingest job on a large CSV in local Spark vs plain pyarrow CSV -> Parquet on the same file, in one run.

Run: .venv/bin/python bench/bench_job.py [--rows 1000000] [--master local[*]] [--keep DIR]

1. Generates an orders CSV (1,000,000 rows is about 60 MB) in a temporary folder.
2. Baseline: ``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table`` (types inferred, no validation,
   no lineage), twice; the better run counts.
3. Starts a local SparkSession (timed on its own: Glue starts its own before the script runs), then runs
   the job (``runtime.jobs.ingest_job.main``) with the declared 7-column schema: a cold run (first job of
   the JVM: class loading and JIT compilation included), a warm run, and a warm run without a schema
   (plain conversion plus lineage), to show what validation costs.
4. Checks that Spark's output and pyarrow's hold the same number of rows and the same sum of ``qty``.

Prints rows/s for each and the throughput ratio job/pyarrow (goal: >= 0.5x pyarrow's throughput), by the
wall clock and by CPU time (the JVM's CPU seconds from /proc for Spark, the process's for pyarrow): on a
shared machine the CPU figures move much less with the load, which is printed too. Nothing is asserted.
Many small files, a batch run against one run per file: bench/bench_batch_job.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_RATIO = 0.5
SCHEMA = ["order_id:bigint", "customer:string", "amount:decimal(12,2)", "qty:int", "order_date:date",
          "created_at:timestamp", "paid:boolean"]


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Deterministic orders; every value valid, so both sides write every row."""
    rnd = random.Random(seed)
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(366)]
    with path.open("w", encoding="utf-8") as out:
        out.write("order_id,customer,amount,qty,order_date,created_at,paid\n")
        chunk = 100_000
        for start in range(0, rows, chunk):
            out.writelines(
                f"{i},c{rnd.randrange(100_000):05d},{rnd.randrange(1_000_000) / 100:.2f},{i % 19 + 1},"
                f"{days[i % 366]},{days[i % 366]} {i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d},"
                f"{'true' if i % 3 else 'false'}\n"
                for i in range(start, min(start + chunk, rows)))


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float | None


def pyarrow_convert(source: Path, target: Path) -> tuple[Timing, int, int]:
    from pyarrow import csv, parquet

    started, cpu = time.perf_counter(), time.process_time()
    table = csv.read_csv(source)
    parquet.write_table(table, target)
    timing = Timing(time.perf_counter() - started, time.process_time() - cpu)
    return timing, table.num_rows, _sum_qty(table)


def jvm_cpu_seconds(spark: Any) -> float | None:
    """CPU seconds used so far by the Spark driver JVM (every thread), or None where /proc is missing."""
    try:
        pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AttributeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sum_qty(table: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(table.column("qty").cast("int64")).as_py())


def start_spark(master: str) -> tuple[Any, float]:
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    spark = (SparkSession.builder.master(master).appName("bench-job")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark, time.perf_counter() - started


def run_job(spark: Any, source: Path, out: Path, name: str, schema: list[str]) -> tuple[Timing, dict[str, Any]]:
    from landing_pipeline.runtime import contract as c
    from landing_pipeline.runtime.jobs import ingest_job

    argv = [c.INPUT_URI_ARG, f"file://{source}", c.SOURCE_KEY_ARG, source.name, c.SOURCE_VERSION_ARG, "v1",
            c.GROUP_ARG, "bench", c.FILE_ID_ARG, name, c.ATTEMPT_ARG, "1", c.GLUE_RUN_ID_ARG, f"jr_{name}",
            c.OUTPUT_URI_ARG, f"file://{out}/processed/{name}/", c.QUARANTINE_URI_ARG, f"file://{out}/quarantine/{name}/",
            c.MANIFEST_URI_ARG, f"file://{out}/manifests/{name}.json", c.MERGE_KEYS_ARG, "",
            c.SCHEMA_ARG, json.dumps(schema)]
    started, cpu = time.perf_counter(), jvm_cpu_seconds(spark)
    manifest = ingest_job.main(argv, spark=spark)
    cpu_after = jvm_cpu_seconds(spark)
    used = None if cpu is None or cpu_after is None else cpu_after - cpu
    return Timing(time.perf_counter() - started, used), manifest


def spark_output_check(folder: Path) -> tuple[int, int]:
    import pyarrow.parquet as pq

    table = pq.read_table(folder)
    return table.num_rows, _sum_qty(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example: .venv/bin/python bench/bench_job.py --rows 100000")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated CSV (default 1000000)")
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*]: every core)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="bench-job-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report(work, options.rows, options.master)
    finally:
        if options.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report(work: Path, rows: int, master: str) -> None:
    source = work / "orders_bench.csv"
    started = time.perf_counter()
    generate_csv(source, rows)
    size_mb = source.stat().st_size / 1e6
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; "
          f"generated {rows:,} rows, {size_mb:.1f} MB in {time.perf_counter() - started:.1f} s")

    arrow_runs = [pyarrow_convert(source, work / f"pyarrow_{n}.parquet") for n in range(2)]
    arrow, arrow_rows, arrow_qty = min(arrow_runs, key=lambda run: run[0].wall_s)
    spark, start_s = start_spark(master)
    print(f"spark session start ({master}): {start_s:.2f} s (not counted below)")

    results: list[tuple[str, Timing, dict[str, Any]]] = []
    for name, schema in (("cold", SCHEMA), ("warm", SCHEMA), ("warm_no_schema", [])):
        timing, manifest = run_job(spark, source, work / "spark", name, schema)
        results.append((name, timing, manifest))
    spark.stop()

    print(f"\n{'':<44}{'wall clock':^32}{'CPU time':^32}")
    print(f"{'what':<44}" + f"{'seconds':>9}{'rows/s':>12}{'vs pyarrow':>11}" * 2)
    labels = {"cold": "job, schema, cold JVM (first run)", "warm": "job, schema, warm JVM",
              "warm_no_schema": "job, no schema, warm JVM"}
    rows_of = {"pyarrow": arrow_rows, **{name: manifest["rows_in"] for name, _, manifest in results}}
    table = [("pyarrow read_csv + write_table (best of 2)", "pyarrow", arrow)]
    table += [(labels[name], name, timing) for name, timing, _ in results]
    ratios: dict[str, tuple[float, float | None]] = {}
    for label, name, timing in table:
        wall_rate = rows_of[name] / timing.wall_s
        line = f"{label:<44}{timing.wall_s:>9.2f}{wall_rate:>12,.0f}{wall_rate / (arrow_rows / arrow.wall_s):>10.2f}x"
        cpu_ratio = None
        if timing.cpu_s and arrow.cpu_s:
            cpu_rate = rows_of[name] / timing.cpu_s
            cpu_ratio = cpu_rate / (arrow_rows / arrow.cpu_s)
            line += f"{timing.cpu_s:>9.2f}{cpu_rate:>12,.0f}{cpu_ratio:>10.2f}x"
        ratios[name] = (wall_rate / (arrow_rows / arrow.wall_s), cpu_ratio)
        print(line)

    out_rows, out_qty = spark_output_check(work / "spark" / "processed" / "warm")
    same = out_rows == arrow_rows and out_qty == arrow_qty
    print(f"\ncheck: spark wrote {out_rows:,} rows, sum(qty) {out_qty:,}; pyarrow {arrow_rows:,}, {arrow_qty:,}"
          f" -> {'identical' if same else 'DIFFERENT'}; quarantined {results[1][2]['rows_quarantined']}")
    wall_ratio, cpu_ratio = ratios["warm"]
    verdict = "meets" if wall_ratio >= GOAL_RATIO else "misses"
    cpu_text = f", by CPU time {cpu_ratio:.2f}x" if cpu_ratio is not None else ""
    print(f"goal: job >= {GOAL_RATIO}x pyarrow's throughput; the warm run with a schema is {wall_ratio:.2f}x by "
          f"the wall clock{cpu_text}: {verdict} it. Load average now {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
