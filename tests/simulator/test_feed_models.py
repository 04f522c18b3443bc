"""Per-feed run-time models (scenario ``feeds:``) and the per-feed report, checked against the run log."""

from __future__ import annotations

import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.errors import ScenarioError
from landing_pipeline.simulator.runner import simulate
from landing_pipeline.simulator.scenario import parse_scenario
from tests.simulator.conftest import ROOT, scenario

# One file per group (a new date in every name), so every run is a single file and pays its own start-up.
KEYS = ["orders_20250901", "customers_20250902", "other_20250903", "orders_20250904", "customers_20250905"]
MODELS = {"job": {"startup_s": 0, "duration": {"dist": "fixed", "seconds": 100}},
          "feeds": {"orders": {"startup_s": 5, "duration": {"dist": "fixed", "seconds": 10, "per_mb_s": 2}},
                    "customers": {"startup_s": 7}}}   # customers: job's 100 s duration, its own start-up


def _scenario(**extra: object) -> object:
    files = [{"at_s": 1000 * i, "key": f"landing/{stem}_101500.csv", "size_mb": 3} for i, stem in enumerate(KEYS)]
    return scenario({"duration_s": 6000, "overheads": "none", "arrivals": [{"files": files}], **extra})


def test_each_feed_runs_with_its_own_model_and_files_of_no_feed_with_job(dev_spec: PipelineSpec) -> None:
    result = simulate(dev_spec.replace(settle_seconds=0), _scenario(**MODELS), seed=3)
    w, runs = result.workload, result.model.runs
    took = {w.keys[int(f)].removeprefix("landing/").split("_")[0] + str(int(f)): float(e - s)
            for f, s, e in zip(runs.file, runs.start, runs.end, strict=True)}
    assert took == {"orders0": 5 + 10 + 2 * 3, "customers1": 7 + 100, "other2": 100,
                    "orders3": 21, "customers4": 107}


def test_without_feeds_every_file_follows_job(dev_spec: PipelineSpec) -> None:
    result = simulate(dev_spec.replace(settle_seconds=0), _scenario(job=MODELS["job"]), seed=3)
    assert [float(e - s) for s, e in zip(result.model.runs.start, result.model.runs.end, strict=True)] == [100] * 5


def test_the_per_feed_report_counts_and_times_each_feed(dev_spec: PipelineSpec) -> None:
    metrics = simulate(dev_spec.replace(settle_seconds=0), _scenario(**MODELS), seed=3).metrics
    rows = metrics["per_feed"]
    assert list(rows) == ["orders", "customers", "(no feed)"]
    assert [rows[n]["files"] for n in rows] == [2, 2, 1] and sum(r["succeeded"] for r in rows.values()) == 5
    assert rows["orders"]["latency_p95_s"] == pytest.approx(21.0)   # no overheads: landing to done = the run
    assert rows["customers"]["latency_p50_s"] == pytest.approx(107.0)
    dpus = 2   # dev: 2 x G.1X; every run is billed at least Glue's minute
    assert rows["orders"]["glue_dpu_hours"] == pytest.approx(2 * 60 * dpus / 3600)
    assert rows["customers"]["glue_dpu_hours"] == pytest.approx(2 * 107 * dpus / 3600)
    assert sum(r["glue_dpu_hours"] for r in rows.values()) == pytest.approx(metrics["glue_dpu_hours"])


def test_a_failure_rate_of_one_feed_fails_only_that_feed(dev_spec: PipelineSpec) -> None:
    models = {"job": MODELS["job"], "feeds": {"customers": {"failure_rate": 0.999}}}
    result = simulate(dev_spec.replace(settle_seconds=0, retry_backoff_base_s=1), _scenario(**models), seed=3)
    w, runs = result.workload, result.model.runs
    failed = {w.keys[int(f)].removeprefix("landing/").split("_")[0] for f, ok in zip(runs.file, runs.ok,
                                                                                    strict=True) if not ok}
    assert failed == {"customers"}
    assert result.metrics["per_feed"]["customers"]["dead"] == 2


def test_a_feed_the_stack_lacks_is_refused_naming_the_stacks_feeds(dev_spec: PipelineSpec) -> None:
    with pytest.raises(ScenarioError) as caught:
        simulate(dev_spec, _scenario(feeds={"order": {"startup_s": 5}, "orders": {"startup_s": 1}}))
    text = str(caught.value)
    assert "feeds.order: not a feed of the stack (its feeds: orders, customers)" in text
    assert "did you mean 'orders'?" in text and "feeds.orders" not in text


def test_feed_model_fields_are_checked_like_jobs() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"duration_s": 10, "arrivals": [{"burst": {"at_s": 0, "files": 1}}],
                        "feeds": {"orders": {"startup": 5, "failure_rate": 1.0}, "customers": 3}}, "<t>", ROOT)
    text = str(caught.value)
    assert "feeds.orders.startup = 5: not a job field" in text
    assert "feeds.orders.failure_rate = 1.0: every run would fail" in text
    assert "feeds.customers = 3: expected a mapping" in text


def test_the_example_scenario_runs_against_prod_and_is_refused_on_dev(dev_spec: PipelineSpec) -> None:
    from landing_pipeline.runtime.spec_loader import load_stack
    from landing_pipeline.simulator.scenario import load_scenario

    example = load_scenario(ROOT / "examples" / "feed-models.yaml")
    rows = simulate(load_stack("prod", ROOT), example, seed=7).metrics["per_feed"]
    assert rows["clickstream"]["latency_p50_s"] > rows["orders"]["latency_p50_s"]   # 150 MB files vs 5 MB
    with pytest.raises(ScenarioError, match=r"feeds\.payments: not a feed of the stack"):
        simulate(dev_spec, example)
