"""Per-feed run-time models: a scenario's ``feeds:`` gives a feed's files their own job model.

A stack with feeds runs one Glue job for several datasets, and a customers file does not take as long as an
orders file. The scenario names feeds (``feeds: {orders: {...}}``); the stack's ``feeds`` setting says which
files are whose, through the same ``runtime.feeds.feed_of_key`` the dispatcher uses, so a scenario replayed
against another stack follows that stack's matching. Files of no feed, and feeds the scenario does not name,
keep the scenario's ``job:``.
"""

from __future__ import annotations

from dataclasses import dataclass

from landing_pipeline.runtime.feeds import feed_of_key
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.errors import ScenarioError, ScenarioProblem, did_you_mean
from landing_pipeline.simulator.scenario import JobModel, Scenario
from landing_pipeline.simulator.workload import Workload

NO_FEED = "(no feed)"
"""The per-feed report's row of files no feed of the stack matches."""


def feed_model_problems(scenario: Scenario, spec: PipelineSpec) -> list[ScenarioProblem]:
    """A problem for every ``feeds.<name>`` of the scenario the stack has no feed of, listing the stack's."""
    known = [feed.name for feed in spec.feeds]
    shown = ", ".join(known) if known else "none: the stack sets no feeds"
    fix = (f"use one of the stack's feeds ({shown}){{}}, or drop the entry" if known
           else "simulate against a stack with feeds (e.g. --stack prod), or drop the scenario's feeds:")
    return [ScenarioProblem(f"feeds.{name}", None, f"not a feed of the stack (its feeds: {shown})",
                            fix.format(did_you_mean(name, known)) if known else fix)
            for name, _ in scenario.feed_jobs if name not in known]


def check_feed_models(scenario: Scenario, spec: PipelineSpec) -> None:
    """Raise ScenarioError (exit 2 in the CLI) when the scenario models a feed the stack does not have."""
    problems = feed_model_problems(scenario, spec)
    if problems:
        raise ScenarioError(scenario.source, problems)


def file_feeds(spec: PipelineSpec, workload: Workload) -> list[str]:
    """Each accepted file's feed name (``NO_FEED`` when none matches), as the dispatcher would name it."""
    if not spec.feeds:
        return [NO_FEED] * workload.files
    names = workload.group_names
    if all(feed.match_on == "group" for feed in spec.feeds):   # one answer per group, not per file
        of_group = [feed_of_key(spec.feeds, name, "") for name in names]
        feed_names = [NO_FEED if feed is None else feed.name for feed in of_group]
        return [feed_names[g] for g in workload.group]
    result = []
    for g, key in zip(workload.group, workload.keys, strict=True):
        feed = feed_of_key(spec.feeds, names[g], key)
        result.append(NO_FEED if feed is None else feed.name)
    return result


@dataclass(frozen=True)
class JobPlan:
    """The job models in play (index 0: the scenario's ``job``) and each file's index into them."""

    jobs: tuple[JobModel, ...]
    job_of: list[int]


def job_plan(scenario: Scenario, spec: PipelineSpec, workload: Workload) -> JobPlan | None:
    """Which model each file's runs follow; None when every file follows ``job`` (no ``feeds:``), so a
    scenario without per-feed models draws exactly what it drew before they existed."""
    if not scenario.feed_jobs:
        return None
    check_feed_models(scenario, spec)
    index = {name: i + 1 for i, (name, _) in enumerate(scenario.feed_jobs)}
    jobs = (scenario.job, *(job for _, job in scenario.feed_jobs))
    return JobPlan(jobs, [index.get(feed, 0) for feed in file_feeds(spec, workload)])
