"""``landing serve`` as a developer uses it: a server process, and clients that are other processes.

Each test starts ``landing serve`` on a free loopback port, drives it only from outside (the real ``aws``
command-line client, a boto3 script in its own interpreter, ``landing status --endpoint-url``), stops it with
SIGTERM and checks that no process it started outlives it and that its temporary folder is empty. Completion
is read from two independent records: the ledger (through ``landing status --json``) and the Glue engine's run
log the server prints (``SUCCEEDED <key>``), and the Parquet the job wrote is read back through the endpoint.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY = "Ctrl-C stops the server."
ORDERS = "order_id,customer_id,amount,order_ts\n"


def _aws() -> str:
    found = BIN / "aws" if (BIN / "aws").exists() else shutil.which("aws")
    assert found, "the aws command-line client is missing: pip install -e '.[dev]' (awscli is in the dev extra)"
    return str(found)


# -- processes ------------------------------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """Every process below ``root``: pid -> start time (so a reused pid is not mistaken for a leftover)."""
    table, found, todo = _proc_table(), {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


def alive(pid: int, started: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] == started and fields[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (IPv4 and IPv6), read from /proc/net."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@dataclass
class Server:
    process: subprocess.Popen[str]
    tmp: Path
    lines: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    seen: dict[int, str] = field(default_factory=dict)
    ready_s: float = 0.0

    @property
    def url(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def output(self) -> str:
        return "".join(self.lines)

    def note_children(self) -> None:
        self.seen.update(descendants(self.process.pid))


def _client_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without anything pointing at a real account or endpoint, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LANDING_"))}
    env.update({"AWS_CONFIG_FILE": str(tmp / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-creds"),
                "PYTHONIOENCODING": "utf-8", **(extra or {})})
    return env


@contextmanager
def serving(tmp_path: Path, *args: str, timeout_s: float = 240.0) -> Iterator[Server]:
    """``landing serve --port 0 ARGS`` in its own process (and its own TMPDIR), ready; stopped with SIGTERM."""
    tmp = tmp_path / "server-tmp"
    tmp.mkdir()
    env = _client_env(tmp_path, {"TMPDIR": str(tmp), "SPARK_LOCAL_DIRS": str(tmp)})
    command = [sys.executable, "-m", "landing_pipeline.cli.entry", "serve", "--port", "0",
               "--outputs", str(tmp_path / "outputs.json"), "--stop-after", "600", *args]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, encoding="utf-8", errors="replace")
    server = Server(process, tmp)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.lines.append(line)
            if line.startswith(READY):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(timeout_s) and process.poll() is None, f"landing serve never got ready:\n{server.output()}"
        server.ready_s = time.monotonic() - started
        for line in list(server.lines):
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                server.env[name] = shlex.split(value)[0]
        server.note_children()
        yield server
    finally:
        if process.poll() is None:
            server.note_children()
            if not signal_and_wait(process, signal.SIGTERM, timeout_s=120):
                raise AssertionError(f"no stop 120 s after SIGTERM:\n{server.output()}")


def signal_and_wait(process: subprocess.Popen[str], sig: int, *, timeout_s: float) -> bool:
    """Send ``sig`` and wait for the process to end; one that outlives ``timeout_s`` is killed, so a hung child
    never outlives the test, and the answer (False) lets the caller fail with what the child printed."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True


def assert_stopped_clean(server: Server) -> None:
    assert server.process.returncode == 0, server.output()
    assert "stopped:" in server.output(), server.output()
    left = {pid: cmdline(pid) for pid, started in server.seen.items() if alive(pid, started)}
    assert not left, f"processes landing serve started are still running: {left}"
    assert not list(server.tmp.iterdir()), f"left in its temporary folder: {list(server.tmp.iterdir())}"


# -- clients ----------------------------------------------------------------------------------------------
def run(command: list[str], env: dict[str, str], timeout: float = 120, cwd: Path | None = None) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          cwd=cwd or ROOT)
    assert done.returncode == 0, f"{shlex.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def landing_status(server: Server, tmp_path: Path) -> dict[str, Any]:
    """``landing status --endpoint-url URL --json``: the endpoint named by the flag, not by the environment."""
    env = _client_env(tmp_path, {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                                 "AWS_REGION": server.env["AWS_REGION"]})
    out = run([str(BIN / "landing"), "status", "--endpoint-url", server.url, "--outputs",
               str(tmp_path / "outputs.json"), "--json"], env)
    return json.loads(out)  # type: ignore[no-any-return]


