"""The emulator's two figures, each with a baseline measured in the same run.

Run: .venv/bin/python bench/bench_demo.py [--files 5000] [--skip-spark] [--skip-replay] [--virtual]

1. ``make demo``'s work: ``landing demo --stack dev`` on the built-in example set with Spark, as a fresh process
   (imports, deploy onto moto, Spark start, six Glue runs through the real handlers). Goal: <= 60 s.
   Baseline: a fresh process that starts the same local Spark session and runs the job script directly on the
   same six files one after another (no AWS, no handlers). The ratio is what the emulated pipeline adds.
2. Replay throughput: a trace of ``--files`` files (default 5,000 in 50 groups, all landing within 50
   pipeline seconds, 1 s runs) through ``landing demo --trace --engine sleep``: files per wall second through
   the real handlers, and moto requests per file. Baseline: raw moto SQS in the same process, one thread:
   send, receive and delete of as many messages (messages per second; moto's receive scans the whole queue,
   so it slows with depth, which is why the baseline moves the same number). The ratio shows how many SQS
   round trips' worth of wall time one file costs. ``--virtual`` replays on virtual time
   (emulator/virtual_clock.py) instead of at speedup 20: the figure is then the handlers' and moto's cost alone;
   CPU seconds per file are printed beside wall either way.

Nothing is asserted: the figures depend on the machine and on what else runs on it (load is printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

GOAL_DEMO_S = 60.0
REPLAY_SPEEDUP = 20.0
"""Fast enough for 1 s runs, slow enough that no message waits 12 pipeline hours (moto counts SQS's 12-hour
visibility limit from when a message was sent)."""
REPLAY_GROUPS = 50
REPLAY_OVERRIDES = {"maxParallelGroups": REPLAY_GROUPS}
"""As many parallel groups as the trace has, so Glue's MaxConcurrentRuns never throttles: the figure is the handlers'
(and moto's) throughput, not the pipeline's backoff after throttled starts."""

DIRECT_JOB = r"""
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
from landing_pipeline.emulator.workload import builtin
from landing_pipeline.runtime.jobs.ingest_job import main
from landing_pipeline.runtime.spec_loader import load_stack
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
spec = load_stack("dev", Path(sys.argv[1]))
root = Path(tempfile.mkdtemp())
for n, arrival in enumerate(builtin()):
    source = root / "in" / arrival.name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(arrival.body)
    group = arrival.name.rsplit("_", 1)[0]
    out = f"file://{root}/out"
    main(["--input_uri", f"file://{source}", "--source_key", arrival.name, "--source_version", "",
          "--group", group, "--file_id", f"f{n}", "--attempt", "1",
          "--output_uri", f"{out}/processed/{group}/f{n}/", "--quarantine_uri", f"{out}/quarantine/{group}/f{n}/",
          "--manifest_uri", f"{out}/manifests/{group}/f{n}.json", "--snapshot_uri", f"{out}/snapshots/{group}/",
          "--merge_keys", ",".join(spec.merge_keys), "--schema", __import__("json").dumps(list(spec.schema))],
         spark=spark)
spark.stop()
print(time.perf_counter() - started)
"""


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores"


def demo_wall(workdir: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "landing"), "demo", "--stack", "dev", "--json", str(workdir / "demo.json"),
                             "--timeline", str(workdir / "timeline.png")], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"landing demo failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return wall


def direct_job_wall() -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", DIRECT_JOB, str(ROOT)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"the direct job baseline failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def write_trace(path: Path, files: int) -> None:
    groups = min(REPLAY_GROUPS, files)
    lines = ["time_s,key,size_bytes,duration_s,fail_attempts"]
    for index in range(files):
        group, position = index % groups, index // groups
        at = 50.0 * index / files
        lines.append(f"{at:.3f},landing/feed{group:04d}_20250915_{100000 + position:06d}.csv,200,1,0")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def replay(trace: Path, virtual: bool = False) -> tuple[float, float, int, dict[str, int], float]:
    """(wall s after the deploy, deploy s, requests, summary, CPU s of the whole demo)."""
    from landing_pipeline.emulator.demo import DemoOptions, run_demo

    cpu = time.process_time()
    result = run_demo(DemoOptions(stack="dev", engine="sleep", speedup=None if virtual else REPLAY_SPEEDUP,
                                  trace=trace, overrides=dict(REPLAY_OVERRIDES), timeout_s=3600,
                                  virtual_time=virtual))
    cpu = time.process_time() - cpu
    summary = result.report["summary"]
    if not result.quiet:
        sys.exit("the replay did not finish within its timeout")
    return summary["wall_s"], result.deploy_s, result.aws_requests, summary, cpu


def raw_sqs(messages: int) -> tuple[float, float]:
    """(messages per wall second, per CPU second) through moto SQS (send, receive, delete), single thread, same
    in-process moto: the baseline the demo and chaos benchmarks are a ratio of."""
    from landing_pipeline.emulator.aws import InProcessAWS

    with InProcessAWS("eu-west-1") as aws:
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName="baseline")["QueueUrl"]
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(messages):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
        done = 0
        while done < messages:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += len(batch)
        return messages / (time.perf_counter() - wall), messages / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="files in the replay trace (default 5000)")
    parser.add_argument("--skip-spark", action="store_true", help="skip the make-demo (Spark) figure")
    parser.add_argument("--skip-replay", action="store_true", help="skip the replay throughput figure")
    parser.add_argument("--virtual", action="store_true", help="replay on virtual time instead of speedup 20")
    args = parser.parse_args()
    print(f"bench_demo: {load()}")
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        if not args.skip_spark:
            wall = demo_wall(workdir)
            direct = direct_job_wall()
            verdict = "meets" if wall <= GOAL_DEMO_S else "misses"
            print(f"make demo (landing demo, built-in set, Spark): {wall:.1f} s wall "
                  f"({verdict} the {GOAL_DEMO_S:.0f} s goal)")
            print(f"  baseline, the job script alone on the same 6 files (Spark start + 6 runs): {direct:.1f} s")
            print(f"  ratio demo / job alone: {wall / direct:.2f}x")
        if not args.skip_replay:
            trace = workdir / "trace.csv"
            write_trace(trace, args.files)
            wall, deploy_s, requests, summary, cpu = replay(trace, args.virtual)
            rate = args.files / wall
            baseline, _ = raw_sqs(min(args.files, 5000))
            clock = "virtual time" if args.virtual else f"speedup {REPLAY_SPEEDUP:g}"
            print(f"replay, {args.files} files through the real handlers (sleep engine, {clock}, "
                  f"maxParallelGroups {REPLAY_OVERRIDES['maxParallelGroups']}): {rate:.1f} files/s "
                  f"({wall:.1f} s wall after a {deploy_s:.1f} s deploy; {summary['succeeded']} succeeded, "
                  f"{summary['dead']} dead, {summary['overlapping_runs']} overlaps, "
                  f"{summary['ordering_violations']} ordering violations)")
            print(f"  moto requests per file: {requests / args.files:.1f}; CPU {1000 * cpu / args.files:.0f} ms "
                  "per file (the whole demo, deploy included)")
            print(f"  baseline, raw moto SQS send+receive+delete of {min(args.files, 5000)} messages, one thread: "
                  f"{baseline:.0f} messages/s")
            print(f"  ratio files/s / raw SQS messages/s: {rate / baseline:.4f} (1 file = {baseline / rate:.0f} "
                  "raw SQS round trips of wall time)")


if __name__ == "__main__":
    main()
