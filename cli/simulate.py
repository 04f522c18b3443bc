"""``landing simulate`` and ``landing simulate sweep``: capacity planning on the stack's own configuration.

Thin on purpose: options are read and checked here, the model lives in
``simulator/``. Configuration and scenario errors print every problem with its
fix and exit with status 2, like every other subcommand.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from landing_pipeline.cli.common import err_console, load_spec_or_exit
from landing_pipeline.runtime.errors import InputError
from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.runtime.spec_loader import find_project_dir

if TYPE_CHECKING:
    from landing_pipeline.simulator.model import Design
    from landing_pipeline.simulator.scenario import Scenario

PROGRESS_FILES = 50_000  # show a progress bar above this many simulated files

simulate_app = typer.Typer(  # its help is the docstring of ``simulate`` below
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
)


class OverheadsChoice(StrEnum):
    realistic = "realistic"
    none = "none"


class DesignChoice(StrEnum):
    held = "held"
    seed = "seed"


SHARED_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("stack", Annotated[str | None, typer.Option("--stack", help="Stack whose Pulumi.<stack>.yaml (over "
                                                 "Pulumi.yaml's defaults) configures the pipeline, e.g. dev.")],
     None),
    ("spec_file", Annotated[Path | None, typer.Option("--spec", help="A stack file in the Pulumi.<stack>.yaml "
                                                      "format, wherever it lives (instead of --stack).")], None),
    ("scenario_file", Annotated[Path | None, typer.Option("--scenario", help="Scenario YAML: arrivals, job "
                                                          "durations, overheads, faults, limits, prices (see "
                                                          "docs/simulator.md).")], None),
    ("trace", Annotated[Path | None, typer.Option("--trace", help="CSV of landings (time_s,key[,size_bytes,"
                                                  "duration_s,fail_attempts,event_delay_s]) to replay instead of "
                                                  "a scenario.")], None),
    ("scale", Annotated[float | None, typer.Option("--scale", help="Replay the trace at F times its volume: each "
                                                   "group kept floor(F) times plus once with probability "
                                                   "F-floor(F), copies in new groups of the same family and "
                                                   "feed, at the same time of day (e.g. 2, 0.5; docs/simulator."
                                                   "md, 'Replaying at another volume').")], None),
    ("overheads", Annotated[OverheadsChoice | None, typer.Option(
        "--overheads", help="Override the scenario's overheads: realistic (EventBridge, SQS, Lambda, DynamoDB and "
        "Glue start latencies) or none (pure queueing, comparable with theory when settleSeconds is 0).")], None),
    ("design", Annotated[DesignChoice, typer.Option(
        "--design", help="held: this project's design (the deployed rules: a group's lease is released when its "
        "run ends). seed: the original card (a file's message is deleted when its run starts), to see the "
        "overlaps it allows.")], DesignChoice.held),
    ("fast", Annotated[bool, typer.Option(
        "--fast", help="The fast model: the held design's timing as a queue (files in order per group, the settle "
        "window, batches, the slot line and its handoff, retries), without playing out each handler step; about "
        "10x faster, for capacity at scale. No faults, no quotas but Glue's concurrent runs; checked against the "
        "full model (docs/simulator.md, 'The fast model').")], False),
    ("replications", Annotated[int, typer.Option("--replications", min=1, help="Independent runs; each metric "
                                                 "is then reported as {mean, ci95}.")], 1),
    ("seed", Annotated[int | None, typer.Option("--seed", help="Random seed (default: the scenario's seed, "
                                                "else 0).")], None),
    ("json_path", Annotated[Path | None, typer.Option("--json", help="Write every metric to this JSON file.")],
     None),
    ("jobs", Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes for the runs: the "
                                                "replications, and in a sweep every combination's. The results "
                                                "equal a serial run's (--jobs 1) for the same seed. Default: "
                                                "every core this process may use.")], None),
)
"""The options ``simulate`` and ``simulate sweep`` share: name, typer annotation, default."""


@dataclass(frozen=True)
class RunOptions:
    """The shared options of one command, as the command body receives them (``run``)."""

    stack: str | None
    spec_file: Path | None
    scenario_file: Path | None
    trace: Path | None
    scale: float | None
    overheads: OverheadsChoice | None
    design: DesignChoice
    fast: bool
    replications: int
    seed: int | None
    json_path: Path | None
    jobs: int | None

    @property
    def model(self) -> Design:
        """The model's design name: the chosen design, or ``queue`` for the held design's fast model."""
        if self.fast and self.design != DesignChoice.held:
            _usage_error(f"--fast models the held design; --design {self.design.value} has its own model: drop one")
        return "queue" if self.fast else "seed" if self.design == DesignChoice.seed else "held"

    @property
    def workers(self) -> int:
        """--jobs, or every core this process may use."""
        from landing_pipeline.simulator.parallel import default_jobs

        return self.jobs if self.jobs is not None else default_jobs()


def with_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the shared options: typer sees them in its signature (after ``ctx``, before the
    command's own), and the body gets them as one ``run: RunOptions``."""
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
           for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "run"]
    context = [p for p in own if p.name == "ctx"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for name, annotation, default in SHARED_OPTIONS]
    parameters = context + shared + [p for p in own if p.name != "ctx"]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        run = RunOptions(**{name: kwargs.pop(name) for name, _, _ in SHARED_OPTIONS})
        command(run=run, **kwargs)

    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def _inputs(run: RunOptions) -> tuple[PipelineSpec, Scenario, str]:
    from landing_pipeline.simulator.feed_models import check_feed_models
    from landing_pipeline.simulator.overheads import preset
    from landing_pipeline.simulator.scenario import load_scenario, scenario_from_trace

    stack, spec_file, scenario_file, trace = run.stack, run.spec_file, run.scenario_file, run.trace
    if stack and spec_file:
        _usage_error("give --stack NAME or --spec FILE, not both")
    if bool(scenario_file) == bool(trace):
        _usage_error("give exactly one of --scenario FILE or --trace CSV (a scenario may name a trace itself)")
    spec = load_spec_or_exit(stack, spec_file)
    scenario = load_scenario(scenario_file) if scenario_file is not None else scenario_from_trace(
        trace if trace is not None else Path())  # a ScenarioError exits 2 with every problem (cli/errors.py)
    if run.scale is not None:
        scenario = _scaled(scenario, spec, run.scale, run.seed if run.seed is not None else (scenario.seed or 0))
    check_feed_models(scenario, spec)   # a feeds: entry the stack has no feed of: exit 2, naming its feeds
    if run.overheads is not None:
        scenario = scenario.with_overheads(preset(run.overheads.value))
    scenario = scenario.for_region(_region(stack, spec_file))   # prices of the stack's aws:region
    label = stack or (str(spec_file) if spec_file else "dev")
    return spec, scenario, label


