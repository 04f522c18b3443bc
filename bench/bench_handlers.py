"""Handler cost: import time of each Lambda module vs bare `import boto3`, and per-message overhead on moto.

Run: .venv/bin/python bench/bench_handlers.py [--reps 9] [--messages 300]

1. Import time (what a cold start pays before the first line of the handler runs): each module is imported in a
   fresh interpreter, several times, and the median is compared with `import boto3` measured the same way in the
   same run, every module from its bytecode (``import_seconds``). The handler modules create boto3 clients
   lazily, so the table also shows "module + boto3", the import a cold start pays before its first AWS call.
   Goal: <= 1.3x boto3. ``--instructions`` counts instructions under valgrind instead (only that table):
   repeatable where wall time on a shared machine is not.
2. Throughput against in-process moto: the router (batches of 10 EventBridge events), the dispatcher
   (one wake-up per invocation, as its event source mapping sends them), a reconciler pass over every group
   and the completion handler (batches of 10 Glue events), called through their entry points, vs raw boto3
   SendMessage to a FIFO queue on the same moto in the same run. The AWS calls each
   handler makes are timed separately, so "handler overhead" is what the handler adds on top of them
   (parsing, grouping, ledger marshalling, Powertools logging, metrics and batch processing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODULES = [f"landing_pipeline.runtime.{name}" for name in ("router", "dispatcher", "completion", "reconciler")]
GOAL_RATIO = 1.3


def import_seconds(statements: list[str], reps: int, flags: tuple[str, ...] = ()) -> dict[str, float]:
    """Median wall time of each statement (imports) in fresh interpreters, excluding interpreter start. The
    statements take turns within each repetition, so a busy moment on a shared machine hits all of them.

    Every module is imported from bytecode, as deployed (the Lambda archive carries it): without ``-B`` in
    ``flags``, ``PYTHONDONTWRITEBYTECODE`` is dropped from the children's environment and each statement runs
    once before the timed runs, so a checkout whose ``__pycache__`` is missing or stale (a session that sets the
    variable) does not time the compiling of the runtime's sources, which only that checkout pays, against a
    boto3 read from site-packages' bytecode. With ``-B`` (the archive rows) the archive decides."""
    env = dict(os.environ)
    if "-B" not in flags:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for statement in statements:   # warm-up: writes whatever bytecode is missing, untimed
            subprocess.run([sys.executable, *flags, "-c", statement], capture_output=True, cwd=ROOT, env=env,
                           check=True)
    samples: dict[str, list[float]] = {statement: [] for statement in statements}
    for _ in range(reps):
        for statement in statements:
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            out = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                 env=env, check=True)
            samples[statement].append(float(out.stdout.strip()))
    return {statement: statistics.median(values) for statement, values in samples.items()}


def bench_imports(reps: int) -> list[dict[str, Any]]:
    statements = ["import boto3"] + [f"import {m}" for m in MODULES] + [f"import {m}, boto3" for m in MODULES]
    medians = import_seconds(statements, reps)
    baseline = medians["import boto3"]
    rows = [{"what": "import boto3 (baseline)", "ms": baseline * 1000, "ratio": 1.0}]
    for module in MODULES:
        for statement, label in ((f"import {module}", f"import {module}"),
                                 (f"import {module}, boto3", f"import {module} + boto3")):
            rows.append({"what": label, "ms": medians[statement] * 1000, "ratio": medians[statement] / baseline})
    return rows


def instruction_ratios() -> list[dict[str, Any]]:
    """(import boto3; import handler module) / (import boto3) in instructions, as docs/runtime.md reports them.

    Wall time on a shared machine moves by more than the changes worth measuring; valgrind's instruction count
    does not (``PYTHONHASHSEED=0`` fixes the one source of variation left). Each statement runs once first so
    every module is read from bytecode, as deployed; the interpreter's start (``python -c pass``) is
    subtracted. Needs ``valgrind`` on the PATH; about ten seconds a statement."""
    import re
    import shutil

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONHASHSEED": "0"}

    def count(statement: str) -> int:
        subprocess.run([sys.executable, "-c", statement], capture_output=True, cwd=ROOT, env=env, check=True)
        done = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                               "-c", statement], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    start = count("pass")
    boto3 = count("import boto3") - start
    rows = [{"what": "import boto3 (baseline)", "instructions": boto3, "ratio": 1.0}]
    for module in MODULES:
        n = count(f"import boto3; import {module}") - start
        rows.append({"what": f"import boto3; import {module}", "instructions": n, "ratio": n / boto3})
    return rows