def wait_until_finished(server: Server, tmp_path: Path, keys: set[str], timeout_s: float = 300) -> dict[str, Any]:
    """Poll ``landing status`` until every key is SUCCEEDED or DEAD in the ledger; key -> its row."""
    deadline = time.monotonic() + timeout_s
    rows: dict[str, Any] = {}
    while time.monotonic() < deadline:
        server.note_children()
        status = landing_status(server, tmp_path)
        rows = {f["key"]: f for g in status["groups"] for f in g["files"]}
        if keys <= set(rows) and all(rows[k]["status"] in ("SUCCEEDED", "DEAD") for k in keys):
            return rows
        time.sleep(1.0)
    raise AssertionError(f"not finished in {timeout_s} s: {rows}\n{server.output()}")


RUN_LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+) +(.+) attempt \d+")


def run_log(server: Server, state: str) -> list[str]:
    """Keys of the runs that ended in ``state``, one per run, from the Glue engine's run log the server prints
    (``HH:MM:SS SUCCEEDED <key> attempt N``)."""
    matches = (RUN_LINE.match(line) for line in list(server.lines))
    return [m.group(2).split(" (")[0] if state != "SUCCEEDED" else m.group(2)
            for m in matches if m and m.group(1) == state]


def run_log_succeeded(server: Server) -> set[str]:
    return set(run_log(server, "SUCCEEDED"))


def outputs(tmp_path: Path) -> dict[str, str]:
    return json.loads((tmp_path / "outputs.json").read_text())  # type: ignore[no-any-return]


