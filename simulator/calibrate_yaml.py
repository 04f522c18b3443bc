"""A calibration written as a scenario file a user can read and edit: every number with what it came from.

The text is built line by line rather than by ``yaml.dump`` so each process and model carries a comment
(how many files it stands for, how well it fits); the CLI reads it back with ``load_scenario`` before
saying it was written, so the file is always one ``landing simulate --scenario`` accepts.
"""

from __future__ import annotations

from landing_pipeline.simulator.calibrate import STACK_WIDE, Calibration, FamilyFit
from landing_pipeline.simulator.fit_runtime import MIN_RUNS, RuntimeFit


def _g(value: float, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, never in exponent form (PyYAML reads ``1e-05`` as text)."""
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".") or "0"
    return text


def _clock(seconds: float) -> str:
    s = int(seconds) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _size(family: FamilyFit) -> str:
    if family.size_mean_mb is None:
        return "1"   # sizes unknown in the trace (the family's comment says so)
    if family.size_sigma < 1e-6:
        return _g(family.size_mean_mb)
    return f"{{dist: lognormal, mean_mb: {_g(family.size_mean_mb)}, sigma: {_g(family.size_sigma, 3)}}}"


def _family(family: FamilyFit, start_clock_s: float) -> list[str]:
    fit = family.arrivals
    label = f"feed {family.feed}" if family.feed else f"groups {family.prefix}*"
    quality = []
    if fit.ks is not None and fit.ks_critical is not None:
        verdict = "fits" if fit.ks <= fit.ks_critical else "poor fit"
        quality.append(f"KS {fit.ks:.3f} (5 % level {fit.ks_critical:.3f}: {verdict})")
    if fit.hourly_error is not None:
        quality.append(f"hourly error {100 * fit.hourly_error:.0f} %")
    background = fit.files - sum(b.files for b in fit.bursts)
    if family.size_mean_mb is None:
        quality.append("sizes unknown: 1 MB")
    lines = [f"  # {label}: {fit.files} files in {family.groups} group(s); " + ", ".join(quality)]
    common = f"groups: {family.groups}, prefix: {family.prefix}, size_mb: {_size(family)}"
    if background > 0 and fit.kind == "diurnal":
        lines.append(f"  - diurnal: {{peak_rate_per_s: {_g(fit.peak_rate_per_s)}, trough_rate_per_s: "
                     f"{_g(fit.trough_rate_per_s)}, peak_hour: {_g(fit.peak_hour, 3)}, {common}}}")
    elif background > 0:
        lines.append(f"  - poisson: {{rate_per_s: {_g(fit.rate_per_s)}, {common}}}"
                     f"   # {fit.rate_per_s * 3600:.1f} files an hour")
    for burst in fit.bursts:
        lines.append(f"  - burst: {{at_s: {burst.at_s:.0f}, files: {burst.files}, spread_s: {burst.spread_s:.0f}, "
                     f"{common}}}   # {burst.files} files above the rate from {_clock(start_clock_s + burst.at_s)}")
    return lines


def _job(fit: RuntimeFit | None, indent: str) -> list[str]:
    if fit is None:
        return [f"{indent}# fewer than {MIN_RUNS} runs with a duration_s: not fitted, job:'s defaults (or job:'s "
                "fields, for a feed) apply"]
    r2 = "size unknown or constant" if fit.r2 is None else f"R^2 {fit.r2:.2f}"
    ks = "" if fit.ks is None else f", KS of the lognormal spread {fit.ks:.3f}"
    return [f"{indent}# {fit.runs} runs: duration = startup + lognormal + per_mb_s x MB ({r2}{ks})",
            f"{indent}startup_s: {_g(fit.startup_s)}",
            f"{indent}duration: {{dist: lognormal, mean_s: {_g(fit.mean_s)}, sigma: {_g(fit.sigma, 3)}, "
            f"per_mb_s: {_g(fit.per_mb_s)}}}",
            f"{indent}failure_rate: {_g(fit.failure_rate, 3)}   # {fit.attempts} attempts"]


def scenario_yaml(calibration: Calibration, name: str) -> str:
    """The scenario text: arrivals per family, job: from the files of no feed, feeds: per feed fitted."""
    c = calibration
    left_out = f", {c.skipped} ungroupable left out" if c.skipped else ""
    lines = [f"# Calibrated from {c.source} ({c.files} files{left_out}) by 'landing simulate calibrate'.",
             "# Edit freely: each process and model says what it was fitted from. Replay the history itself with",
             f"#   landing simulate --trace {c.source}",
             f"name: {name}",
             f"description: Fitted to {c.source}.",
             f"duration_s: {c.window_s:.0f}",
             f'start_clock: "{_clock(c.start_clock_s)}"',
             "arrivals:"]
    for family in c.families:
        lines += _family(family, c.start_clock_s)
    lines += ["job:   # files of no feed" + (", and feeds below with too few runs" if c.runtimes else "")]
    lines += _job(c.runtimes.get(STACK_WIDE), "  ")
    feeds = [(n, fit) for n, fit in c.runtimes.items() if n != STACK_WIDE and fit is not None]
    if feeds:
        lines.append("feeds:   # per feed of the stack: its own run-time model")
        for feed, fit in feeds:
            lines += [f"  {feed}:", *_job(fit, "    ")]
    lines.append("overheads: realistic")
    return "\n".join(lines) + "\n"
