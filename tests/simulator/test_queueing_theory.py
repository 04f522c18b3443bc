"""With no overheads, Poisson arrivals and exponential runs the model is a textbook queue.

Unique groups: M/M/c with c Glue slots, checked against Erlang C. One group: M/M/1, whatever the
slots. Each check replicates the run and asserts both that the estimate is precise (95 % confidence
half-width under 3 %) and that it lies within 3 % of the formula. Every decision on the way is
runtime.decide's, with settleSeconds 0 (a settle window shifts every wait by exactly its length: checked
too) and one file a run (``batchMaxFiles`` 1: a batch serves several customers at once, no textbook queue).
"""

from __future__ import annotations

import pytest

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.runner import replicate
from landing_pipeline.simulator.theory import erlang_c, mm1_wait_mean, mmc_wait_mean, textbook_case
from tests.simulator.conftest import scenario


def queue(rate: float, mean_s: float, groups: int | str, files: int) -> dict[str, object]:
    return {"duration_s": files / rate, "overheads": "none",
            "arrivals": [{"poisson": {"rate_per_s": rate, "groups": groups, "prefix": "q_"}}],
            "job": {"startup_s": 0, "duration": {"dist": "exponential", "mean_s": mean_s}}}


def test_erlang_c_formula_matches_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-4)
    assert mmc_wait_mean(0.5, 1.0, 1) == pytest.approx(mm1_wait_mean(0.5, 1.0))


@pytest.mark.slow
def test_unique_groups_form_an_mmc_queue(dev_spec: PipelineSpec) -> None:
    servers, mean_s, utilization = 2, 60.0, 0.5  # the dev stack's own two slots
    rate = utilization * servers / mean_s
    case = scenario(queue(rate, mean_s, "unique", 25_000))
    spec = dev_spec.replace(max_parallel_groups=servers, job_timeout_minutes=600, settle_seconds=0,
                            batch_max_files=1)
    theory = mmc_wait_mean(rate, 1 / mean_s, servers)
    assert textbook_case(case, servers) == pytest.approx(
        {"model": "M/M/2", "servers": 2, "arrival_rate_per_s": rate, "utilization": utilization, "settle_s": 0.0,
         "wait_mean_s": theory})
    wait = replicate(spec, case, 16, seed=100).metrics["wait_mean_s"]
    assert wait["ci95"] < 0.03 * theory, wait
    assert abs(wait["mean"] - theory) < 0.03 * theory, (wait, theory)


@pytest.mark.slow
def test_a_single_group_is_an_mm1_queue_whatever_the_slots(dev_spec: PipelineSpec) -> None:
    mean_s, utilization = 60.0, 0.5
    rate = utilization / mean_s
    spec = dev_spec.replace(max_parallel_groups=8, job_timeout_minutes=600, settle_seconds=0,
                            batch_max_files=1)
    result = replicate(spec, scenario(queue(rate, mean_s, 1, 20_000)), 10, seed=100).metrics
    theory = mm1_wait_mean(rate, 1 / mean_s)
    wait = result["wait_mean_s"]
    assert result["groups"]["mean"] == 1
    assert result["max_parallel_groups"]["mean"] == 1
    assert wait["ci95"] < 0.03 * theory, wait
    assert abs(wait["mean"] - theory) < 0.03 * theory, (wait, theory)


@pytest.mark.slow
def test_a_settle_window_adds_exactly_its_length_to_the_wait(dev_spec: PipelineSpec) -> None:
    servers, mean_s, utilization = 2, 60.0, 0.5
    rate = utilization * servers / mean_s
    case = scenario(queue(rate, mean_s, "unique", 20_000))
    spec = dev_spec.replace(max_parallel_groups=servers, job_timeout_minutes=600, settle_seconds=30,
                            batch_max_files=1)
    theory = textbook_case(case, servers, settle_s=30)
    assert theory is not None and theory["wait_mean_s"] == pytest.approx(30 + mmc_wait_mean(rate, 1 / mean_s, 2))
    wait = replicate(spec, case, 8, seed=200).metrics["wait_mean_s"]
    assert abs(wait["mean"] - theory["wait_mean_s"]) < 0.03 * (theory["wait_mean_s"] - 30) + wait["ci95"], wait
