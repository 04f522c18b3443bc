"""``landing demo`` on Spark shows and keeps what happened to the data, and leaves no temporary folder (issue 9)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LANDING = Path(sys.executable).parent / "landing"
ROOT = Path(__file__).resolve().parents[2]
HEADER = "order_id,customer_id,amount,order_ts\n"

pytestmark = [pytest.mark.slow, pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")]


def _files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "orders_20250915_101500.csv").write_text(
        HEADER + "o-1,c1,10.5,2025-09-15T10:15:00\no-2,c2,not-a-number,2025-09-15T10:16:00\n")
    (folder / "orders_20250915_103000.csv").write_text(HEADER + "o-1,c1,99.0,2025-09-15T10:30:00\n")
    return folder


def _leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(("landing-spark-", "landing-glue-")))


def test_spark_demo_shows_rows_and_the_snapshot_and_keeps_the_output(tmp_path: Path) -> None:
    tmp, keep = tmp_path / "tmp", tmp_path / "kept"
    tmp.mkdir()
    done = subprocess.run([str(LANDING), "demo", "--files", str(_files(tmp_path)), "--keep", str(keep),
                           "--json", str(tmp_path / "demo.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"What happened to the data: kept in {keep}/" in out
    assert "amount: 'not-a-number' is not a number" in out  # the quarantined row's reason
    assert "Snapshot of orders_20250915: version 2, 1 row(s), merge keys order_id" in out
    assert "99.0" in out and "10.5" not in out.split("Snapshot of")[1]  # the later file's row won the merge
    files = {f["key"].rsplit("/", 1)[-1]: f for f in json.loads((tmp_path / "demo.json").read_text())["files"]}
    assert files["orders_20250915_101500.csv"]["rows"] == {"in": 2, "out": 1, "quarantined": 1}
    assert list(keep.glob("manifests/orders_20250915/*.json")) and list(keep.glob("processed/**/*.parquet"))
    assert (keep / "snapshots" / "orders" / "orders_20250915" / "_current.json").exists()  # under the feed's table
    assert list(keep.glob("quarantine/orders_20250915/**/*.parquet"))
    assert _leftovers(tmp) == []


def test_ctrl_c_leaves_no_temporary_folder(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    child = subprocess.Popen([str(LANDING), "demo", "--files", str(_files(tmp_path))], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 300
        while not any(p.name.startswith("landing-glue-") for p in tmp.iterdir()):  # the Spark executor is up
            assert child.poll() is None and time.monotonic() < deadline, "the demo never started its executor"
            time.sleep(0.2)
        time.sleep(3)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert _leftovers(tmp) == []