def _scaled(scenario: Scenario, spec: PipelineSpec, factor: float, seed: int) -> Scenario:
    from landing_pipeline.simulator.trace_scale import ScaleError, scale_scenario

    try:
        scaled, what = scale_scenario(scenario, spec, factor, seed)
    except ScaleError as exc:
        _usage_error(str(exc))
    files_in = sum(len(p.rows) for p in scenario.arrivals if hasattr(p, "rows"))
    err_console.print(f"--scale {factor:g}: {files_in:,} files in {what.groups_in:,} groups become "
                      f"{len(what.rows):,} files in {what.groups_out:,} groups (seed {seed})"
                      + (f"; {what.same_group_copies:,} copied files share their original's group (the stack's "
                         "grouping rule names no new group for them)" if what.same_group_copies else ""),
                      highlight=False)
    return scaled


def _region(stack: str | None, spec_file: Path | None) -> str | None:
    """``aws:region`` of the stack file simulated (None: not set, priced as us-east-1 with a warning)."""
    from landing_pipeline.cli.ops_actions import stack_region
    from landing_pipeline.runtime.errors import ConfigurationError
    from landing_pipeline.runtime.spec_loader import stack_values

    if spec_file is None:
        return stack_region(stack or "dev")
    try:
        region = stack_values(spec_file).get("aws:region")
    except ConfigurationError:
        return None
    return str(region) if region else None


