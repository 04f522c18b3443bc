"""The demo's picture draws a batch run as what it is: one Glue run, its files marked inside it (issue 12).

The report comes from the run log as the Glue engine records it (a batch run with the files its job went
through), through ``observe.per_file`` and ``report.build``, as ``landing demo --timeline`` builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from landing_pipeline.emulator import report as report_mod
from landing_pipeline.emulator.observe import FileInRun, RunObservation, Upload, per_file
from landing_pipeline.emulator.timeline import bars, draw, gaps, render

KEYS = [f"landing/g_{n}.csv" for n in (1, 2, 3)]


def _report() -> dict[str, Any]:
    """Group g: a batch run of 3 files (starts at 10, the job's start-up until 45; fails on the third file),
    then the third file alone; group h: one run of one file."""
    uploads = [(f"id{n}", Upload(key, None, "e", 10, 1.0 + n)) for n, key in enumerate(KEYS, 1)]
    uploads.append(("idh", Upload("landing/h_1.csv", None, "e", 10, 2.0)))
    batch = RunObservation("jr_batch", KEYS[0], "id1", "g", 1, start=10.0, end=330.0, state="FAILED",
                           message="boom", files=[
                               FileInRun(1, "id1", KEYS[0], 45.0, 135.0, "SUCCEEDED"),
                               FileInRun(2, "id2", KEYS[1], 136.0, 226.0, "SUCCEEDED"),
                               FileInRun(3, "id3", KEYS[2], 227.0, None)])
    alone = RunObservation("jr_alone", KEYS[2], "id3", "g", 2, start=400.0, end=525.0, state="SUCCEEDED")
    single = RunObservation("jr_h", "landing/h_1.csv", "idh", "h", 1, start=12.0, end=140.0, state="SUCCEEDED")
    return report_mod.build(uploads, {}, per_file([batch, alone, single]), {}, {}, design="seed",
                            group_of=lambda key: key.split("/")[1][0], now=600.0, wall_s=1.0)


def test_the_report_names_the_batch_run_of_each_file() -> None:
    by_key = {f["key"]: f for f in _report()["files"]}
    first = by_key[KEYS[0]]["runs"][0]
    assert first["batch"] == {"run_id": "jr_batch", "place": 1, "files": 3, "start": 10.0, "end": 330.0,
                              "state": "FAILED"}
    third = by_key[KEYS[2]]["runs"]
    assert third[0]["batch"]["place"] == 3 and third[0]["state"] == "FAILED" and third[0]["end"] == 330.0
    assert "batch" not in third[1] and "batch" not in by_key["landing/h_1.csv"]["runs"][0]


def test_a_batch_of_three_files_is_one_bar_with_three_marks() -> None:
    report = _report()
    laid = bars(report["files"], now=600.0)
    batch, alone = sorted(laid["g"], key=lambda bar: bar["start"])
    assert (batch["start"], batch["end"], batch["state"]) == (10.0, 330.0, "FAILED")   # the Glue run, start-up in
    assert [(m["place"], m["start"], m["state"]) for m in batch["marks"]] == [
        (1, 45.0, "SUCCEEDED"), (2, 136.0, "SUCCEEDED"), (3, 227.0, "FAILED")]
    assert batch["marks"][2]["end"] == 330.0   # the file it was on ends with the run
    assert batch["label"] == "1..3 (3 files)"
    assert alone["marks"] == [] and alone["start"] == 400.0 and len(laid["h"]) == 1


def test_the_drawing_has_one_run_bar_per_glue_run_and_a_mark_per_batch_file() -> None:
    import matplotlib.pyplot as plt

    fig = draw(_report(), title="t", group_limit=2)
    ax = fig.axes[0]
    runs = [p for p in ax.patches if p.get_gid() == "run"]
    strips = [p for p in ax.patches if p.get_gid() == "file"]
    ticks = [c for c in ax.collections if c.get_gid() == "tick"]
    assert len(runs) == 3   # the batch, the third file alone, h's run: not one bar per file of the batch
    batch_bar = next(p for p in runs if p.get_x() == 10.0)
    assert batch_bar.get_width() == 320.0
    assert sorted(p.get_x() for p in strips) == [45.0, 136.0, 227.0]
    assert all(p.get_x() >= 10.0 and p.get_x() + p.get_width() <= 330.0 for p in strips)
    assert sorted(float(c.get_segments()[0][0][0]) for c in ticks) == [45.0, 136.0, 227.0]
    alone_bar = next(p for p in runs if p.get_x() == 400.0)
    assert alone_bar.get_y() == batch_bar.get_y()   # g's two runs follow each other on one row
    assert [t.get_text() for t in ax.get_yticklabels()] == ["g", "h"]   # no overlap row: the files are one run
    plt.close(fig)


def test_no_gap_is_drawn_inside_a_batch_run() -> None:
    """The job's start-up before the first file and the time between files are the run, not the group waiting."""
    found = gaps(_report(), group_limit=2)
    assert not [gap for gap in found if gap[0] == "g" and gap[1] < 330.0 and gap[2] > 10.0]
    assert ("g", 330.0, 400.0, "backoff") in found   # the third file's failure, until it runs alone


def test_the_picture_with_a_batch_renders(tmp_path: Path) -> None:
    path = render(_report(), tmp_path / "batch.png", title="batch", group_limit=2)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