def bench_deployed_imports(reps: int) -> list[dict[str, Any]]:
    """A cold start as on Lambda: the dispatcher imported from the extracted archive (``python -S -B``: no
    checkout, nothing written, as on the read-only /var/task), with the archive's bytecode and without it (the
    archive before it carried bytecode: every module compiled at each cold start). boto3 included, since the
    first invocation creates its clients. Baseline: ``import boto3`` the same way."""
    import site
    import tempfile
    import zipfile

    from landing_pipeline.components.code_archive import code_archive

    site_packages = site.getsitepackages()[0]
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as scratch:
        tasks = {}
        for label, keep_bytecode in (("bytecode", True), ("source", False)):
            task = Path(scratch) / label
            with zipfile.ZipFile(Path(scratch) / "code.zip", "w") as zipped:
                for name, asset in code_archive().assets.items():
                    if hasattr(asset, "text"):
                        zipped.writestr(name, asset.text)
                    elif keep_bytecode or not name.endswith(".pyc"):
                        zipped.write(asset.path, name)
            with zipfile.ZipFile(Path(scratch) / "code.zip") as zipped:
                zipped.extractall(task)
            tasks[label] = task
        prefix = "import sys; sys.path[:0] = [{task!r}, {site!r}]; "
        statements = {"import boto3 (baseline)": prefix.format(task=str(tasks["source"]), site=site_packages)
                      + "import boto3"}
        for label, task in tasks.items():
            statements[f"dispatcher + boto3, {label}"] = (prefix.format(task=str(task), site=site_packages)
                                                          + "import landing_pipeline.runtime.dispatcher, boto3")
        medians = import_seconds(list(statements.values()), reps, flags=("-S", "-B"))
    baseline = medians[statements["import boto3 (baseline)"]]
    return [{"what": what, "ms": medians[code] * 1000, "ratio": medians[code] / baseline}
            for what, code in statements.items()]


