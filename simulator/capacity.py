"""How many of each thing the stack allows at once, and how run time scales with the DPUs it buys.

Shared by the model, the stability check and the metrics, so all three use the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from landing_pipeline.runtime import contract
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.prices import DPU_PER_WORKER

if TYPE_CHECKING:
    from landing_pipeline.simulator.scenario import Scenario


def dpus(spec: PipelineSpec) -> float:
    return spec.worker_count * DPU_PER_WORKER.get(spec.worker_type, 1.0)


def dispatcher_concurrency(spec: PipelineSpec) -> int:
    """The dispatcher's event source mapping MaximumConcurrency, the rule the components deploy."""
    return contract.dispatcher_concurrency(spec.max_parallel_groups)


def glue_capacity(spec: PipelineSpec, scenario: Scenario) -> int:
    """Runs Glue lets be alive at once: the job's MaxConcurrentRuns within the account's quotas."""
    limits = scenario.limits
    return min(spec.glue_max_concurrent_runs, limits.job_concurrent_runs, limits.account_concurrent_runs)


def duration_scale(spec: PipelineSpec, reference_dpus: float, parallel_fraction: float) -> float:
    """Amdahl: the share ``parallel_fraction`` of a run shrinks in proportion to the DPUs given to it."""
    return (1.0 - parallel_fraction) + parallel_fraction * reference_dpus / dpus(spec)
