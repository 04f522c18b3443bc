"""A scenario: what lands, how long each run takes, the overheads, limits and prices.

The stack file says how the pipeline is configured; the scenario says what it
is asked to absorb. Both are needed to answer "what happens when 2,000 files
land in ten minutes", and keeping them apart lets one scenario be replayed
against every stack (``--stack dev``, ``--stack prod``) or a sweep of settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from landing_pipeline.simulator.arrival_specs import ArrivalProcess, FileList, read_arrivals
from landing_pipeline.simulator.distributions import Distribution, read_distribution, read_int, read_number
from landing_pipeline.simulator.errors import Problems, ScenarioError, ScenarioProblem, did_you_mean
from landing_pipeline.simulator.faults import NO_FAULTS, Faults, read_faults
from landing_pipeline.simulator.limits import Limits, read_limits
from landing_pipeline.simulator.overheads import REALISTIC, Overheads, read_overheads
from landing_pipeline.simulator.prices import DEFAULT_PRICES, Prices, given_prices, read_prices
from landing_pipeline.simulator.trace import read_trace

_TOP_LEVEL = {"name", "description", "duration_s", "start_clock", "seed", "arrivals", "trace", "job", "overheads",
              "limits", "prices", "faults", "feeds"}


@dataclass(frozen=True)
class JobModel:
    """How long a Glue run takes: ``startup_s`` + duration sample + ``per_mb_s`` x size, scaled by DPUs."""

    startup_s: float = 20.0
    duration: Distribution = Distribution("lognormal", 90.0, 0.5)
    per_mb_s: float = 0.0
    failure_rate: float = 0.0
    parallel_fraction: float = 0.0
    """Share of the duration that shrinks with more DPUs (Amdahl); 0: more workers only cost more."""

    def mean_run_s(self, size_mb: float = 0.0, scale: float = 1.0) -> float:
        return self.startup_s + scale * (self.duration.mean + self.per_mb_s * size_mb)


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    arrivals: tuple[ArrivalProcess, ...]
    job: JobModel = JobModel()
    overheads: Overheads = REALISTIC
    limits: Limits = Limits()
    prices: Prices = DEFAULT_PRICES
    faults: Faults = NO_FAULTS
    description: str = ""
    start_clock_s: float = 0.0
    seed: int | None = None
    source: str = "<scenario>"
    prices_given: tuple[str, ...] = ()
    """The prices the scenario sets itself; the Region's table gives the rest (``for_region``)."""
    region: str = "us-east-1"
    price_notes: tuple[str, ...] = ()
    feed_jobs: tuple[tuple[str, JobModel], ...] = ()
    """Run-time models of named feeds (``feeds:``), each replacing ``job`` for that feed's files; the stack's
    feeds say which files those are (``simulator.feed_models``). Empty: every file uses ``job``."""

    def with_overheads(self, overheads: Overheads) -> Scenario:
        return replace(self, overheads=overheads)

    def for_region(self, region: str | None) -> Scenario:
        """Priced for the stack's ``aws:region`` (``simulator.regional_prices``), the scenario's prices kept."""
        from landing_pipeline.simulator.regional_prices import prices_for

        regional = prices_for(region, self.prices, self.prices_given)
        return replace(self, prices=regional.prices, region=regional.region, price_notes=tuple(regional.notes))


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario YAML file; raises ScenarioError naming every bad field and its fix."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(str(path), [ScenarioProblem(str(path), None, f"cannot read it ({exc.strerror})",
                                                        "check the path, e.g. examples/seed-card.yaml")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), [ScenarioProblem(str(path), None, f"not valid YAML ({exc})",
                                                        "fix the YAML syntax at the line shown")]) from None
    return parse_scenario(document, str(path), path.parent)


def parse_scenario(document: Any, source: str, base_dir: Path) -> Scenario:
    problems = Problems()
    if not isinstance(document, Mapping):
        problems.add("scenario", document, "expected a mapping with duration_s, arrivals, job, ...",
                     "see examples/seed-card.yaml for the format")
        problems.raise_if_any(source)
        raise AssertionError("unreachable")
    for extra in sorted(set(document) - _TOP_LEVEL):
        problems.add(str(extra), document[extra], "not a scenario field",
                     f"use only: {', '.join(sorted(_TOP_LEVEL))}{did_you_mean(extra, sorted(_TOP_LEVEL))}")
    arrivals: tuple[ArrivalProcess, ...] = ()
    if "arrivals" in document and "trace" in document:
        problems.add("trace", document["trace"], "both arrivals and trace are given", "keep one of them")
    elif "trace" in document:
        trace = document["trace"]
        if not isinstance(trace, str):
            problems.add("trace", trace, "expected a path to a CSV file", "write e.g. trace: small-trace.csv")
        else:
            try:
                arrivals = (FileList(tuple(read_trace(base_dir / trace))),)
            except ScenarioError as exc:
                problems.items.extend(exc.problems)
    elif "arrivals" in document:
        arrivals = read_arrivals(problems, "arrivals", document["arrivals"])
    else:
        problems.add("arrivals", None, "no arrivals", "add an arrivals: list, or trace: PATH to a CSV")
    duration = document.get("duration_s")
    if duration is None and arrivals and all(isinstance(p, FileList) for p in arrivals):
        duration = max(1.0, max(row.time_s for p in arrivals if isinstance(p, FileList) for row in p.rows))
    duration_s = read_number(problems, "duration_s", duration, strictly_positive=True,
                             fix="give the arrival window in seconds, e.g. duration_s: 3600")
    job = read_job(problems, "job", document.get("job"))
    scenario = Scenario(
        name=str(document.get("name") or Path(source).stem),
        description=str(document.get("description") or ""),
        duration_s=duration_s or 1.0,
        arrivals=arrivals,
        job=job,
        feed_jobs=_feed_jobs(problems, document.get("feeds"), job),
        overheads=read_overheads(problems, "overheads", document.get("overheads")),
        limits=read_limits(problems, document.get("limits")),
        prices=read_prices(problems, "prices", document.get("prices")),
        prices_given=given_prices(document.get("prices")),
        faults=read_faults(problems, "faults", document.get("faults")),
        start_clock_s=_clock(problems, document.get("start_clock", "00:00:00")),
        seed=_seed(problems, document.get("seed")),
        source=source,
    )
    problems.raise_if_any(source)
    return scenario


