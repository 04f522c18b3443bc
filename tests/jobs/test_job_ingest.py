"""The ingest job on local Spark: good, partly and wholly malformed files, every format, lineage, reruns,
the manifest, and files it cannot read."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from landing_pipeline.runtime.jobs import ingest_job
from landing_pipeline.runtime.jobs.readers import UnsupportedFormat
from tests.jobs.helpers import JobRun, job_argv, read_parquet, write_text

pytestmark = pytest.mark.spark

SCHEMA = ["id:bigint", "customer:string", "amount:decimal(8,2)", "qty:int", "ordered:date", "created:timestamp",
          "paid:boolean", "ratio:double"]
HEADER = "id,customer,amount,qty,ordered,created,paid,ratio\n"
GOOD_CSV = HEADER + (
    "1,alice,10.50,2,2024-02-29,2024-02-29 10:15:00,true,0.5\n"
    '2,"bob, jr",7.25,1,2024-03-01,2024-03-01T10:00:00+02:00,no,-1e3\n'
    "3,carol,,,,,,\n"
)
PARTLY_BAD_CSV = HEADER + (
    "1,alice,10.50,2,2024-02-29,2024-02-29 10:15:00,true,0.5\n"
    "2,bob,abc,1,2024-03-01,2024-03-01 09:00:00,false,1\n"
    "3,carol,1.005,1,2024-03-01,2024-03-01 09:00:00,yes,2\n"
    "4,dave,1234567.00,1,2024-03-01,2024-03-01 09:00:00,no,2\n"
    "5,erin,5.00,3000000000,2024-03-01,2024-03-01 09:00:00,1,2\n"
    "6,frank,5.00,1,2024-02-30,2024-03-01 09:00:00,true,2\n"
    "7,grace,5.00,1,2024-03-01,yesterday,true,2\n"
    "8,heidi,5.00,1,2024-03-01,2024-03-01 09:00:00,maybe,2\n"
    "9,ivan,5.00,1\n"
    "10,judy,5.00,1.5,2024-03-01,2024-03-01 09:00:00,true,x\n"
    "11,ken,5.00,1,2024,2024-03-01 09:00:00,true,2\n"
    ",leo,6.00,1,2024-03-01,2024-03-01 09:00:00,true,2\n"
)
EXPECTED_REASONS = {
    "2": "amount: 'abc' is not a number (decimal(8,2))",
    "3": "amount: '1.005' has more than 2 decimal places",
    "4": "amount: '1234567.00' is out of range for decimal(8,2)",
    "5": "qty: '3000000000' is out of range for int",
    "6": "ordered: '2024-02-30' is not a valid date (yyyy-MM-dd)",
    "7": "created: 'yesterday' is not a valid timestamp",
    "8": "paid: 'maybe' is not a boolean",
    "9": "malformed CSV record: not 8 fields as in the header",
    "10": "qty: '1.5' is not a whole number (int); ratio: 'x' is not a number (double)",
    "11": "ordered: '2024' is not a valid date (yyyy-MM-dd)",
}


@pytest.fixture(scope="module")
def partly_bad(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    """One run of the partly malformed file, shared by the tests that look at its different outputs."""
    base = tmp_path_factory.mktemp("partly_bad")
    source = write_text(base / "in" / "orders_20250915_101500.csv", PARTLY_BAD_CSV)
    run = JobRun(base / "out", "f-partly")
    run.manifest = ingest_job.main(job_argv(source, run.root, run.file_id, schema=SCHEMA, run_id="jr_partly"),
                                   spark=spark)
    return run


def test_a_good_file_is_written_whole_with_its_types(run_job: Any, tmp_path: Path) -> None:
    run = run_job(write_text(tmp_path / "orders_1.csv", GOOD_CSV), schema=SCHEMA)
    rows = run.good()
    assert [row["id"] for row in rows] == [1, 2, 3]
    first, second, empty = rows
    assert first["amount"] == Decimal("10.50") and first["qty"] == 2 and first["paid"] is True
    assert first["ordered"] == dt.date(2024, 2, 29)  # a real leap day
    assert first["created"] == dt.datetime(2024, 2, 29, 10, 15)
    assert second["customer"] == "bob, jr" and second["ratio"] == -1000.0 and second["paid"] is False
    assert second["created"] == dt.datetime(2024, 3, 1, 8, 0)  # +02:00 stored as UTC
    assert {key: empty[key] for key in ("amount", "qty", "ordered", "created", "paid", "ratio")} == dict.fromkeys(
        ("amount", "qty", "ordered", "created", "paid", "ratio"))  # empty fields are nulls, not errors
    assert run.bad() == []
    assert (run.manifest["rows_in"], run.manifest["rows_out"], run.manifest["rows_quarantined"]) == (3, 3, 0)


def test_each_bad_row_is_quarantined_with_the_column_and_the_problem(partly_bad: JobRun) -> None:
    reasons = {row["id"]: row["_reason"] for row in partly_bad.bad()}
    assert set(reasons) == set(EXPECTED_REASONS)
    for row_id, expected in EXPECTED_REASONS.items():
        assert reasons[row_id].startswith(expected), (row_id, reasons[row_id])


def test_quarantined_rows_keep_every_value_as_it_was_written(partly_bad: JobRun) -> None:
    by_id = {row["id"]: row for row in partly_bad.bad()}
    assert by_id["6"]["ordered"] == "2024-02-30" and by_id["4"]["amount"] == "1234567.00"
    assert by_id["9"]["_raw_record"] == "9,ivan,5.00,1"
    assert by_id["2"]["_raw_record"] is None
    assert by_id["2"]["_source_key"] == "orders_20250915_101500.csv" and by_id["2"]["_run_id"] == "jr_partly"


def test_good_rows_of_a_partly_bad_file_are_written(partly_bad: JobRun) -> None:
    rows = partly_bad.good()
    assert [row["id"] for row in rows] == [1, None]  # a null id is fine without merge keys
    assert partly_bad.manifest["rows_in"] == 12
    assert partly_bad.manifest["rows_out"] == 2
    assert partly_bad.manifest["rows_quarantined"] == 10


def test_lineage_columns_name_the_file_version_group_and_run(partly_bad: JobRun) -> None:
    row = partly_bad.good()[0]
    assert row["_source_key"] == "orders_20250915_101500.csv"
    assert row["_source_version"] == "v1" and row["_group"] == "orders" and row["_run_id"] == "jr_partly"
    ingested = dt.datetime.fromisoformat(partly_bad.manifest["ingested_at"]).replace(tzinfo=None)
    assert row["_ingested_at"] == ingested
    assert abs(dt.datetime.now(dt.UTC).replace(tzinfo=None) - ingested) < dt.timedelta(minutes=10)


def test_the_manifest_says_what_the_run_did(partly_bad: JobRun) -> None:
    manifest = partly_bad.manifest
    assert json.loads(partly_bad.manifest_path.read_text()) == manifest
    assert manifest["status"] == "SUCCEEDED" and manifest["run_id"] == "jr_partly"
    assert manifest["file_id"] == "f-partly" and manifest["group"] == "orders" and manifest["attempt"] == 1
    assert manifest["source_version"] == "v1" and manifest["input_format"] == "csv"
    assert manifest["declared_schema"] == SCHEMA
    assert manifest["schema"] == [*SCHEMA, "_source_key:string", "_source_version:string", "_group:string",
                                  "_run_id:string", "_ingested_at:timestamp"]
    assert manifest["output_uri"].endswith("/processed/f-partly/")
    assert manifest["quarantine_uri"].endswith("/quarantine/f-partly/")
    assert manifest["snapshot"] is None and manifest["merge_keys"] == []
    assert len(manifest["quarantine_sample"]) == 5
    assert all(reason in EXPECTED_REASONS.values() or ":" in reason for reason in manifest["quarantine_sample"])


def test_a_file_with_only_malformed_rows_succeeds_with_nothing_out(run_job: Any, tmp_path: Path) -> None:
    text = HEADER + "x,a,b,c,d,e,f,g\n1,2\ny,a,1.00,1,2024-13-01,2024-01-01,true,1\n"
    run = run_job(write_text(tmp_path / "orders_bad.csv", text), schema=SCHEMA)
    assert run.manifest["rows_in"] == 3 and run.manifest["rows_out"] == 0 and run.manifest["rows_quarantined"] == 3
    assert run.good() == []
    written = pq.read_schema(sorted(run.output.glob("part-*.parquet"))[0])
    assert written.names[:2] == ["id", "customer"]  # an empty output still carries the schema
    assert len(run.bad()) == 3


def test_a_declared_column_missing_from_the_header_quarantines_every_row(run_job: Any, tmp_path: Path) -> None:
    run = run_job(write_text(tmp_path / "orders_2.csv", "id,customer\n1,a\n2,b\n"), schema=["id:int", "amount:double"])
    assert run.manifest["rows_out"] == 0 and run.manifest["missing_columns"] == ["amount"]
    assert {row["_reason"] for row in run.bad()} == {"column(s) missing from the file: amount"}


def test_without_a_schema_columns_pass_through_as_text(run_job: Any, tmp_path: Path) -> None:
    run = run_job(write_text(tmp_path / "orders_3.csv", "b,a\n2,x\n1,y\n3\n"))
    assert run.good() == [{"b": "2", "a": "x", **_lineage(run)}, {"b": "1", "a": "y", **_lineage(run)}]
    assert [row["_raw_record"] for row in run.bad()] == ["3"]
    assert run.manifest["declared_schema"] == [] and run.manifest["schema"][:2] == ["b:string", "a:string"]


def test_undeclared_columns_are_left_out_of_the_output_but_kept_in_quarantine(run_job: Any, tmp_path: Path) -> None:
    run = run_job(write_text(tmp_path / "orders_4.csv", "id,note\n1,keep\nz,lost?\n2\n"), schema=["id:int"])
    assert [set(row) - set(_lineage(run)) for row in run.good()] == [{"id"}]
    bad = run.bad()
    assert bad[0]["note"] == "lost?"
    # a record short of an undeclared field is still malformed (Spark would skip parsing that field)
    assert bad[1]["_raw_record"] == "2" and bad[1]["_reason"].startswith("malformed CSV record")
    assert run.manifest["ignored_columns"] == ["note"]


def _lineage(run: JobRun) -> dict[str, Any]:
    return {"_source_key": Path(run.manifest["input_uri"]).name, "_source_version": "v1", "_group": "orders",
            "_run_id": "jr_test",
            "_ingested_at": dt.datetime.fromisoformat(run.manifest["ingested_at"]).replace(tzinfo=None)}


# -- formats ------------------------------------------------------------------------------------------------

FORMAT_SCHEMA = ["id:bigint", "amount:decimal(8,2)", "ordered:date", "paid:boolean"]
FORMAT_ROWS: list[dict[str, Any]] = [
    {"id": 1, "amount": "10.50", "ordered": "2024-02-29", "paid": True},
    {"id": 2, "amount": "1.005", "ordered": "2024-03-01", "paid": False},
    {"id": 3, "amount": "7", "ordered": "2024-03-01", "paid": None},
]


def _csv_text() -> str:
    lines = ["id,amount,ordered,paid"]
    lines += [f"{r['id']},{r['amount']},{r['ordered']},{'' if r['paid'] is None else str(r['paid']).lower()}"
              for r in FORMAT_ROWS]
    return "\n".join(lines) + "\n"


def _json_text() -> str:
    lines = [json.dumps({**row, "amount": float(row["amount"]) if row["id"] != 2 else row["amount"]})
             for row in FORMAT_ROWS]
    return "\n".join([*lines, "{not json at all"]) + "\n"


def _write_format(folder: Path, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv.gz":
        path = folder / "orders.csv.gz"
        path.write_bytes(gzip.compress(_csv_text().encode()))
    elif fmt == "jsonl":
        path = write_text(folder / "orders.jsonl", _json_text())
    elif fmt == "json.gz":
        path = folder / "orders.json.gz"
        path.write_bytes(gzip.compress(_json_text().encode()))
    else:
        path = folder / "orders.parquet"
        table = pa.table({
            "id": pa.array([r["id"] for r in FORMAT_ROWS], pa.int64()),
            "amount": pa.array([Decimal(r["amount"]) for r in FORMAT_ROWS], pa.decimal128(10, 3)),
            "ordered": pa.array([dt.date.fromisoformat(r["ordered"]) for r in FORMAT_ROWS], pa.date32()),
            "paid": pa.array([r["paid"] for r in FORMAT_ROWS], pa.bool_()),
        })
        pq.write_table(table, path)
    return path


@pytest.mark.parametrize("fmt", ["csv.gz", "jsonl", "json.gz", "parquet"])
def test_every_input_format_gives_the_same_typed_rows(run_job: Any, tmp_path: Path, fmt: str) -> None:
    run = run_job(_write_format(tmp_path / "in", fmt), schema=FORMAT_SCHEMA)
    good = [{key: row[key] for key in ("id", "amount", "ordered", "paid")} for row in run.good()]
    assert good == [
        {"id": 1, "amount": Decimal("10.50"), "ordered": dt.date(2024, 2, 29), "paid": True},
        {"id": 3, "amount": Decimal("7.00"), "ordered": dt.date(2024, 3, 1), "paid": None},
    ]
    reasons = [row["_reason"] for row in run.bad()]
    assert reasons[0].startswith("amount: '1.005") and reasons[0].endswith("has more than 2 decimal places")
    if fmt.startswith("json"):
        assert reasons[1].startswith("malformed JSON line") and run.bad()[1]["_raw_record"] == "{not json at all"
    assert run.manifest["input_format"] == fmt.split(".")[0].replace("jsonl", "json")


def test_parquet_values_that_do_not_fit_their_declared_type_are_quarantined(run_job: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"qty": pa.array([1, 3_000_000_000], pa.int64())}), path)
    run = run_job(path, schema=["qty:int"])
    assert [row["qty"] for row in run.good()] == [1]
    assert run.bad()[0]["_reason"] == "qty: '3000000000' cannot be converted from bigint to int"


# -- reruns, odd names, unreadable files ---------------------------------------------------------------------

def test_a_rerun_replaces_only_its_own_output(run_job: Any, tmp_path: Path) -> None:
    first = write_text(tmp_path / "in" / "orders_a.csv", HEADER + "1,a,1.00,1,2024-01-01,,,\n2,b,bad,1,,,,\n")
    other = write_text(tmp_path / "in" / "orders_b.csv", HEADER + "9,z,9.00,9,2024-01-09,,,\n8,y,oops,,,,,\n")
    run_job(first, "f-a", schema=SCHEMA)
    b = run_job(other, "f-b", schema=SCHEMA)
    b_files = {p: p.stat().st_mtime_ns for p in [*b.output.iterdir(), *b.quarantine.iterdir()]}
    write_text(first, HEADER + "1,a,1.50,1,2024-01-01,,,\n3,c,3.00,3,2024-01-03,,,\n")  # fixed and re-uploaded
    rerun = run_job(first, "f-a", schema=SCHEMA, attempt=2, run_id="jr_second")
    assert [(row["id"], row["amount"], row["_run_id"]) for row in rerun.good()] == [
        (1, Decimal("1.50"), "jr_second"), (3, Decimal("3.00"), "jr_second")]
    assert rerun.bad() == [] and not rerun.quarantine.exists()  # the first attempt's rejected row is gone too
    assert rerun.manifest["attempt"] == 2
    assert {p: p.stat().st_mtime_ns for p in [*b.output.iterdir(), *b.quarantine.iterdir()]} == b_files
    assert [row["id"] for row in b.good()] == [9] and [row["id"] for row in b.bad()] == ["8"]


def test_keys_with_spaces_plus_unicode_and_brackets_are_read(run_job: Any, tmp_path: Path) -> None:
    path = write_text(tmp_path / "in dir" / "orders [eu] 1+1 ü.csv", "id\n1\n")
    run = run_job(path, schema=["id:int"])
    assert [row["id"] for row in run.good()] == [1]
    assert run.good()[0]["_source_key"] == "orders [eu] 1+1 ü.csv"
    encoded = run_job(Path(path.as_uri()), "f-encoded", schema=["id:int"])  # a percent-encoded file:// URI
    assert [row["id"] for row in encoded.good()] == [1]


def test_a_quoted_newline_is_quarantined_not_joined_and_a_byte_order_mark_is_dropped(run_job: Any,
                                                                                      tmp_path: Path) -> None:
    text = '\ufeffid,note,ratio\n1,"two\nlines",2\n2,ok,1e39\n3,fine,Infinity\n'
    run = run_job(write_text(tmp_path / "orders_5.csv", text), schema=["id:int", "note:string", "ratio:float"])
    assert [(row["id"], row["ratio"]) for row in run.good()] == [(3, float("inf"))]
    assert [row["_raw_record"] for row in run.bad()] == ['1,"two', 'lines",2', None]
    assert run.bad()[2]["_reason"] == "ratio: '1e39' is out of range for float"


def test_an_unreadable_file_fails_with_a_clear_message(run_job: Any, tmp_path: Path) -> None:
    garbage = write_text(tmp_path / "orders.parquet", "id,amount\n1,2\n")
    with pytest.raises(ingest_job.IngestError, match=r"cannot read .*orders\.parquet as parquet .*not a Parquet"):
        run_job(garbage)
    truncated = tmp_path / "orders.csv.gz"
    truncated.write_bytes(gzip.compress(b"id\n" + b"1\n" * 10_000)[:60])
    with pytest.raises(ingest_job.IngestError, match=r"cannot read .*orders\.csv\.gz as csv"):
        run_job(truncated)
    with pytest.raises(ingest_job.IngestError, match=r"^input deleted: .*missing\.csv was deleted before this run"):
        run_job(tmp_path / "missing.csv")
    assert not (tmp_path / "out" / "manifests").exists()  # no manifest: the run did not complete


def test_an_output_that_cannot_be_written_is_not_blamed_on_the_file(spark: Any, tmp_path: Path) -> None:
    source = write_text(tmp_path / "orders_6.csv", "id\n1\n")
    write_text(tmp_path / "out" / "processed", "a file where the output folder's parent should be")
    with pytest.raises(ingest_job.IngestError, match=r"cannot write file://.*/processed/f1/ while processing"):
        ingest_job.main(job_argv(source, tmp_path / "out", "f1", schema=["id:int"]), spark=spark)


def test_an_unsupported_extension_fails_before_reading(run_job: Any, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match=r"orders\.xlsx"):
        run_job(write_text(tmp_path / "orders.xlsx", "id\n1\n"))


def test_read_parquet_helper_sees_rows_in_part_order(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    pq.write_table(pa.table({"x": [3, 4]}), folder / "part-00001-a.snappy.parquet")
    pq.write_table(pa.table({"x": [1, 2]}), folder / "part-00000-a.snappy.parquet")
    assert [row["x"] for row in read_parquet(folder)] == [1, 2, 3, 4]
