"""What the fast model (``simulator.queue_model``) would get wrong, said before it runs, with the way out."""

from __future__ import annotations

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.capacity import glue_capacity
from landing_pipeline.simulator.scenario import Scenario


def unsupported(spec: PipelineSpec, scenario: Scenario) -> list[str]:
    """What the fast model would get wrong for this stack and scenario, each with its way out."""
    problems, limits = [], scenario.limits
    if scenario.faults.any:
        problems.append("faults: the fast model injects none (crashes, duplicate deliveries and lost Glue events are "
                        "the protocol's business): drop --fast to simulate them")
    if getattr(spec, "late_files", "run") == "park":
        problems.append("lateFiles: park is not modelled by --fast (late files run in their order there): "
                        "drop --fast")
    for name, label in (("account_dpus", "account_dpus"), ("start_job_run_per_s", "start_job_run_per_s"),
                        ("lambda_function_concurrency", "lambda_function_concurrency"),
                        ("fifo_calls_per_s", "fifo_calls_per_s")):
        if getattr(limits, name) is not None:
            problems.append(f"limits.{label}: the fast model has no such quota: drop --fast to see where it bites")
    if glue_capacity(spec, scenario) < spec.max_parallel_groups:
        problems.append(f"Glue allows {glue_capacity(spec, scenario)} concurrent runs (limits or the job's "
                        f"MaxConcurrentRuns), fewer than maxParallelGroups {spec.max_parallel_groups}: starts are "
                        "refused then, which only the protocol model plays out; raise the limit or drop --fast")
    return problems