def scenario_from_trace(path: Path) -> Scenario:
    """A scenario made of one trace and the documented defaults (``--trace`` without ``--scenario``)."""
    rows = read_trace(path)
    return Scenario(name=path.stem, duration_s=max(1.0, rows[-1].time_s), arrivals=(FileList(tuple(rows)),),
                    source=str(path))


def _feed_jobs(problems: Problems, value: Any, job: JobModel) -> tuple[tuple[str, JobModel], ...]:
    """``feeds: {orders: {startup_s: .., duration: ..}, ...}``: a job model per feed name, each field it does
    not give taken from ``job:`` (so a feed that only fails more often says just that). Feed names are
    checked against the stack's feeds when the scenario meets a stack (``simulator.feed_models``)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        problems.add("feeds", value, "expected a mapping of feed name to run-time model",
                     "write e.g. feeds: {orders: {startup_s: 30, duration: {dist: lognormal, mean_s: 200, "
                     "sigma: 0.4, per_mb_s: 2}}}")
        return ()
    return tuple((str(name), read_job(problems, f"feeds.{name}", body if body is not None else {}, job))
                 for name, body in value.items())


def read_job(problems: Problems, where: str, value: Any, default: JobModel = JobModel()) -> JobModel:
    """A run-time model (the scenario's ``job:``, or one feed's under ``feeds:``); ``where`` prefixes problems,
    ``default`` gives the fields not written."""
    if value is None:
        return default
    if not isinstance(value, Mapping):
        problems.add(where, value, "expected a mapping", f"write e.g. {where}: {{startup_s: 20, duration: "
                     "{dist: fixed, seconds: 120}}")
        return default
    allowed = {"startup_s", "duration", "failure_rate", "parallel_fraction"}
    for extra in sorted(set(value) - allowed):
        problems.add(f"{where}.{extra}", value[extra], "not a job field", f"use only: {', '.join(sorted(allowed))}")
    startup = read_number(problems, f"{where}.startup_s", value.get("startup_s", default.startup_s))
    duration, per_mb = default.duration, default.per_mb_s
    if "duration" in value or where == "job":   # job's own default duration: lognormal, mean 90 s, sigma 0.5
        raw_duration = value.get("duration", {"dist": "lognormal", "mean_s": 90.0, "sigma": 0.5})
        duration = read_distribution(problems, f"{where}.duration", raw_duration, "s") or default.duration
        per_mb = 0.0
        if isinstance(raw_duration, Mapping) and "per_mb_s" in raw_duration:
            per_mb = read_number(problems, f"{where}.duration.per_mb_s", raw_duration["per_mb_s"]) or 0.0
    failure = read_number(problems, f"{where}.failure_rate", value.get("failure_rate", default.failure_rate))
    if failure is not None and failure >= 1:
        problems.add(f"{where}.failure_rate", failure, "every run would fail", "give a probability below 1, e.g. 0.02")
    fraction = read_number(problems, f"{where}.parallel_fraction",
                           value.get("parallel_fraction", default.parallel_fraction))
    if fraction is not None and fraction > 1:
        problems.add(f"{where}.parallel_fraction", fraction, "a share cannot exceed 1", "give a number from 0 to 1")
    return JobModel(startup_s=default.startup_s if startup is None else startup, duration=duration,
                    per_mb_s=per_mb, failure_rate=min(failure or 0.0, 0.999),
                    parallel_fraction=min(fraction or 0.0, 1.0))


def clock_seconds(value: Any) -> float | None:
    """``"HH:MM:SS"`` as seconds after midnight, None if it is not a time of day (``--start-clock``)."""
    problems = Problems()
    seconds = _clock(problems, value)
    return None if problems.items else seconds


def _clock(problems: Problems, value: Any) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86400:
        return float(value)  # YAML 1.1 reads an unquoted 10:00:00 as sexagesimal seconds
    parts = str(value).split(":")
    try:
        hours, minutes, seconds = (int(p) for p in [*parts, "0", "0"][:3])
        if len(parts) > 3 or not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
            raise ValueError
    except ValueError:
        problems.add("start_clock", value, "not a time of day", 'write "HH:MM:SS", e.g. start_clock: "10:00:00"')
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)


def _seed(problems: Problems, value: Any) -> int | None:
    if value is None:
        return None
    return read_int(problems, "seed", value, minimum=0, fix="give a whole number, e.g. seed: 7")