def _usage_error(message: str) -> NoReturn:
    raise InputError(f"{message}. See 'landing simulate --help'.")  # printed, exit 2, by cli/errors.py


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
        yield update


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(document), indent=2) + "\n", encoding="utf-8")


def _clean(value: Any) -> Any:
    """JSON has no infinity or NaN: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@simulate_app.callback(invoke_without_command=True)
@with_run_options
def simulate(
    ctx: typer.Context,
    run: RunOptions,
    plots: Annotated[Path | None, typer.Option("--plots", help="Write backlog.png, gantt.png and latency_cdf.png "
                                               "into this folder.")] = None,
) -> None:
    """Simulate a scenario against a stack's settings and report ordering, backlog, latency and cost.

    Examples:

      landing simulate --stack dev --scenario examples/seed-card.yaml

      landing simulate --stack dev --scenario examples/seed-card.yaml --design seed

      landing simulate --stack prod --scenario examples/daily-feeds.yaml --replications 5 --json out.json

      landing simulate --spec my/Pulumi.test.yaml --trace examples/small-trace.csv --overheads none --plots out/

    To find how many parallel groups a burst needs and what that costs, see 'landing simulate sweep --help'.
    """
    if ctx.invoked_subcommand is not None:
        return
    from landing_pipeline.simulator.capacity import glue_capacity
    from landing_pipeline.simulator.plots import write_plots
    from landing_pipeline.simulator.report import render
    from landing_pipeline.simulator.runner import replicate
    from landing_pipeline.simulator.theory import textbook_case

    spec, scenario, label = _inputs(run)
    seed = run.seed if run.seed is not None else (scenario.seed or 0)
    replications, design, json_path = run.replications, run.model, run.json_path
    big = replications * _expected_files(scenario) > PROGRESS_FILES
    with _progress(big, "simulating") as update:
        result = replicate(spec, scenario, replications, design=design, seed=seed, progress=update,
                           jobs=run.workers)
    metrics = result.metrics
    theory = textbook_case(scenario, glue_capacity(spec, scenario), settle_s=float(spec.settle_seconds))
    render(Console(), metrics, spec, scenario, stack=label, design=design, seed=seed, theory=theory)
    if json_path is not None:
        _write_json(json_path, {"scenario": scenario.name, "stack": label, "design": design,
                                "overheads": scenario.overheads.preset, "seed": seed, "replications": replications,
                                "max_parallel_groups_setting": spec.max_parallel_groups,
                                "prices_region": scenario.region, "price_notes": list(scenario.price_notes),
                                **({"scale": run.scale} if run.scale is not None else {}),
                                "metrics": metrics, "theory": theory, **_flat(metrics)})
        err_console.print(f"wrote {json_path}", highlight=False)
    if plots is not None:
        written = write_plots(result.first, plots, f"{scenario.name} ({design})")
        err_console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


def _flat(metrics: dict[str, Any]) -> dict[str, Any]:
    """The named metrics also at the top level of the JSON document, where scripts look first."""
    from landing_pipeline.simulator.metrics import NAMED_METRICS

    return {name: metrics[name] for name in NAMED_METRICS}


def _expected_files(scenario: Scenario) -> float:
    from landing_pipeline.simulator.stability import expected_files

    return expected_files(scenario)


@simulate_app.command("sweep")
@with_run_options
def sweep(
    run: RunOptions,
    vary: Annotated[list[str], typer.Option("--vary", help="SETTING=V1,V2,... (repeatable); every combination "
                                            "is simulated, e.g. --vary max_parallel_groups=2,4,8,16,32.")],
    target: Annotated[list[str] | None, typer.Option("--target", help="METRIC:OP:VALUE (OP: le, lt, ge, gt, "
                                                     "eq; repeatable) a recommendation must meet, e.g. --target "
                                                     "latency_p95_s:le:15m or --target dead:eq:0. 'METRIC<=VALUE' "
                                                     "works too, in quotes: unquoted, the shell takes < and > "
                                                     "for redirects.")] = None,
    target_p95: Annotated[str | None, typer.Option("--target-p95", help="Shorthand for a p95 latency (landing "
                                                   "to done) of at most this long, e.g. --target-p95 2h "
                                                   "(durations like 90s, 30m, 2h, 1d).")] = None,
    write_stack: Annotated[bool, typer.Option("--write-stack", help="Write the recommended values into the "
                                              "stack file (Pulumi.<stack>.yaml or --spec), keeping the rest.")]
    = False,
) -> None:
    """Simulate every combination of settings and recommend the cheapest one that meets the targets.

    Examples:

      landing simulate sweep --stack dev --scenario examples/seed-card.yaml
          --vary max_parallel_groups=2,4,8,16,32,48 --target-p95 2h

      landing simulate sweep --stack prod --scenario examples/daily-feeds.yaml
          --vary max_parallel_groups=8,16,32 --vary worker_count=2,4
          --target latency_p99_s:le:30m --target dead:eq:0
          --replications 3 --write-stack
    """
    from landing_pipeline.simulator.report import sweep_table
    from landing_pipeline.simulator.sweep import SweepError, p95_target, parse_target, parse_vary, run_sweep

    spec, scenario, label = _inputs(run)
    replications, json_path = run.replications, run.json_path
    try:
        varies = [parse_vary(text) for text in vary]
        targets = [parse_target(text) for text in (target or [])]
        targets += [p95_target(target_p95)] if target_p95 is not None else []
    except SweepError as exc:
        _usage_error(str(exc))
    seed = run.seed if run.seed is not None else (scenario.seed or 0)
    with _progress(True, "sweeping") as update:
        def step(done: int, total: int, _combo: dict[str, Any]) -> None:
            if update is not None:
                update(done, total)
        result = run_sweep(spec, scenario, varies, targets, replications=replications, seed=seed,
                           design=run.model, progress=step, jobs=run.workers)
    Console().print(sweep_table(result, [v.setting.name for v in varies], label, scenario.name))
    best = result.best
    if best is None:
        goal = " and ".join(str(t) for t in targets) or "the targets"
        err_console.print(f"[yellow]no combination meets {escape(goal)}[/]; widen the --vary ranges.", highlight=False)
    else:
        settings = ", ".join(f"{k}={v}" for k, v in best.settings.items())
        Console().print(f"[bold green]cheapest meeting the target:[/] {settings} "
                        f"(cost ${_mean(best.metrics, 'cost_usd'):,.2f}"
                        + (f" per run, mean of {replications} replications" if replications > 1 else "") + ")",
                        highlight=False)
    if json_path is not None:
        _write_json(json_path, {"stack": label, "scenario": scenario.name, "targets": [str(t) for t in targets],
                                "rows": [{"settings": r.settings, "meets": r.meets, "error": r.error,
                                          "metrics": r.metrics} for r in result.rows],
                                "best": None if best is None else best.settings})
        err_console.print(f"wrote {json_path}", highlight=False)
    if write_stack:
        _write_stack(best, run.stack, run.spec_file)


def _mean(metrics: dict[str, Any], name: str) -> float:
    from landing_pipeline.simulator.sweep import metric_value

    return metric_value(metrics, name) or 0.0


def _write_stack(best: Any, stack: str | None, spec_file: Path | None) -> None:
    from landing_pipeline.simulator.stackfile import StackWriteError, write_settings

    if best is None:
        raise StackWriteError("nothing written: no combination meets the targets.")  # exit 1
    path = spec_file or find_project_dir() / f"Pulumi.{stack or 'dev'}.yaml"
    write_settings(path, best.settings)  # a StackWriteError leaves the file unchanged and exits 1
    settings = ", ".join(f"{k}={v}" for k, v in best.settings.items())
    err_console.print(f"wrote {settings} into {path}", highlight=False)


def register(app: typer.Typer) -> None:
    from landing_pipeline.cli.simulate_calibrate import add_to

    add_to(simulate_app)
    app.add_typer(simulate_app, name="simulate")
