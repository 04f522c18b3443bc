"""Chaos mode (emulator/chaos.py): the plan a seed draws, the invariant report of seeds run through the real
stack, and ``landing demo --chaos`` on the command line.

Each seed runs once (cached for the module) and is judged twice: ``test_seed_breaks_only_its_finding``
asserts that every invariant the seed's known finding does not explain holds *today* (a regression in
them fails at once), and ``test_seed_holds_every_invariant`` asserts all of them, as a strict expected
failure naming the finding of design-v2.md's table (F1-F10) for seeds today's runtime breaks, so the v2
core turns them into passes (an unexpected pass fails: remove the mark then).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from landing_pipeline.emulator import chaos
from landing_pipeline.emulator.chaos import ChaosReport
from landing_pipeline.emulator.faults import KINDS, PARAMETERS, parse_fault

FILES, GROUPS = 20, 4
"""The tests' draw: big enough for bursts, retries, redrives and a few faults, small enough for 20 seeds in
a few minutes."""

SEEDS = [*range(1, 24)]
"""Seeds 1-23 were drawn for v1 (where F1, F2, F3, F5 and F8 broke 22 of them, docs/emulator.md lists which); on
the v2 core every one must hold every invariant. More seeds are bench_chaos.py's (kept out of ``make test``, which
must stay well under 20 minutes)."""
OPEN: dict[int, str] = {}
"""Seeds that still fail on the v2 core, each with what is known; a strict expected failure so a fix shows.
(Seed 7 was one: a file started and failed at the instant the operator then redrove it and an earlier file,
and the earlier file's run at that instant was taken for one going at the start. The run log's sequence
numbers now order one instant: emulator/invariants.py.)"""

_reports: dict[int, ChaosReport] = {}


def report_for(seed: int) -> ChaosReport:
    if seed not in _reports:
        _reports[seed] = chaos.run(seed, files=FILES, groups=GROUPS)
    return _reports[seed]


def explain(report: ChaosReport) -> str:
    document = report.to_json()
    lines = [f"seed {report.seed}: {json.dumps(document['invariants'])} late={report.late} quiet={report.quiet}",
             f"settings {report.overrides}", *[f"fault {fault}" for fault in report.faults_drawn],
             f"fired {report.faults_fired}", *[f"operator {action}" for action in report.operator],
             *[f"problem {problem}" for problem in report.problems],
             *[f"{v['invariant']}: {v['why']}" for v in report.violations[:20]]]
    for group, timeline in report.timelines.items():
        lines += [f"group {group}:", *timeline[:80]]
    return "\n".join(lines)


# --- the plan -------------------------------------------------------------------------------------------
def test_the_same_seed_draws_the_same_plan() -> None:
    assert chaos.plan(7) == chaos.plan(7)
    assert chaos.plan(7, files=12, groups=3) == chaos.plan(7, files=12, groups=3)
    assert chaos.plan(7) != chaos.plan(8)


def test_a_plan_lands_the_files_and_groups_asked_for_named_by_the_stacks_rule() -> None:
    from landing_pipeline.emulator.deploy import read_stack
    from landing_pipeline.runtime.grouping import group_for_key

    spec = read_stack("dev").spec
    for seed in range(30):
        drawn = chaos.plan(seed, files=40, groups=6)
        assert len(drawn.arrivals) == 40
        names = [arrival.name for arrival in drawn.arrivals]
        assert len(set(names)) == 40, "a name landed twice"
        groups = {group_for_key(spec.key_prefix + name, spec) for name in names}
        assert groups <= {f"feed{k}_20250915" for k in range(6)}
        assert all(arrival.duration_s and arrival.duration_s > 0 for arrival in drawn.arrivals)


def test_bursts_land_within_one_second_into_one_group() -> None:
    drawn = chaos.plan(3, files=50, groups=5)
    by_second: dict[tuple[str, int], int] = {}
    for arrival in drawn.arrivals:
        key = (arrival.name.rsplit("_", 1)[0], int(arrival.at))
        by_second[key] = by_second.get(key, 0) + 1
    assert max(by_second.values()) >= 2, "no two files of a group landed in one second"


def test_faults_are_valid_and_name_drawn_files() -> None:
    kinds: set[str] = set()
    for seed in range(60):
        drawn = chaos.plan(seed)
        names = {arrival.name for arrival in drawn.arrivals}
        for text in drawn.faults:
            fault = parse_fault(text)  # raises on a malformed one
            kinds.add(fault.kind)
            if fault.kind not in ("gsi-lag", "crash-in", "slow-handler"):
                assert fault.glob in names, text
    assert kinds == set(KINDS), f"never drawn in 60 seeds: {sorted(set(KINDS) - kinds)}"
    assert {"crash-in", "slow-handler"} <= set(PARAMETERS)


def test_settings_retries_and_deaths_vary_with_the_seed() -> None:
    plans = [chaos.plan(seed) for seed in range(30)]
    assert {p.overrides["onFailure"] for p in plans} == {"continue", "block"}
    assert len({p.overrides["maxParallelGroups"] for p in plans}) >= 3
    assert len({p.overrides["maxAttempts"] for p in plans}) >= 2
    assert any(p.dying for p in plans)
    for p in plans:
        attempts = p.overrides["maxAttempts"]
        dying = set(p.dying)
        for arrival in p.arrivals:
            if arrival.name in dying:
                assert arrival.fail_attempts in (attempts, 2 * attempts)
            else:
                assert arrival.fail_attempts < attempts


def test_a_draw_with_no_file_is_refused() -> None:
    from landing_pipeline.runtime.errors import InputError

    with pytest.raises(InputError, match="at least one file"):
        chaos.plan(1, files=0)


# --- seeds through the real stack ------------------------------------------------------------------
def _marked(seed: int) -> Any:
    if seed in OPEN:
        return pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason=OPEN[seed]))
    return seed


@pytest.mark.slow
@pytest.mark.parametrize("seed", [_marked(seed) for seed in SEEDS])
def test_seed_holds_every_invariant(seed: int) -> None:
    report = report_for(seed)
    assert report.quiet and not report.problems, explain(report)
    assert not report.failed, explain(report)


def _fingerprint(seed: int) -> dict[str, Any]:
    """What a seed's run must repeat: its verdict, what fired, what the operator did, and the run log."""
    report, result = chaos.run_with_result(seed, files=FILES, groups=GROUPS)
    assert result.recorder is not None
    runs = sorted((run.key, run.attempt, round(run.start, 6), None if run.end is None else round(run.end, 6),
                   run.state) for run in result.recorder.snapshot_runs())
    return {"invariants": report.invariants, "quiet": report.quiet, "fired": report.faults_fired,
            "operator": report.operator, "runs": runs}


