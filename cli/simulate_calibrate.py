"""``landing simulate calibrate``: fit a scenario to a history and say how well it fits.

Thin: the fitting is ``simulator.calibrate`` (arrivals per feed or group family, run-time models per feed),
the file ``simulator.calibrate_yaml``; this module reads the options, prints the goodness-of-fit tables and
checks the scenario parses before writing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from landing_pipeline.cli.common import err_console, load_spec_or_exit
from landing_pipeline.runtime.errors import InputError

if TYPE_CHECKING:
    from landing_pipeline.simulator.calibrate import Calibration

SPINNER_ROWS = 50_000   # show a spinner while fitting histories longer than this


def calibrate_command(
    trace: Annotated[Path, typer.Option("--trace", help="The history: a trace CSV (time_s,key[,size_bytes,"
                                        "duration_s,fail_attempts,...]); feed and group columns, as 'landing "
                                        "history export' writes them, are used when present.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Scenario YAML to write (an existing file is "
                                         "replaced only with --force).")],
    stack: Annotated[str | None, typer.Option("--stack", help="Stack whose grouping rule and feeds name each "
                                              "file's group and feed, e.g. prod.")] = None,
    spec_file: Annotated[Path | None, typer.Option("--spec", help="A stack file in the Pulumi.<stack>.yaml "
                                                   "format (instead of --stack).")] = None,
    start_clock: Annotated[str, typer.Option("--start-clock", help="Time of day of the trace's time_s 0, "
                                             "HH:MM:SS: the hour of day the diurnal fit reads.")] = "00:00:00",
    duration_s: Annotated[float | None, typer.Option("--duration-s", help="The history's window in seconds "
                                                     "(default: up to its last landing, whole minutes).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The scenario's name (default: the output's "
                                             "file name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
) -> None:
    """Fit arrivals and run-time models to a history and write a scenario you can edit.

    Arrivals are fitted per feed of the stack (files of no feed: per group family, feed_012 -> feed_):
    rate, diurnal shape, bursts. Run-time models (startup, per-MB, lognormal spread, failure rate) per feed,
    and job: for the files of no feed. The tables say how well each fits (KS, hourly error, R^2).

    Examples:

      landing simulate calibrate --stack prod --trace history.csv -o calibrated.yaml

      landing simulate calibrate --stack dev --trace examples/small-trace.csv -o s.yaml --start-clock 10:15:00

    Then: landing simulate --stack prod --scenario calibrated.yaml (or replay the history itself with
    --trace history.csv, at another volume with --scale 2).
    """
    import yaml

    from landing_pipeline.simulator.calibrate import calibrate
    from landing_pipeline.simulator.calibrate_yaml import scenario_yaml
    from landing_pipeline.simulator.scenario import clock_seconds, parse_scenario
    from landing_pipeline.simulator.trace import read_trace

    if stack and spec_file:
        _usage("give --stack NAME or --spec FILE, not both")
    clock = clock_seconds(start_clock)
    if clock is None:
        _usage(f"--start-clock {start_clock!r} is not a time of day: write HH:MM:SS, e.g. --start-clock 08:00:00")
    if duration_s is not None and duration_s <= 0:
        _usage(f"--duration-s {duration_s:g}: must be greater than 0 (the history's window in seconds)")
    if output.exists() and not force:
        _usage(f"{output} exists: give --force to replace it, or another -o path")
    spec = load_spec_or_exit(stack, spec_file)
    rows = read_trace(trace)   # a ScenarioError names every bad line and column, exit 2
    with err_console.status(f"fitting {len(rows):,} files") if len(rows) > SPINNER_ROWS else _nothing():
        result = calibrate(rows, spec, source=str(trace), start_clock_s=clock or 0.0, window_s=duration_s)
    console = Console()
    for table in fit_tables(result):
        console.print(table)
    for family in result.families:
        if not family.prefix_ok:
            err_console.print(f"[yellow]warning:[/] groups named {family.prefix}NNN do not reach feed "
                              f"{family.feed or '(none)'} under the stack's feeds; edit that process's prefix.",
                              highlight=False)
    text = scenario_yaml(result, name or output.stem)
    parse_scenario(yaml.safe_load(text), str(output), output.parent)   # a scenario 'landing simulate' accepts
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    label = f"--stack {stack}" if stack else (f"--spec {spec_file}" if spec_file else "--stack dev")
    err_console.print(f"wrote {output}; simulate it with: landing simulate {label} --scenario {output}",
                      highlight=False)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _usage(message: str) -> None:
    raise InputError(f"{message}. See 'landing simulate calibrate --help'.")   # printed, exit 2


def _ks(value: float | None, critical: float | None) -> str:
    if value is None or critical is None:
        return "-"
    return f"{value:.3f}{'' if value <= critical else ' (poor)'}"


def fit_tables(result: Calibration) -> list[Table]:
    """Arrival fits per family and run-time fits per model, with their goodness of fit."""
    from landing_pipeline.simulator.fit_runtime import MIN_RUNS

    arrivals = Table(title=f"Arrivals fitted to {result.files:,} files", title_justify="left", pad_edge=False,
                     caption="per h: files an hour; KS: rescaled gaps vs Exp(1), (poor) above the 5 % level; hourly: "
                     "files misplaced by hour; disp: per-minute variance/mean (1: Poisson)", caption_justify="left")
    for column in ("family", "files", "groups", "process", "per h", "bursts", "disp", "KS", "hourly"):
        arrivals.add_column(column, justify="left" if column in ("family", "process") else "right", no_wrap=True)
    for f in result.families:
        fit = f.arrivals
        rate = (f"{fit.trough_rate_per_s * 3600:.0f}-{fit.peak_rate_per_s * 3600:.0f}" if fit.kind == "diurnal"
                else f"{fit.rate_per_s * 3600:.{0 if fit.rate_per_s * 3600 >= 100 else 1}f}")
        process = f"diurnal, peak {fit.peak_hour:.1f} h" if fit.kind == "diurnal" else "poisson"
        arrivals.add_row(f.feed or f"{f.prefix}*", f"{fit.files:,}", str(f.groups), process, rate,
                         str(sum(b.files for b in fit.bursts)) if fit.bursts else "-",
                         "-" if fit.dispersion is None else f"{fit.dispersion:.1f}", _ks(fit.ks, fit.ks_critical),
                         "-" if fit.hourly_error is None else f"{100 * fit.hourly_error:.0f}%")
    runtimes = Table(title="Run-time models", title_justify="left", pad_edge=False, caption="duration = startup + "
                     "lognormal(mean, sigma) + per MB (s) x MB; R^2 of duration on size; KS of the lognormal spread",
                     caption_justify="left")
    for column in ("model", "runs", "start", "mean", "sigma", "per MB", "R^2", "KS", "fail"):
        runtimes.add_column(column, justify="left" if column == "model" else "right", no_wrap=True)
    for model, runtime in result.runtimes.items():
        if runtime is None:
            runtimes.add_row(model, f"<{MIN_RUNS}", "not fitted", "", "", "", "", "", "")
            continue
        runtimes.add_row(model, f"{runtime.runs:,}", f"{runtime.startup_s:.0f} s", f"{runtime.mean_s:.0f} s",
                         f"{runtime.sigma:.2f}",
                         f"{runtime.per_mb_s:.2f}", "-" if runtime.r2 is None else f"{runtime.r2:.2f}",
                         "-" if runtime.ks is None else f"{runtime.ks:.3f}", f"{100 * runtime.failure_rate:.1f}%")
    return [arrivals, runtimes]


def add_to(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
