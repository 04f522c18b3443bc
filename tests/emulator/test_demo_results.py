"""What ``landing demo`` tells a new user (issue 9): exit codes, reasons, clean logs, output paths, the picture."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli.main import app
from landing_pipeline.emulator.timeline import gaps, render, title_for

runner = CliRunner()

HEADER = "order_id,customer_id,amount,order_ts\n"


def _folder(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(HEADER + "1,c1,10.5,2025-09-15T10:15:00\n")
    return folder


def test_a_demo_that_processed_nothing_exits_3_and_says_why(tmp_path: Path) -> None:
    files = _folder(tmp_path, "orders_20250915_101500.txt", "orders_20250915_103000.tsv")
    result = runner.invoke(app, ["demo", "--engine", "sleep", "--speedup", "600", "--files", str(files)])
    assert result.exit_code == 3, result.output
    assert "NOTHING WAS PROCESSED" in result.output
    assert "2 x key does not end with one of keySuffixes" in result.output
    assert "order held in every group" not in result.output


def test_ignored_files_carry_their_reason_in_the_json(tmp_path: Path) -> None:
    files = _folder(tmp_path, "orders_20250915_101500.csv", "orders_20250915_103000.txt")
    out = tmp_path / "demo.json"
    result = runner.invoke(app, ["demo", "--engine", "sleep", "--speedup", "600", "--files", str(files),
                                 "--json", str(out), "--fault", "fail-run:*101500*:1"])
    assert result.exit_code == 0, result.output  # one file went through: a success, the other is explained
    document = json.loads(out.read_text())
    by_name = {f["key"].rsplit("/", 1)[-1]: f for f in document["files"]}
    ignored = by_name["orders_20250915_103000.txt"]
    assert ignored["status"] == "IGNORED" and "keySuffixes" in ignored["reason"]
    done = by_name["orders_20250915_101500.csv"]
    assert done["status"] == "SUCCEEDED" and done["reason"] is None and done["file_id"]
    assert done["runs"][0]["state"] == "FAILED" and "injected failure" in done["runs"][0]["error"]
    assert document["summary"]["taken_in"] == 1 and document["summary"]["ignored"] == 1


@pytest.mark.parametrize("option", ["--json", "--timeline", "--logs", "--keep"])
def test_an_unwritable_output_path_fails_before_the_run(tmp_path: Path, option: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["demo", "--engine", "sleep", option, str(blocker / "out")])
    assert result.exit_code == 2, result.output
    assert option in result.output and "is a file" in result.output
    assert "resources deployed" not in result.output  # nothing ran


def test_the_logs_file_is_json_lines_with_the_metrics(tmp_path: Path) -> None:
    files = _folder(tmp_path, "orders_20250915_101500.csv")
    logs = tmp_path / "logs.jsonl"
    result = runner.invoke(app, ["demo", "--engine", "sleep", "--speedup", "600", "--files", str(files),
                                 "--logs", str(logs)])
    assert result.exit_code == 0, result.output
    lines = logs.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line: jq must read the file
    assert all(isinstance(record, dict) for record in records)
    metrics = [r for r in records if "_aws" in r]
    assert any("FilesReceived" in r for r in metrics) and any("FilesSucceeded" in r for r in metrics)
    assert not any("No application metrics" in line for line in lines)


def test_a_handler_that_counted_nothing_writes_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    from landing_pipeline.runtime import observability as obs

    @obs.instrumented
    def quiet(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}

    @obs.instrumented
    def counting(event: dict[str, Any], context: Any) -> dict[str, Any]:
        obs.count(obs.RECEIVED)
        return {}

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools' empty flush is a UserWarning: it must not happen
        quiet({}, None)
        counting({}, None)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "FilesReceived" in json.loads(lines[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"][0][
        "Name"]


def _file(key: str, group: str, status: str, runs: list[tuple[float, float, str]], landed: float) -> dict[str, Any]:
    return {"key": key, "group": group, "status": status, "landed": landed, "_landed_at": landed,
            "reason": "key is outside keyPrefix 'landing/'" if status == "IGNORED" else None,
            "runs": [{"run_id": f"jr_{key}_{i}", "start": s, "end": e, "state": st} for i, (s, e, st) in
                     enumerate(runs)]}


REPORT = {"files": [
    _file("landing/a_1.csv", "a", "SUCCEEDED", [(10, 100, "SUCCEEDED")], 5),
    _file("landing/b_1.csv", "b", "SUCCEEDED", [(12, 90, "SUCCEEDED")], 6),
    _file("landing/c_1.csv", "c", "SUCCEEDED", [(100, 150, "FAILED"), (180, 250, "SUCCEEDED")], 20),
    _file("landing/a_2.csv", "a", "SUCCEEDED", [(110, 111, "SUCCEEDED")], 30),
    _file("elsewhere/x.csv", "x", "IGNORED", [], 3),
], "summary": {"files": 5, "succeeded": 4, "ignored": 1, "overlapping_runs": 0, "max_parallel_groups": 2}}


def test_the_picture_counts_ignored_files_apart_from_succeeded() -> None:
    title = title_for(REPORT, design="held", stack="dev", engine="sleep")
    assert "4/4 succeeded, 1 ignored" in title


def test_every_blank_stretch_of_a_waiting_group_has_a_cause() -> None:
    found = gaps(REPORT, group_limit=2)
    assert ("c", 20, 90, "slot") in found  # c landed at 20, a and b held both slots until 90
    assert ("c", 90, 100, "dispatch") in found
    assert ("c", 150, 180, "backoff") in found  # after its failed first run
    assert ("a", 100, 110, "dispatch") in found


def test_the_picture_renders_ignored_files_and_tiny_bars(tmp_path: Path) -> None:
    path = render(REPORT, tmp_path / "t.png", title="t", group_limit=2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_group_table_names_each_groups_feed_when_the_stack_has_feeds() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from landing_pipeline.cli.demo_view import group_table

    def file(key: str, group: str, feed: str | None) -> dict[str, object]:
        return {"key": f"landing/{key}", "group": group, "feed": feed, "status": "SUCCEEDED", "attempts": 0,
                "runs": [{"start": 1.0, "end": 2.0, "state": "SUCCEEDED"}], "_reason": None}

    def shown(files: list[dict[str, object]]) -> str:
        console = Console(width=120, record=True, color_system=None)
        console.print(group_table(SimpleNamespace(report={"files": files})))  # type: ignore[arg-type]
        return console.export_text()

    with_feeds = shown([file("orders_1.csv", "orders", "orders"), file("refunds_1.csv", "refunds", None)])
    assert "feed orders" in with_feeds and "feed -" in with_feeds   # a group of no feed says so
    assert "feed" not in shown([file("orders_1.csv", "orders", None)])   # a stack without feeds: as before
