"""Keys with glob characters, spaces and unicode land through the real handlers and the deployed job on local
Spark, through the emulator's S3 mirror and back, and succeed with folders that hold no backslash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.emulator.conftest import assert_nothing_lost, by_key, demo, explain

pytestmark = [pytest.mark.spark, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("java") is None, reason="local PySpark needs Java 17")]

HEADER = "order_id,customer_id,amount,order_ts\n"
FILES = {
    # one group, orders?[{eu}]_20250915: one file merges into the snapshot the other one published
    "orders?[{eu}]_20250915_101500.csv": HEADER + "o-1,c-1,10.00,2025-09-15 10:00:00\n"
                                                  "o-2,c-2,not-a-number,2025-09-15 10:01:00\n",
    "orders?[{eu}]_20250915_103000.csv": HEADER + "o-1,c-1,11.00,2025-09-15 10:20:00\n"
                                                  "o-3,c-3,30.00,2025-09-15 10:21:00\n",
    "orders ü [1].csv": HEADER + "o-9,c-9,9.00,2025-09-15 11:00:00\n",
}


def test_glob_characters_spaces_and_unicode_in_keys_succeed_end_to_end(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = demo(engine="spark", speedup=10.0, files=tmp_path)
    assert_nothing_lost(result)
    files = by_key(result)
    assert {name: files[name]["status"] for name in FILES} == dict.fromkeys(FILES, "SUCCEEDED"), explain(result)
    assert not [key for key in result.s3_objects if "\\" in key]
    manifests = {m["source_key"].rsplit("/", 1)[-1]: m for m in
                 (json.loads(body) for key, body in result.s3_objects.items() if key.startswith("manifests/"))}
    first = manifests["orders?[{eu}]_20250915_101500.csv"]
    assert (first["rows_out"], first["rows_quarantined"]) == (1, 1)
    assert first["input_uri"].endswith("/orders?[{eu}]_20250915_101500.csv")  # the key, not the local mirror
    # Both land at once: whichever was enqueued second merged into the snapshot the other one published.
    group = [name for name in FILES if name.startswith("orders?")]
    earlier, later = sorted(group, key=lambda name: files[name]["enqueue_seq"])
    assert manifests[earlier]["snapshot"]["version"] == 1
    assert manifests[later]["snapshot"]["version"] == 2 and manifests[later]["snapshot"]["rows"] == 2  # o-1, o-3
    assert manifests["orders ü [1].csv"]["rows_out"] == 1
