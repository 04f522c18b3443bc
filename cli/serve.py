"""``landing serve``: the stack you would deploy, running on this machine behind a local AWS endpoint.

What ``landing demo`` runs inside one process, opened to your own tools: drop a file with the AWS CLI, read
the Parquet the job wrote, watch the ledger with ``landing status --watch``, rehearse a redrive. The
endpoint is emulated AWS (moto) on 127.0.0.1 only; Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import inspect
import json
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from landing_pipeline.runtime.errors import InputError, MissingExtraError

DEFAULT_PORT = 4580
"""Fixed by default, so a pasted environment block keeps working across restarts (LocalStack has 4566,
moto's own server 5000); ``--port 0`` takes any free port."""

EXAMPLES = """
Examples:

  landing serve                                  # stack dev on http://127.0.0.1:4580, the job on local Spark

  landing serve --engine sleep --port 0          # runs take their pipeline time, no JVM; any free port

  landing serve --fault fail-run:'orders_*':3    # files named orders_* die after 3 runs: rehearse a redrive

Then, in another shell (after pasting the environment block it prints):

  aws s3 cp orders_20250915_101500.csv s3://<landing bucket>/landing/
  landing status --watch
  aws s3 cp --recursive s3://<output bucket>/processed/ ./processed/
"""


def serve(
    stack: Annotated[str, typer.Option(help="Stack whose Pulumi.<stack>.yaml (over Pulumi.yaml's defaults) is "
                                            "deployed.")] = "dev",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (the only address served); 0: any free port.",
                                      min=0, max=65535)] = DEFAULT_PORT,
    engine: Annotated[str, typer.Option(
        help="spark: each Glue run executes the deployed job script on local PySpark (needs Java 17) and writes "
             "real Parquet. sleep: a run just takes 60 pipeline seconds and writes nothing: fast, no JVM.")] = "spark",
    speedup: Annotated[float | None, typer.Option(
        help="Pipeline seconds per wall second: settle waits, backoffs, holds and the reconciler's schedule run "
             "this much faster (times in the ledger are pipeline times). Default 10 with spark, 60 with sleep.",
        min=0.001)] = None,
    fault: Annotated[list[str] | None, typer.Option(
        help="KIND:GLOB[:N], repeatable, as in `landing demo` (an unknown KIND lists them all): applied to the "
             "files clients land, e.g. fail-run:'orders_*':3 to rehearse a redrive.")] = None,
    lenient: Annotated[bool, typer.Option(
        "--lenient", help="Turn the strict layer off: moto's kinder AWS. See docs/emulator.md.")] = False,
    logs: Annotated[Path | None, typer.Option(
        help="Write the functions' log lines and EMF metrics here (JSON lines), as CloudWatch would get them.",
        dir_okay=False)] = None,
    outputs: Annotated[Path | None, typer.Option(
        help="Write the stack's outputs here, as `pulumi stack output --json` would (landing status --outputs "
             "reads it).", dir_okay=False)] = None,
    keep: Annotated[Path | None, typer.Option(
        help="On stop, copy the output bucket (processed Parquet, quarantine, manifests, snapshots) into this "
             "folder before the emulated account goes.", file_okay=False)] = None,
    stop_after: Annotated[float | None, typer.Option(
        help="Stop by itself after this many wall seconds (scripts and tests; default: run until stopped).",
        min=1)] = None,
) -> None:
    """Serve the stack you would deploy on a local AWS endpoint, until Ctrl-C or SIGTERM.

    Deploys the Pulumi program onto emulated AWS (moto) bound to 127.0.0.1, runs the real handlers, the
    reconciler and the real Glue script continuously, and prints the endpoint, the buckets and an
    environment block (AWS_ENDPOINT_URL, dummy credentials, region, the LANDING_* names) for the AWS CLI,
    the SDKs and `landing status` / `redrive` / `skip`. Every file put into the landing bucket under its key
    prefix is processed as on AWS; the outputs are read back through the same endpoint. Nothing persists:
    the emulated account goes when the server stops (--keep copies the output bucket out first).

    Exit status: 0 after a stop; 2 on bad input (stack file, --fault, a port in use, unwritable paths),
    checked before the deploy.
    """
    from landing_pipeline.cli.demo import _check_paths
    from landing_pipeline.emulator.bridge import BridgeError
    from landing_pipeline.emulator.faults import parse_fault

    if engine not in ("spark", "sleep"):
        _bad(f"--engine {engine!r}: use spark or sleep")
    for text in fault or []:
        parse_fault(text)
    _check_paths(None, outputs, logs, keep)
    _require_server_extra()
    from landing_pipeline.emulator.serve_stack import ServedStack, ServeOptions
    from landing_pipeline.emulator.server import EndpointError

    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 160)
    options = ServeOptions(stack=stack, engine=engine, speedup=speedup, faults=list(fault or []),  # type: ignore[arg-type]
                           port=port, lenient=lenient, keep_dir=keep)
    served = ServedStack(options)  # reads the stack: a bad one exits 2 here, before anything starts
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log_file = options.function_log = logs.open("w", encoding="utf-8") if logs else None
    console.print(f"landing serve: deploying stack {escape(stack)} onto emulated AWS ({engine} engine, "
                  f"{served.speedup:g}x)...")
    sys.stdout.flush()
    try:
        try:
            served.__enter__()
        except EndpointError as exc:
            raise InputError(str(exc)) from None
        except BridgeError as exc:
            raise BridgeError(f"the stack could not be deployed to emulated AWS: {exc}") from None
        except KeyboardInterrupt:
            console.print("interrupted before the endpoint was ready; everything it had started is stopped")
            raise typer.Exit(130) from None
        try:
            if outputs is not None:
                outputs.write_text(json.dumps(served.resources(), indent=2) + "\n", encoding="utf-8")
            _announce(console, served, stack, engine, outputs)
            _follow(console, served, stop, stop_after)
        except KeyboardInterrupt:
            pass
        finally:
            console.print("stopping: closing the endpoint, abandoning a run in progress...")
            sys.stdout.flush()
            served.close()
        _farewell(console, served)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if log_file is not None:
            log_file.close()


