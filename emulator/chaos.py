"""Chaos mode (``landing demo --chaos SEED``): a workload and a fault schedule drawn from one seed, run
through the real stack, judged by ``invariants`` from what the emulator saw (never from the ledger).

The seed alone decides everything that is drawn: which files land when (bursts into few groups, files of one
group landing within a second of each other), which runs fail and how often (retries; a few files die and
are redriven by the operator after the first drain, through ``landing redrive``'s own code), which faults
fire on which files with which parameters, and the stack settings worth varying (``onFailure``,
``maxParallelGroups``, ``maxAttempts``). What the run then does still depends on thread timing, which is why
the report carries the timeline of any group where an invariant failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.emulator.workload import Arrival


@dataclass(frozen=True)
class ChaosPlan:
    """Everything one seed draws: the same seed gives an equal plan, always."""

    seed: int
    files: int
    groups: int
    arrivals: tuple[Arrival, ...]
    faults: tuple[str, ...]
    overrides: dict[str, Any] = field(default_factory=dict)
    dying: tuple[str, ...] = ()
    """Names of files whose runs all fail until the operator redrives them (they go DEAD first)."""


@dataclass
class ChaosReport:
    """One chaos run: the invariants (all must be 0), what was drawn, and what it cost."""

    seed: int
    files: int
    groups: int
    invariants: dict[str, int]
    late: int
    faults_drawn: list[str]
    faults_fired: dict[str, int]
    overrides: dict[str, Any]
    quiet: bool
    wall_s: float
    cpu_s: float
    fenced_runs: int = 0
    operator: list[str] = field(default_factory=list)
    """What the operator did after the first drain (redrives), with the pipeline time."""
    violations: list[dict[str, Any]] = field(default_factory=list)
    """One entry per violation: the invariant, the group, the files and runs involved, why."""
    timelines: dict[str, list[str]] = field(default_factory=dict)
    """Group -> its timeline (landings, hearings, runs, redrives in time order) for each group with a violation."""
    aws_requests: int = 0

    @property
    def failed(self) -> bool:
        """An invariant failed, or the pipeline never went quiet (then something is stuck: ``lost`` says what)."""
        return not self.quiet or any(self.invariants.values())

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "files": self.files, "groups": self.groups, "failed": self.failed,
                "quiet": self.quiet, "invariants": dict(self.invariants), "late": self.late,
                "fenced_runs": self.fenced_runs, "faults_drawn": list(self.faults_drawn),
                "faults_fired": dict(self.faults_fired), "overrides": dict(self.overrides),
                "operator": list(self.operator), "violations": list(self.violations),
                "timelines": {group: list(lines) for group, lines in self.timelines.items()},
                "wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3), "aws_requests": self.aws_requests}


def plan(seed: int, *, files: int = 50, groups: int = 5) -> ChaosPlan:
    raise NotImplementedError("chaos plan: being written (helper B)")


def run(seed: int, *, files: int = 50, groups: int = 5, engine: str = "sleep", lenient: bool = False) -> ChaosReport:
    raise NotImplementedError("chaos run: being written (helper B)")
