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

Prints rows/s for each and the throughput ratio job/pyarrow. Goal: >= 0.5x pyarrow's throughput.
Nothing is asserted: the figures depend on the machine and on what else runs on it (load is printed).
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


def pyarrow_convert(source: Path, target: Path) -> tuple[float, int, int]:
    from pyarrow import csv, parquet

    started = time.perf_counter()
    table = csv.read_csv(source)
    parquet.write_table(table, target)
    elapsed = time.perf_counter() - started
    return elapsed, table.num_rows, _sum_qty(table)


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


def run_job(spark: Any, source: Path, out: Path, name: str, schema: list[str]) -> tuple[float, dict[str, Any]]:
    from runtime.jobs import ingest_job

    argv = ["--input_uri", f"file://{source}", "--source_key", source.name, "--source_version", "v1",
            "--group", "bench", "--file_id", name, "--attempt", "1", "--JOB_RUN_ID", f"jr_{name}",
            "--output_uri", f"file://{out}/processed/{name}/", "--quarantine_uri", f"file://{out}/quarantine/{name}/",
            "--manifest_uri", f"file://{out}/manifests/{name}.json", "--merge_keys", "",
            "--schema", json.dumps(schema)]
    started = time.perf_counter()
    manifest = ingest_job.main(argv, spark=spark)
    return time.perf_counter() - started, manifest


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
    arrow_s, arrow_rows, arrow_qty = min(arrow_runs)
    spark, start_s = start_spark(master)
    print(f"spark session start ({master}): {start_s:.2f} s (not counted below)")

    results: list[tuple[str, float, dict[str, Any]]] = []
    for name, schema in (("cold", SCHEMA), ("warm", SCHEMA), ("warm_no_schema", [])):
        elapsed, manifest = run_job(spark, source, work / "spark", name, schema)
        results.append((name, elapsed, manifest))
    spark.stop()

    print(f"\n{'what':<44}{'seconds':>9}{'rows/s':>13}{'vs pyarrow':>12}")
    print(f"{'pyarrow read_csv + write_table (best of 2)':<44}{arrow_s:>9.2f}{arrow_rows / arrow_s:>13,.0f}"
          f"{1.0:>11.2f}x")
    labels = {"cold": "job, schema, cold JVM (first run)", "warm": "job, schema, warm JVM",
              "warm_no_schema": "job, no schema, warm JVM"}
    for name, elapsed, manifest in results:
        rate = manifest["rows_in"] / elapsed
        print(f"{labels[name]:<44}{elapsed:>9.2f}{rate:>13,.0f}{rate / (arrow_rows / arrow_s):>11.2f}x")

    out_rows, out_qty = spark_output_check(work / "spark" / "processed" / "warm")
    same = out_rows == arrow_rows and out_qty == arrow_qty
    print(f"\ncheck: spark wrote {out_rows:,} rows, sum(qty) {out_qty:,}; pyarrow {arrow_rows:,}, {arrow_qty:,}"
          f" -> {'identical' if same else 'DIFFERENT'}; quarantined {results[1][2]['rows_quarantined']}")
    warm_ratio = (rows / results[1][1]) / (arrow_rows / arrow_s)
    verdict = "meets" if warm_ratio >= GOAL_RATIO else "misses"
    print(f"goal: job >= {GOAL_RATIO}x pyarrow's throughput; the warm run with a schema is {warm_ratio:.2f}x: "
          f"{verdict} it")


if __name__ == "__main__":
    main()
