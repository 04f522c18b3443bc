"""``landing history export``: the join's rules on hand-made histories, the reads' paging, and the command's
files and refusals (fake clients: the round trip through the emulator is tests/emulator/test_history_roundtrip.py)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from landing_pipeline.cli import history
from landing_pipeline.cli.history_read import dpu_seconds, glue_run, read_runs
from landing_pipeline.cli.history_trace import GlueRun, export
from landing_pipeline.cli.main import app
from landing_pipeline.runtime.ledger_items import FileRecord, encode_value
from landing_pipeline.simulator.trace import read_trace

T0 = 1_757_930_400.0   # 2025-09-15T10:00:00Z
runner = CliRunner()


def record(fid: str, key: str, landed: float, *, status: str = "SUCCEEDED", by: str | None = None,
           finished: float | None = None, recorded: float | None = None, group: str = "orders_20250915") -> FileRecord:
    return FileRecord(file_id=fid, group=group, sort_key=f"f#{fid}", status=status, key=key, size=1000,
                      landed_at=T0 + landed, recorded_at=T0 + (landed if recorded is None else recorded),
                      finished_at=None if finished is None else T0 + finished, processed_by=by)


def run(run_id: str, files: tuple[str, ...], start: float, end: float, state: str = "SUCCEEDED",
        execution: float | None = None, dpu: float | None = None) -> GlueRun:
    return GlueRun(run_id, state, T0 + start, T0 + end, execution, dpu, files, feed="orders")


def by_key(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(row["key"]): row for row in rows}


def test_a_batch_is_split_by_its_commits_and_fails_on_the_file_it_stopped_on() -> None:
    """Run 1 (a, b, c, d) starts its job 10 s after StartedOn (ExecutionTime 60 of 70), commits a and b, then
    fails on c; d was never begun. Run 2 (c, d) succeeds."""
    files = [record("a", "k/a.csv", 0, by="r1", finished=50), record("b", "k/b.csv", 1, by="r1", finished=70),
             record("c", "k/c.csv", 2, by="r2", finished=150), record("d", "k/d.csv", 3, by="r2", finished=160)]
    runs = [run("r1", ("a", "b", "c", "d"), 30, 100, "FAILED", execution=60),
            run("r2", ("c", "d"), 120, 160, execution=40, dpu=80)]
    rows = by_key(export(files, runs).trace)
    assert [rows[k]["duration_s"] for k in ("k/a.csv", "k/b.csv", "k/c.csv", "k/d.csv")] == [10, 20, 30, 10]
    assert [rows[k]["fail_attempts"] for k in ("k/a.csv", "k/b.csv", "k/c.csv", "k/d.csv")] == [0, 0, 1, 0]
    details = by_key(export(files, runs).details)
    assert details["k/c.csv"]["batch_position"] == "1/2" and details["k/c.csv"]["dpu_seconds"] == 60
    assert details["k/c.csv"]["failed_runs"] == 1 and details["k/d.csv"]["failed_runs"] == 0


def test_one_file_takes_glue_execution_time_without_the_workers_start_up() -> None:
    files = [record("a", "k/a.csv", 0, by="r1", finished=140)]
    late_failure = run("r2", ("a",), 300, 310, "FAILED", execution=10)   # a stray run after the commit
    (row,) = export(files, [run("r1", ("a",), 30, 140, execution=95), late_failure]).trace
    assert row["duration_s"] == 95   # StartedOn to CompletedOn is 110: 15 s were Glue starting workers
    assert row["fail_attempts"] == 0


def test_time_is_counted_from_the_first_landing_in_the_window_and_late_events_are_kept() -> None:
    files = [record("a", "k/a.csv", 0, by="r1", finished=40), record("b", "k/b.csv", 100, by="r2", finished=300),
             record("c", "k/c.csv", 160, recorded=161.5, by="r3", finished=400),
             record("d", "k/d.csv", 170, recorded=290, by="r3", finished=420)]
    runs = [run("r1", ("a",), 30, 40, execution=10), run("r2", ("b",), 200, 300, execution=100),
            run("r3", ("c", "d"), 300, 420, execution=120)]
    exported = export(files, runs, since=T0 + 50, until=T0 + 200)
    assert exported.start == T0 + 100 and exported.files_outside == 1
    rows = by_key(exported.trace)
    assert list(rows) == ["k/b.csv", "k/c.csv", "k/d.csv"]
    assert [rows[k]["time_s"] for k in rows] == [0, 60, 70]
    assert rows["k/c.csv"]["event_delay_s"] == "" and rows["k/d.csv"]["event_delay_s"] == 120


def test_a_dead_file_keeps_all_its_failures_and_its_last_run_time() -> None:
    files = [record("a", "k/a.csv", 0, status="DEAD")]
    runs = [run("r1", ("a",), 30, 90, "FAILED", execution=60), run("r2", ("a",), 120, 170, "FAILED", execution=50)]
    (row,) = export(files, runs).trace
    assert row["fail_attempts"] == 2 and row["duration_s"] == 50


def started(offset: float) -> datetime:
    return datetime.fromtimestamp(T0 + offset, UTC)


class FakeGlue:
    """GetJobRuns newest first, two runs a page."""

    def __init__(self, runs: list[dict[str, Any]]):
        self.runs, self.calls = sorted(runs, key=lambda r: r["StartedOn"], reverse=True), 0

    def get_job_runs(self, JobName: str, NextToken: str | None = None) -> dict[str, Any]:
        self.calls += 1
        at = int(NextToken or 0)
        page: dict[str, Any] = {"JobRuns": self.runs[at:at + 2]}
        if at + 2 < len(self.runs):
            page["NextToken"] = str(at + 2)
        return page


def raw_run(run_id: str, offset: float, arguments: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"Id": run_id, "JobRunState": "SUCCEEDED", "StartedOn": started(offset),
            "CompletedOn": started(offset + 60), "ExecutionTime": 50, "Arguments": arguments, **extra}


def test_runs_are_paged_until_a_page_started_before_since_and_foreign_runs_left_out() -> None:
    glue = FakeGlue([raw_run(f"r{i}", i * 100.0, {"--file_id": f"f{i}"}) for i in range(6)]
                    + [raw_run("manual", 550.0, {"--day": "x"})])
    runs = read_runs(glue, None, "job", since=T0 + 350)
    assert glue.calls == 2   # pages [manual, r5], [r4, r3]: r3 started before since, so no third page
    assert [r.run_id for r in runs] == ["r3", "r4", "r5"]
    assert len(read_runs(FakeGlue(glue.runs), None, "job")) == 6


def test_batch_files_come_from_the_inline_list_or_the_batch_object() -> None:
    entries = [{"file_id": "a"}, {"file_id": "b"}]

    class S3:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            assert (Bucket, Key) == ("out", "runs/g/t.batch.json")
            return {"Body": io.BytesIO(json.dumps({"files": [*entries, {"file_id": "c"}]}).encode())}

    inline = glue_run(raw_run("r", 0, {"--file_id": "a", "--batch": json.dumps(entries), "--feed": "orders"}), None)
    assert inline is not None and inline.files == ("a", "b") and inline.feed == "orders"
    stored = glue_run(raw_run("r", 0, {"--file_id": "a", "--batch_uri": "s3://out/runs/g/t.batch.json"}), S3())
    assert stored is not None and stored.files == ("a", "b", "c")


def test_dpu_seconds_from_glue_else_capacity_else_workers() -> None:
    assert dpu_seconds({"DPUSeconds": 42.5, "ExecutionTime": 100, "MaxCapacity": 2}) == 42.5
    assert dpu_seconds({"ExecutionTime": 100, "MaxCapacity": 2.0}) == 200
    assert dpu_seconds({"ExecutionTime": 100, "NumberOfWorkers": 2, "WorkerType": "G.2X"}) == 400
    assert dpu_seconds({"ExecutionTime": 100}) is None


class FakeDynamo:
    def __init__(self, records: list[FileRecord]):
        self.items = [{"pk": {"S": "id#" + r.file_id}, "sk": {"S": "#file"},
                       **{k: v for k, v in ((k, encode_value(v)) for k, v in r.as_dict().items()) if v is not None}}
                      for r in records]

    def scan(self, **request: Any) -> dict[str, Any]:
        assert request["ConsistentRead"] is True
        at = int((request.get("ExclusiveStartKey") or {}).get("at", 0))
        page: dict[str, Any] = {"Items": self.items[at:at + 1]}
        if at + 1 < len(self.items):
            page["LastEvaluatedKey"] = {"at": at + 1}
        return page


def fake_clients(records: list[FileRecord], runs: list[dict[str, Any]]) -> Any:
    services = {"dynamodb": FakeDynamo(records), "glue": FakeGlue(runs), "s3": None}
    return lambda service: services[service]


def test_the_command_writes_a_trace_the_simulator_reads_and_details_beside_it(tmp_path: Path,
                                                                               monkeypatch: Any) -> None:
    records = [record("a", "landing/orders_20250915_101500.csv", 0, by="r1", finished=90),
               record("b", "landing/orders_20250915_101600.csv", 5, by="r2", finished=200)]
    runs = [raw_run("r1", 30, {"--file_id": "a", "--feed": "orders"}, MaxCapacity=2.0),
            raw_run("r2", 100, {"--file_id": "b"}, JobRunState="FAILED"),
            raw_run("r3", 140, {"--file_id": "b"})]
    runs[1]["JobRunState"] = "FAILED"
    monkeypatch.setattr(history, "_clients", lambda endpoint, region: fake_clients(records, runs))
    out = tmp_path / "day.csv"
    result = runner.invoke(app, ["history", "export", "-o", str(out), "--table", "t", "--job", "j"])
    assert result.exit_code == 0, result.output
    assert "2 file(s) in 1 group(s), 3 Glue run(s)" in result.output
    assert "time_s 0 is 2025-09-15T10:00:00.000Z" in result.output
    rows = read_trace(out)
    assert [(r.time_s, r.duration_s, r.fail_attempts) for r in rows] == [(0.0, 50.0, 0), (5.0, 50.0, 1)]
    details = (tmp_path / "day.details.csv").read_text().splitlines()
    assert details[0].startswith("time_s,key,file_id,group,feed,state") and ",orders,SUCCEEDED," in details[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "2h", "--until", "3h"], "--since 2h"),
    (["--since", "yesterday"], "--since 'yesterday' is not a time"),
    (["--until", "2025-13-01"], "--until '2025-13-01' is not a time"),
])
def test_bad_windows_are_refused_naming_the_option(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["history", "export", "-o", str(tmp_path / "x.csv"), "--table", "t", "--job", "j",
                                 *args])
    assert result.exit_code == 2 and message in result.output and "Fix:" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_an_empty_window_says_when_the_ledger_s_files_landed(tmp_path: Path, monkeypatch: Any) -> None:
    records = [record("a", "landing/orders_20250915_101500.csv", 0, by="r1", finished=90)]
    monkeypatch.setattr(history, "_clients", lambda endpoint, region: fake_clients(records, []))
    result = runner.invoke(app, ["history", "export", "-o", str(tmp_path / "x.csv"), "--table", "t", "--job", "j",
                                 "--since", "2025-09-16"])
    assert result.exit_code == 2
    assert "landed from 2025-09-15T10:00:00.000Z" in result.output and "widen --since" in result.output


def test_a_missing_job_name_names_the_flag(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("LANDING_JOB_NAME", raising=False)
    result = runner.invoke(app, ["history", "export", "-o", str(tmp_path / "x.csv"), "--table", "t"])
    assert result.exit_code == 2 and "missing --job (stack output job_name)" in result.output


def test_an_output_that_cannot_be_written_is_refused_before_any_read(tmp_path: Path, monkeypatch: Any) -> None:
    def no_reads(endpoint: Any, region: Any) -> Any:
        raise AssertionError("read before checking -o")

    monkeypatch.setattr(history, "_clients", no_reads)
    result = runner.invoke(app, ["history", "export", "-o", str(tmp_path), "--table", "t", "--job", "j"])
    assert result.exit_code == 2 and f"-o {tmp_path}: not a file this user can write" in result.output