def _require_server_extra() -> None:
    """moto's server mode needs flask and flask-cors (the ``local`` extra brings them)."""
    try:
        import flask  # noqa: F401
        import flask_cors  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingExtraError(str(exc.name), "local", "`landing serve`") from None


def _announce(console: Console, served: Any, stack: str, engine: str, outputs: Path | None) -> None:
    names = served.resources()
    prefix = served.deployment.spec.key_prefix
    env = served.environment()
    console.print(f"landing serve: stack {escape(stack)} ({env['AWS_REGION']}), {engine} engine, "
                  f"{served.speedup:g}x speedup; ready in {served.ready_s:.1f} s")
    rows = [("endpoint", served.url), ("landing bucket", f"s3://{names['landing_bucket_name']}/{prefix}"),
            ("output bucket", f"s3://{names['output_bucket_name']}/"), ("ledger table", names["ledger_table_name"])]
    for label, value in rows:
        console.print(f"  {label:15} {escape(value)}")
    if outputs is not None:
        console.print(f"  {'stack outputs':15} {escape(str(outputs))}")
    console.print("\nPaste into another shell (for the AWS CLI, the SDKs and `landing status`):")
    for name, value in env.items():
        console.print(f"export {name}={shlex.quote(value)}", soft_wrap=True)
    console.print(f"\nThen: aws s3 cp FILE s3://{escape(names['landing_bucket_name'])}/{escape(prefix)}   and   "
                  "landing status --watch\nCtrl-C stops the server.\n")
    sys.stdout.flush()


def _follow(console: Console, served: Any, stop: threading.Event, stop_after: float | None) -> None:
    """Print what happens (files landing, runs starting and ending) until stopped."""
    recorder = served.running.recorder
    started = time.monotonic()
    seen_uploads, seen_runs = 0, dict[str, str]()
    while not stop.wait(0.25):
        for upload in list(recorder.uploads[seen_uploads:]):
            console.print(f"{time.strftime('%H:%M:%S')} landed   {escape(upload.key)} ({upload.size} bytes)")
        seen_uploads = len(recorder.uploads)
        for run in list(recorder.runs.values()):
            state = run.state
            if seen_runs.get(run.run_id) == state:
                continue
            seen_runs[run.run_id] = state
            what = "run" if state == "RUNNING" else state
            detail = f" ({run.message[:120]})" if run.message and state != "SUCCEEDED" else ""
            console.print(f"{time.strftime('%H:%M:%S')} {what:9} {escape(run.key)} attempt {run.attempt}"
                          f"{escape(detail)}")
        sys.stdout.flush()
        if stop_after is not None and time.monotonic() - started > stop_after:
            console.print(f"--stop-after {stop_after:g} s reached")
            return


def _farewell(console: Console, served: Any) -> None:
    summary = served.summary
    if summary is None:
        console.print("stopped")
        return
    ended = ", ".join(f"{status} {count}" for status, count in sorted(summary.statuses.items())) or "none"
    fired = ", ".join(f"{kind} {count}" for kind, count in sorted(served.faults.fired().items()))
    console.print(f"stopped: {summary.landed} file(s) landed, {summary.runs} Glue run(s); ledger: {ended}"
                  + (f"; faults fired: {fired}" if fired else "")
                  + (f"; kept {summary.kept} file(s) in {served.options.keep_dir}" if summary.kept is not None
                     else ""))
    sys.stdout.flush()


def _bad(message: str) -> NoReturn:
    raise InputError(message)


def register(app: typer.Typer) -> None:
    app.command(name="serve", help=inspect.cleandoc(serve.__doc__ or "") + "\n" + EXAMPLES)(serve)