class CallTimer:
    """Seconds spent inside AWS API calls, via botocore's before/after-call events."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._started: list[float] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._before)
        client.meta.events.register("after-call", self._after)
        return client

    def _before(self, **_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop()
        self.calls += 1

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


def bench_throughput(messages: int) -> list[dict[str, Any]]:
    """Per file, each in its own group (the worst case for per-group work): the router (batches of 10), the
    dispatcher (one wake-up per invocation: load, decide, lease, StartJobRun, record the run), one reconciler
    pass over every group with its lease due for a look (the lost-event check: GetJobRun per group), and the
    completion handler (one SUCCEEDED event per run: run item, load, release). Raw SendMessage as baseline."""
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    from landing_pipeline.runtime import completion, dispatcher, reconciler, router
    from landing_pipeline.runtime import observability as obs
    from landing_pipeline.runtime.context import RuntimeContext, install
    from landing_pipeline.runtime.events import eventbridge_object_created
    from landing_pipeline.runtime.spec import PipelineSpec
    from tests.runtime.conftest import JOB, LANDING, create_resources, glue_event, sqs_event, sqs_event_from_messages

    rows = []
    devnull = open(os.devnull, "w")  # noqa: SIM115  (kept open for the whole run)
    obs.logger.registered_handler.stream = devnull  # type: ignore[attr-defined]  # format every line, print none
    from moto.moto_api import state_manager

    with mock_aws(), contextlib.redirect_stdout(devnull):
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 10_000})  # runs go on
        spec = PipelineSpec(key_prefix="landing/", max_parallel_groups=1000, settle_seconds=0)
        env = create_resources(spec, max_concurrent_runs=10_000)
        timer = CallTimer()
        clients = {name: timer.attach(boto3.client(name, region_name="us-east-1"))
                   for name in ("sqs", "s3", "dynamodb", "glue", "cloudwatch")}
        ctx = RuntimeContext.from_env(env, clients=clients)
        install(ctx)
        sqs = clients["sqs"]
        scratch = sqs.create_queue(QueueName="bench.fifo", Attributes={"FifoQueue": "true",
                                                                       "ContentBasedDeduplication": "true"})["QueueUrl"]
        mapping_sqs = boto3.client("sqs", region_name="us-east-1")  # the event source mapping's receives
        bodies = []
        for index in range(messages):
            key = f"landing/file{index:05d}_20250915_101500.csv"
            put = clients["s3"].put_object(Bucket=LANDING, Key=key, Body=b"a,b\n1,2\n")
            bodies.append(json.dumps(eventbridge_object_created(LANDING, key, size=8, etag=put["ETag"].strip('"'),
                                                                version_id=put.get("VersionId"))))
        totals = {name: [0.0, 0.0, 0] for name in ("raw", "router", "dispatcher", "reconciler", "completion")}
        for offset in range(0, messages, 10):
            batch = bodies[offset:offset + 10]
            timer.reset()
            start = time.perf_counter()
            for index in range(offset, offset + len(batch)):
                sqs.send_message(QueueUrl=scratch, MessageBody=json.dumps({"n": index}), MessageGroupId=f"g{index}",
                                 MessageDeduplicationId=f"d{index}")
            _add(totals["raw"], time.perf_counter() - start, timer)
            timer.reset()
            start = time.perf_counter()
            response = router.handler(sqs_event(batch), None)
            _add(totals["router"], time.perf_counter() - start, timer)
            assert response == {"batchItemFailures": []}, response
            for _ in batch:
                received = mapping_sqs.receive_message(QueueUrl=ctx.ordered_queue_url, MaxNumberOfMessages=1,
                                                       AttributeNames=["All"], MessageAttributeNames=["All"])
                timer.reset()
                start = time.perf_counter()
                response = dispatcher.handler(sqs_event_from_messages(received["Messages"]), None)
                _add(totals["dispatcher"], time.perf_counter() - start, timer)
                assert response == {"batchItemFailures": []}, response
                mapping_sqs.delete_message(QueueUrl=ctx.ordered_queue_url,
                                           ReceiptHandle=received["Messages"][0]["ReceiptHandle"])
        runs = [r["Id"] for page in clients["glue"].get_paginator("get_job_runs").paginate(JobName=JOB)
                for r in page["JobRuns"]]
        assert len(runs) == messages, f"{len(runs)} runs for {messages} files"
        later = RuntimeContext.from_env(env, clients=clients, clock=lambda: time.time() + 86_400.0)
        install(later)   # a day on: every lease is due for the reconciler's look at its run
        timer.reset()
        start = time.perf_counter()
        reconciler.reconcile(later)
        _add(totals["reconciler"], time.perf_counter() - start, timer)
        install(ctx)
        for offset in range(0, messages, 10):
            timer.reset()
            start = time.perf_counter()
            response = completion.handler(sqs_event([glue_event(JOB, run, "SUCCEEDED")
                                                     for run in runs[offset:offset + 10]]), None)
            _add(totals["completion"], time.perf_counter() - start, timer)
            assert response == {"batchItemFailures": []}, response
        labels = {"raw": "raw boto3 SendMessage (baseline)", "router": "router handler (batch of 10)",
                  "dispatcher": "dispatcher handler (batch of 1)", "reconciler": "reconciler pass (per group)",
                  "completion": "completion handler (batch of 10)"}
        for name, (seconds, in_aws, calls) in totals.items():
            rows.append({"what": labels[name], "per_s": messages / seconds, "ms": seconds / messages * 1000,
                         "aws_ms": in_aws / messages * 1000, "calls": calls / messages})
        install(None)
    return rows


def _add(total: list[Any], seconds: float, timer: CallTimer) -> None:
    total[0] += seconds
    total[1] += timer.seconds
    total[2] += timer.calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9, help="fresh interpreters per import measurement")
    parser.add_argument("--messages", type=int, default=300, help="messages per throughput measurement")
    parser.add_argument("--instructions", action="store_true",
                        help="only the import ratios, counted in instructions under valgrind (repeatable to 0.1%%)")
    args = parser.parse_args(argv)

    if args.instructions:
        print(f"import cost in instructions (valgrind callgrind; goal: <= {GOAL_RATIO}x boto3)")
        for row in instruction_ratios():
            flag = "" if row["ratio"] <= GOAL_RATIO else "  <-- above goal"
            print(f"  {row['what']:<56} {row['instructions'] / 1e6:8.1f} M {row['ratio']:7.3f}x{flag}")
        return

    print(f"import time, median of {args.reps} fresh interpreters taking turns "
          f"(goal: handler module <= {GOAL_RATIO}x boto3)")
    for row in bench_imports(args.reps):
        flag = "" if row["ratio"] <= GOAL_RATIO or "+ boto3" in row["what"] else "  <-- above goal"
        print(f"  {row['what']:<42} {row['ms']:8.1f} ms {row['ratio']:6.2f}x{flag}")

    print("\ncold start as deployed: from the extracted Lambda archive, nothing written (python -S -B)")
    for row in bench_deployed_imports(args.reps):
        print(f"  {row['what']:<42} {row['ms']:8.1f} ms {row['ratio']:6.2f}x")

    print(f"\nper-message cost against in-process moto ({args.messages} messages each, same run)")
    rows = bench_throughput(args.messages)
    baseline = rows[0]["per_s"]
    print(f"  {'':<36} {'msg/s':>8} {'ms/msg':>8} {'in AWS':>8} {'handler':>8} {'calls':>6} {'vs raw send':>12}")
    for row in rows:
        overhead = row["ms"] - row["aws_ms"]
        print(f"  {row['what']:<36} {row['per_s']:8.0f} {row['ms']:8.2f} {row['aws_ms']:8.2f} {overhead:8.2f} "
              f"{row['calls']:6.1f} {row['per_s'] / baseline:11.2f}x")
    print("\n  'in AWS': time inside boto3 calls to moto; 'handler': the rest (the handler's own overhead);"
          "\n  'calls': AWS API calls per message; 'vs raw send': throughput relative to one raw SendMessage.")


if __name__ == "__main__":
    main()