@pytest.mark.slow
def test_a_seed_runs_the_same_alone_and_after_another() -> None:
    """Nothing of one run leaks into the next in one process (module state, the deploy cache's replay, moto's
    backends, the clock): seed 8 (every group may run at once, so no two groups race for one freed slot at one
    instant) gives the same run log first, and after seed 3 ran in between. It once did not: the virtual
    clock's Unix time began at the wall clock's fraction of a second, so settle waits ended up to a second
    apart from one run to the next."""
    first = _fingerprint(8)
    report_for(3)
    assert _fingerprint(8) == first


# --- the command line ------------------------------------------------------------------------------
runner = CliRunner()


@pytest.mark.parametrize("args, needle", [
    (["--chaos", "1", "--trace", "t.csv"], "--trace cannot be combined with --chaos"),
    (["--chaos", "1", "--fault", "fail-run:*"], "--fault cannot be combined with --chaos"),
    (["--chaos", "1", "--design", "seed"], "--design cannot be combined with --chaos"),
    (["--chaos", "1", "--files", "./folder"], "with --chaos, --files is how many files to draw"),
    (["--chaos", "1", "--files", "0"], "at least 1"),
    (["--groups", "3"], "give --chaos SEED too"),
    (["--chaos", "1", "--engine", "docker"], "use sleep"),
])
def test_bad_chaos_combinations_exit_2(args: list[str], needle: str) -> None:
    from landing_pipeline.cli.main import app

    result = runner.invoke(app, ["demo", *args])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())


@pytest.mark.slow
def test_an_injected_violation_exits_1_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A seed's plan with a lost StartJobRun answer added and the SDK's retries put back on the start (v1's
    F1: boto3 starts a second run of the file): the report names the broken invariant and the command exits
    1. (v2 fences a second run of one token, so processed_twice stays 0 only if fencing works: here the
    retry is the SDK's, same token, and the report must still see two SUCCEEDED runs or a fenced one.)"""
    from landing_pipeline.cli.main import app

    original = chaos.plan

    def with_f1(seed: int, *, files: int = 50, groups: int = 5) -> chaos.ChaosPlan:
        drawn = original(seed, files=files, groups=groups)
        first = drawn.arrivals[0].name  # and boto3's retries back on StartJobRun, as v1 had them: F1
        arrivals = tuple(replace(arrival, fail_attempts=0) for arrival in drawn.arrivals)
        return chaos.ChaosPlan(drawn.seed, drawn.files, drawn.groups, arrivals,
                               (f"ambiguous-start:{first}",),
                               # one file a run, so the first file's start is a start of its own (a batch's
                               # StartJobRun names its head, which a burst landing in one second may not make it)
                               {**drawn.overrides, "maxParallelGroups": 4, "batchMaxFiles": 1}, ())

    monkeypatch.setattr(chaos, "plan", with_f1)
    from landing_pipeline.emulator.aws import InProcessAWS

    handler_client = InProcessAWS.handler_client

    def retrying(self: InProcessAWS, service: str, retries: Any = None) -> Any:
        return handler_client(self, service)  # the handlers' default retries, also for the start client

    monkeypatch.setattr(InProcessAWS, "handler_client", retrying)
    from landing_pipeline.emulator import fencing

    monkeypatch.setattr(fencing, "claim", lambda *args: True)  # and a job that does not fence: both runs work
    monkeypatch.setattr(fencing, "commit", lambda *args: True)
    out = tmp_path / "chaos.json"
    result = runner.invoke(app, ["demo", "--chaos", "5", "--files", "4", "--groups", "1", "--json", str(out)])
    assert result.exit_code == 1, result.output
    document = json.loads(out.read_text())
    assert document["failed"] and document["faults_fired"] == {"ambiguous-start": 1}
    assert document["invariants"]["processed_twice"] == 1, result.output
    assert "processed_twice" in result.output and "FAILED" in result.output
    group = next(iter(document["timelines"]))
    assert any("start" in line for line in document["timelines"][group])