# -- the tests --------------------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")
def test_aws_cli_lands_files_and_reads_the_parquet_back(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    files = {"orders_20250915_101500.csv": ["o-1,c-1,10.5,2025-09-15 10:01:00", "o-2,c-2,20.0,2025-09-15 10:02:00"],
             "orders_20250915_103000.csv": ["o-3,c-1,30.0,2025-09-15 10:20:00"],
             "customers_20250915_102000.csv": ["c-9,Ada,GB,2025-09-15 10:20:00"]}   # the customers feed's columns
    drop = tmp_path / "drop"
    drop.mkdir()
    for name, rows in files.items():
        header = "customer_id,name,country,updated_at\n" if name.startswith("customers") else ORDERS
        (drop / name).write_text(header + "\n".join(rows) + "\n")
    with serving(tmp_path, "--engine", "spark") as server:
        assert any("java" in cmdline(pid) for pid in server.seen), "no JVM seen: the leftover check would be empty"
        landing = outputs(tmp_path)["landing_bucket_name"]
        env = _client_env(tmp_path, server.env)  # the pasted environment block, as a developer would use it
        for name in files:
            run([_aws(), "s3", "cp", name, f"s3://{landing}/landing/"], env, cwd=drop)
        keys = {f"landing/{name}" for name in files}
        rows = wait_until_finished(server, tmp_path, keys)
        assert {k: rows[k]["status"] for k in keys} == dict.fromkeys(keys, "SUCCEEDED"), rows
        assert len({rows[k]["file_id"] for k in keys}) == 3
        output = outputs(tmp_path)["output_bucket_name"]
        first = rows["landing/orders_20250915_101500.csv"]["file_id"]
        listing = run([_aws(), "s3", "ls", "--recursive", f"s3://{output}/processed/"], env)
        parts = [line.split()[-1] for line in listing.splitlines() if first in line and line.endswith(".parquet")]
        assert parts, listing
        local = tmp_path / "part.parquet"
        run([_aws(), "s3", "cp", f"s3://{output}/{parts[0]}", str(local)], env)
        table = pq.read_table(local).to_pydict()
        assert sorted(table["order_id"]) == ["o-1", "o-2"]
        assert sorted(table["amount"]) == [10.5, 20.0]
        deadline = time.monotonic() + 30  # the run log line follows the ledger's record within a poll
        while not keys <= run_log_succeeded(server) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert keys <= run_log_succeeded(server), server.output()
        edit_the_script_then_redrive(server, tmp_path, env, drop)
    assert_stopped_clean(server)
    print(f"landing serve (spark) ready after {server.ready_s:.1f} s")


REFUSE_ALL = """

def main(argv, spark=None, **kwargs):  # appended by the test: this edit of the job refuses every file
    raise RuntimeError("edited script refuses every file")
"""


def edit_the_script_then_redrive(server: Server, tmp_path: Path, env: dict[str, str], drop: Path) -> None:
    """The developer's loop: put an edited job script where the Glue job reads it, land a file (it dies on the
    edit), put the script back, ``landing redrive`` through the endpoint: the file goes through."""
    output, landing = outputs(tmp_path)["output_bucket_name"], outputs(tmp_path)["landing_bucket_name"]
    script = f"s3://{output}/scripts/ingest_job.py"
    run([_aws(), "s3", "cp", script, str(tmp_path / "ingest_job.py")], env)
    original = (tmp_path / "ingest_job.py").read_text()
    (tmp_path / "edited.py").write_text(original + REFUSE_ALL)
    run([_aws(), "s3", "cp", str(tmp_path / "edited.py"), script], env)
    name = "orders_20250915_120000.csv"
    (drop / name).write_text(ORDERS + "o-7,c-7,7.0,2025-09-15 12:00:00\n")
    run([_aws(), "s3", "cp", name, f"s3://{landing}/landing/"], env, cwd=drop)
    key = f"landing/{name}"
    row = wait_until_finished(server, tmp_path, {key})[key]
    assert row["status"] == "DEAD" and "edited script refuses every file" in (row["reason"] or ""), row
    run([_aws(), "s3", "cp", str(tmp_path / "ingest_job.py"), script], env)
    redriven = run([str(BIN / "landing"), "redrive", "--endpoint-url", server.url, "--outputs",
                    str(tmp_path / "outputs.json"), "--group", row_group(server, tmp_path, key)],
                   _client_env(tmp_path, {k: v for k, v in env.items() if k != "AWS_ENDPOINT_URL"}))
    assert "1 file(s) redriven" in redriven, redriven
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        rows = {f["key"]: f for g in landing_status(server, tmp_path)["groups"] for f in g["files"]}
        if rows[key]["status"] == "SUCCEEDED":
            break
        time.sleep(1.0)
    assert rows[key]["status"] == "SUCCEEDED", f"{rows[key]}\n{server.output()}"


def row_group(server: Server, tmp_path: Path, key: str) -> str:
    return next(g["group"] for g in landing_status(server, tmp_path)["groups"] for f in g["files"] if f["key"] == key)


BOTO3_CLIENT = """
import json, sys, boto3
bucket, keys = sys.argv[1], json.loads(sys.argv[2])
s3 = boto3.client("s3")   # endpoint, credentials and region from the environment block
for key, body in keys.items():
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="landing/")["Contents"]]
bodies = {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys}
print(json.dumps({"listed": listed, "bodies": bodies}))
"""


def test_boto3_in_another_process_with_awkward_keys(tmp_path: Path) -> None:
    keys = {"landing/orders_20250916_090000.csv": ORDERS + "o-1,c-1,1.0,2025-09-16 09:00:00\n",
            "landing/daily report 20250916.csv": ORDERS + "o-2,c-2,2.0,2025-09-16 09:01:00\n",
            "landing/café ünïcode 😀 20250916.csv": ORDERS + "o-3,c-3,3.0,2025-09-16 09:02:00\n"}
    with serving(tmp_path, "--engine", "sleep") as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"0100007F"}, "the endpoint must listen on 127.0.0.1 only"
        with pytest.raises(urllib.error.HTTPError) as refused:  # a reset would delete the stack under the pipeline
            urllib.request.urlopen(urllib.request.Request(server.url + "/moto-api/reset", method="POST"), timeout=60)
        assert refused.value.code == 404
        landing = outputs(tmp_path)["landing_bucket_name"]
        env = _client_env(tmp_path, server.env)
        answer = json.loads(run([sys.executable, "-c", BOTO3_CLIENT, landing, json.dumps(keys)], env))
        assert set(keys) <= set(answer["listed"])
        assert answer["bodies"] == keys
        rows = wait_until_finished(server, tmp_path, set(keys))
        assert {k: rows[k]["status"] for k in keys} == dict.fromkeys(keys, "SUCCEEDED"), rows
        deadline = time.monotonic() + 30
        while not set(keys) <= run_log_succeeded(server) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert set(keys) <= run_log_succeeded(server), server.output()
        watch = subprocess.Popen([str(BIN / "landing"), "status", "--watch", "--interval", "0.5", "--outputs",
                                  str(tmp_path / "outputs.json")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, encoding="utf-8")
        seen: list[str] = []
        first_view = threading.Event()

        def read_watch() -> None:
            assert watch.stdout is not None
            for line in watch.stdout:
                seen.append(line)
                if line.startswith("dead-files queue"):  # the last line of one view
                    first_view.set()

        reader = threading.Thread(target=read_watch, daemon=True)
        reader.start()
        shown = first_view.wait(60)
        stopped = signal_and_wait(watch, signal.SIGINT, timeout_s=30)
        reader.join(timeout=10)
        text = "".join(seen)
        assert shown, f"no view of the groups within 60 s:\n{text}"
        assert stopped and watch.returncode == 0, \
            f"Ctrl-C did not end the watch within 30 s (exit {watch.returncode}):\n{text}"
        assert "orders_20250916" in text and "backlog 0, done 3" in text, text
    assert_stopped_clean(server)
    assert "ledger: SUCCEEDED 3" in server.output(), server.output()


def test_bad_input_is_refused_before_the_deploy(tmp_path: Path) -> None:
    env = _client_env(tmp_path)
    landing = [sys.executable, "-m", "landing_pipeline.cli.entry", "serve", "--engine", "sleep"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*landing, "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "in use" in done.stderr and "--port 0" in done.stderr, done.stderr
    done = subprocess.run([*landing, "--stack", "no-such-stack"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "no-such-stack" in done.stderr, done.stdout + done.stderr
    done = subprocess.run([*landing, "--fault", "no-such-fault:*"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "KIND" in done.stderr, done.stdout + done.stderr


def test_faults_in_a_running_server_and_a_redrive(tmp_path: Path) -> None:
    """``landing serve --fault``: the demo's faults hit the files clients land; the operator redrives the dead one
    through the endpoint. Runs are counted from the Glue engine's run log the server prints."""
    kept = tmp_path / "kept"
    with serving(tmp_path, "--engine", "sleep", "--fault", "fail-run:orders_*:3",
                 "--fault", "duplicate-event:customers_*", "--keep", str(kept)) as server:
        landing = outputs(tmp_path)["landing_bucket_name"]
        env = _client_env(tmp_path, server.env)
        keys = {"landing/orders_20250917_080000.csv": ORDERS + "o-1,c-1,1.0,2025-09-17 08:00:00\n",
                "landing/customers_20250917_080000.csv": ORDERS + "o-2,c-2,2.0,2025-09-17 08:00:00\n"}
        run([sys.executable, "-c", BOTO3_CLIENT, landing, json.dumps(keys)], env)
        rows = wait_until_finished(server, tmp_path, set(keys))
        dead, fine = "landing/orders_20250917_080000.csv", "landing/customers_20250917_080000.csv"
        assert rows[dead]["status"] == "DEAD" and "injected failure" in (rows[dead]["reason"] or ""), rows[dead]
        assert rows[fine]["status"] == "SUCCEEDED", rows[fine]
        redriven = run([str(BIN / "landing"), "redrive", "--outputs", str(tmp_path / "outputs.json")], env)
        assert "1 file(s) redriven" in redriven, redriven
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and dead not in run_log_succeeded(server):
            time.sleep(0.5)
        assert wait_until_finished(server, tmp_path, {dead})[dead]["status"] == "SUCCEEDED"
    assert_stopped_clean(server)
    assert "faults fired: duplicate-event 1, fail-run 3" in server.output(), server.output()
    assert (kept / "scripts" / "ingest_job.py").is_file(), "--keep copies the output bucket out on stop"
    assert run_log(server, "FAILED") == [dead] * 3, server.output()
    assert sorted(run_log(server, "SUCCEEDED")) == sorted(keys), \
        "each file succeeds once, the one whose event came twice too:\n" + server.output()
