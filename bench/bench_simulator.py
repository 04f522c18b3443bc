"""Benchmark: the simulator on 1,000,000 files over 10,000 groups, against peers on the same arrivals.

Measured in one run, so the ratios are fair whatever the machine's speed:

1. ``saturated`` (issues 11 and 15): the full model (``simulator.runner.simulate``) on ONE day of 1,000,000
   files over 10,000 groups, realistic overheads, the Glue-slot handoff (always on in v2), 1,000 Glue slots
   about 94 % busy by the analytic check (``simulator.stability``): a lognormal run of mean 55 s plus a 10 s
   start-up, 15 s of Glue start, 1 % failures. Beside it, on the same arrival count, rate and slots, a
   minimal SimPy M/M/c and Ciw with exponential service of the model's mean slot time, and ``saturated-fast``:
   the fast model (``--fast``, ``simulator.queue_model``) on the same day, with how far each of its answers
   (waits, latency percentiles, drain, cost) is from the full model's. Goal: <= 25 s CPU on one core and
   < 1 GB peak memory;
2. ``week``: the same model on a realistic week of 1,000,000 files (the slots 60 % busy);
3. ``mmc``: the model on an M/M/8 (overheads none, unique groups, Poisson, exponential runs) beside the
   minimal SimPy M/M/8 and Ciw, with the mean waits beside Erlang C (a fast model that is wrong is not a
   result);
4. ``backlog``: the seed card's 2,003 files on the ``dev`` stack's two Glue slots, with every reconciler pass
   deciding each waiting group afresh (before) and with ``runtime.decide_deadline`` (after): both must give
   the same metrics (the bench fails otherwise).

Every decision of the model is ``runtime.decide``'s, so the figures include the shared function's cost. CPU
time (``time.process_time``) is shown beside wall time: on the shared machine other jobs disturb it far less.
Events are the events SimPy scheduled (``Environment._eid``: timeouts, process steps, resource requests),
counted the same way for the model and the minimal SimPy; Ciw's are two per customer (see
``simulator_peers``). Peak memory is the ``ru_maxrss`` of a fresh subprocess per case (``saturated``, its
peers and ``week`` each run in their own, so one case's peak is not another's); it includes the interpreter
and the imports (about the figure printed as "imports").

    nice .venv/bin/python bench/bench_simulator.py                              # every case, 1,000,000 files
    nice .venv/bin/python bench/bench_simulator.py --case saturated            # the saturated day and peers
    nice .venv/bin/python bench/bench_simulator.py --case saturated --files 100000 --no-peers   # a quick run
    .venv/bin/python bench/bench_simulator.py --case saturated --files 20000 --metrics-out m.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulator_peers import ciw_mmc, minimal_simpy_mmc  # noqa: E402

from landing_pipeline.runtime.spec import PipelineSpec  # noqa: E402
from landing_pipeline.runtime.spec_loader import load_stack  # noqa: E402
from landing_pipeline.simulator.model import Design  # noqa: E402
from landing_pipeline.simulator.runner import simulate  # noqa: E402
from landing_pipeline.simulator.scenario import Scenario, load_scenario, parse_scenario  # noqa: E402
from landing_pipeline.simulator.stability import check  # noqa: E402
from landing_pipeline.simulator.theory import mmc_wait_mean  # noqa: E402

GOAL_S, GOAL_MB = 25.0, 1024.0
DAY_S, WEEK_S = 86400.0, 7 * 86400.0
SATURATED_SLOTS_PER_FILE = 1000 / 1_000_000   # 1,000 slots for 1,000,000 files a day: ~94 % busy
CHILD_CASES = ("saturated", "saturated-simpy", "saturated-ciw", "saturated-fast", "week")
AGREEMENT = ("wait_mean_s", "wait_p95_s", "latency_p50_s", "latency_p95_s", "latency_p99_s", "drain_s", "cost_usd")
"""What the fast model must answer as the full model does, compared when both ran."""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def realistic(files: int, groups: int) -> Scenario:
    """A week of Poisson landings spread evenly over ``groups`` groups, realistic overheads and failures."""
    return parse_scenario({
        "duration_s": WEEK_S,
        "arrivals": [{"poisson": {"rate_per_s": files / WEEK_S, "groups": groups, "prefix": "feed_"}}],
        "job": {"startup_s": 20, "duration": {"dist": "lognormal", "mean_s": 60, "sigma": 0.5},
                "failure_rate": 0.01},
        "overheads": "realistic",
        "limits": {"account_concurrent_runs": 1000},
    }, "bench-realistic", ROOT)


def saturated(files: int, groups: int) -> tuple[PipelineSpec, Scenario]:
    """One day of ``files`` Poisson landings over ``groups`` groups with the Glue slots ~94 % busy."""
    slots = max(4, round(files * SATURATED_SLOTS_PER_FILE))
    spec = load_stack("prod", ROOT).replace(max_parallel_groups=slots)
    scenario = parse_scenario({
        "duration_s": DAY_S,
        "arrivals": [{"poisson": {"rate_per_s": files / DAY_S, "groups": groups, "prefix": "feed_"}}],
        "job": {"startup_s": 10, "duration": {"dist": "lognormal", "mean_s": 55, "sigma": 0.5},
                "failure_rate": 0.01},
        "overheads": "realistic",
        "limits": {"account_concurrent_runs": max(1000, slots), "job_concurrent_runs": max(1000, slots)},
    }, "bench-saturated", ROOT)
    return spec, scenario


def mmc(files: int, rate: float, mean_s: float) -> Scenario:
    return parse_scenario({
        "duration_s": files / rate, "overheads": "none",
        "arrivals": [{"poisson": {"rate_per_s": rate, "groups": "unique"}}],
        "job": {"startup_s": 0, "duration": {"dist": "exponential", "mean_s": mean_s}},
    }, "bench-mmc", ROOT)


def timed(spec: PipelineSpec, scenario: Scenario, seed: int, design: Design = "held"
          ) -> tuple[float, float, dict[str, Any]]:
    started, cpu = time.perf_counter(), time.process_time()
    result = simulate(spec, scenario, seed=seed, design=design)
    return time.perf_counter() - started, time.process_time() - cpu, result.metrics


def _modelled(metrics: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in metrics.items() if name != "wall_s"}


def _describe(metrics: dict[str, Any]) -> str:
    files = metrics["files"]
    if "decisions" not in metrics:   # the fast model: no protocol steps to count
        events = metrics["sim_events"]
        return (f"    {files:,} files, {events:,} events ({events / files:.1f} per file), "
                f"p95 latency {metrics['latency_p95_s']:.0f} s, {metrics['succeeded']:,} succeeded, "
                f"{metrics['dead']} dead, ordering violations {metrics['ordering_violations']}, peak groups "
                f"{metrics['max_parallel_groups']}, waits {metrics['waits']:,}, slots busy while waiting "
                f"{metrics['slot_busy_while_waiting'] or 0:.1%}")
    return (f"    {files:,} files, {metrics['sim_events']:,} events ({metrics['sim_events'] / files:.1f} per file), "
            f"p95 latency {metrics['latency_p95_s']:.0f} s, {metrics['succeeded']:,} succeeded, "
            f"{metrics['dead']} dead, ordering violations {metrics['ordering_violations']}, late {metrics['late']},"
            f" peak groups {metrics['max_parallel_groups']}, deliveries per file "
            f"{metrics['deliveries_per_file']:.2f}, decisions per file "
            f"{sum(metrics['decisions'].values()) / files:.2f}, guard conflicts {metrics['guard_conflicts']:,}, "
            f"waits {metrics['waits']:,}, slots busy while waiting {metrics['slot_busy_while_waiting'] or 0:.1%}, "
            f"offered load {metrics['offered_load']:.0f} of {metrics['glue_slots']} slots")


# --- one case in this process (a child of ``main``): prints a RESULT line of JSON -------------------------
def run_child(args: argparse.Namespace) -> dict[str, Any]:
    imports_mb = peak_mb()
    result: dict[str, Any] = {"case": args.case, "imports_mb": imports_mb}
    if args.case == "week":
        spec = load_stack("prod", ROOT).replace(max_parallel_groups=max(4, round(args.files / WEEK_S * 95 / 0.6)))
        scenario = realistic(args.files, args.groups)
    else:
        spec, scenario = saturated(args.files, args.groups)
    if args.case in ("saturated", "week", "saturated-fast"):
        stability = check(scenario, spec)
        print(f"  {args.case}: {args.files:,} files over {args.groups:,} groups, {spec.max_parallel_groups} slots, "
              f"utilisation {stability.offered_load / spec.max_parallel_groups:.1%} by the analytic check",
              flush=True)
        wall, cpu, metrics = timed(spec, scenario, args.seed, "queue" if args.case == "saturated-fast" else "held")
        print(_describe(metrics), flush=True)
        result["agreement"] = {name: metrics[name] for name in AGREEMENT}
        if args.metrics_out:
            Path(args.metrics_out).write_text(json.dumps(_modelled(metrics), indent=1, sort_keys=True,
                                                         default=str) + "\n")
        result.update(files=metrics["files"], cpu=cpu, wall=wall, events=metrics["sim_events"],
                      wait=metrics["wait_mean_s"], utilisation=stability.offered_load / spec.max_parallel_groups)
    else:
        stability = check(scenario, spec)   # the same arrivals, slots and mean slot time, exponential service
        rate, servers = args.files / DAY_S, spec.max_parallel_groups
        peer = minimal_simpy_mmc if args.case == "saturated-simpy" else ciw_mmc
        answer = peer(args.files, rate, stability.slot_mean_s, servers, args.seed)
        if answer is None:
            result["missing"] = True
        else:
            wall, cpu, wait, events = answer
            result.update(files=args.files, cpu=cpu, wall=wall, events=events, wait=wait)
    result["peak_mb"] = peak_mb()
    return result


def in_child(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """``case`` in a fresh interpreter, so its peak memory is its own."""
    command = [sys.executable, __file__, "--child", "--case", case, "--files", str(args.files),
               "--groups", str(args.groups), "--seed", str(args.seed)]
    if args.metrics_out and case in ("saturated", "week", "saturated-fast"):
        command += ["--metrics-out", args.metrics_out]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.splitlines()
    for line in lines[:-1]:
        print(line)
    return dict(json.loads(lines[-1].removeprefix("RESULT ")))


def report(rows: list[dict[str, Any]]) -> None:
    print(f"\n  {'case':18} {'CPU s':>8} {'wall s':>8} {'files/CPU s':>12} {'events':>11} {'events/CPU s':>13} "
          f"{'peak MB':>8} {'mean wait s':>12}")
    for row in rows:
        if row.get("missing"):
            print(f"  {row['case']:18} not installed (pip install -e '.[bench]')")
            continue
        print(f"  {row['case']:18} {row['cpu']:8.2f} {row['wall']:8.2f} {row['files'] / row['cpu']:12,.0f} "
              f"{row['events']:11,} {row['events'] / row['cpu']:13,.0f} {row['peak_mb']:8.0f} "
              f"{row['wait'] if row['wait'] is not None else float('nan'):12.2f}")
    print(f"  (peak MB: ru_maxrss of each case's own process; the imports alone take {rows[0]['imports_mb']:.0f} MB)")
    model = next((row for row in rows if row["case"] in ("saturated", "week")), None) or next(
        (row for row in rows if row["case"] == "saturated-fast"), None)
    if model is None:
        return
    for row in rows:
        if row is not model and not row.get("missing"):
            print(f"  {model['case']} / {row['case']}: {row['cpu'] / model['cpu'] * model['files'] / row['files']:.2f}x"
                  f" the files per CPU second, {(model['events'] / model['cpu']) / (row['events'] / row['cpu']):.2f}x"
                  " the events per CPU second")
    fast = next((row for row in rows if row["case"] == "saturated-fast"), None)
    if fast is not None and model["case"] == "saturated":
        print("  fast model vs full model, same arrivals: " + ", ".join(
            f"{name} {fast['agreement'][name] / model['agreement'][name] - 1:+.1%}" for name in AGREEMENT
            if model["agreement"][name]))
    judged = [r for r in (model, fast) if r is not None and r["case"].startswith("saturated")]
    for row in judged[:1] if model is fast else judged:
        scale = 1.0 if abs(row["files"] / 1_000_000 - 1) < 0.01 else 1_000_000 / row["files"]  # Poisson count
        verdict = "met" if row["cpu"] <= GOAL_S and row["peak_mb"] <= GOAL_MB else "NOT met"
        extrapolated = "" if scale == 1 else f" (extrapolated linearly from {row['files']:,} files)"
        print(f"  {row['case']}: goal <= {GOAL_S:.0f} s CPU and < 1 GB for 1,000,000 files: "
              f"{row['cpu'] / GOAL_S * scale:.2f}x the 25 s goal{extrapolated}, {row['peak_mb']:.0f} MB: "
              + (verdict if scale == 1 else "n/a at this scale"))


def compare_mmc(args: argparse.Namespace) -> None:
    mmc_files = args.mmc_files or max(20_000, args.files // 10)
    servers, mean_s, utilization = 8, 60.0, 0.8
    rate = utilization * servers / mean_s
    theory = mmc_wait_mean(rate, 1.0 / mean_s, servers)
    print(f"\nM/M/{servers} at utilization {utilization}, {mmc_files:,} customers (Erlang C mean wait {theory:.2f} s):")
    # exponential runs: no timeouts; no settle window in a textbook queue
    spec = load_stack("prod", ROOT).replace(max_parallel_groups=servers, job_timeout_minutes=600, settle_seconds=0)
    ours_wall, ours_cpu, ours = timed(spec, mmc(mmc_files, rate, mean_s), args.seed)
    rows: list[tuple[str, float, float, float]] = [("this simulator", ours_wall, ours_cpu, ours["wait_mean_s"])]
    rows.append(("minimal SimPy", *minimal_simpy_mmc(mmc_files, rate, mean_s, servers, args.seed)[:3]))
    peer = ciw_mmc(mmc_files, rate, mean_s, servers, args.seed)
    if peer is not None:
        rows.append(("Ciw", *peer[:3]))
    for name, seconds, cpu_s, wait in rows:
        print(f"  {name:16}  {cpu_s:7.2f} s CPU ({seconds:.2f} s wall)  {mmc_files / cpu_s:10,.0f} files/s  "
              f"mean wait {wait:7.2f} s")
    rates = {name: mmc_files / cpu_s for name, _, cpu_s, _ in rows}
    print(f"  this simulator / minimal SimPy: {rates['this simulator'] / rates['minimal SimPy']:.2f}x"
          + (f", / Ciw: {rates['this simulator'] / rates['Ciw']:.2f}x" if "Ciw" in rates else ""))


def compare_backlog(seed: int) -> None:
    spec = load_stack("dev", ROOT)
    card = load_scenario(ROOT / "examples/seed-card.yaml")
    print("\ndeep backlog: examples/seed-card.yaml on dev (2 Glue slots):")
    with mock.patch("landing_pipeline.simulator.processes.repeat_wait", lambda *_: None):
        before_wall, before_cpu, before = timed(spec, card, seed)
    wall, cpu, metrics = timed(spec, card, seed)
    if _modelled(before) != _modelled(metrics):
        raise SystemExit("the reconciler's repeated decisions changed what the model did: a bug")
    decisions = sum(metrics["decisions"].values())
    print(f"  every pass decides:      {before_cpu:6.2f} s CPU ({before_wall:.2f} s wall)")
    print(f"  stay-in-line repeated:   {cpu:6.2f} s CPU ({wall:.2f} s wall)  {before_cpu / cpu:.1f}x, same metrics")
    print(f"  {metrics['sim_events']:8,} events  {decisions:,} decisions "
          f"({decisions / metrics['files']:.1f} per file: {metrics['decisions']})")
    print(f"  deliveries {metrics['deliveries']:,}, guard conflicts {metrics['guard_conflicts']:,}, reconciler "
          f"{metrics['reconciler']}, waits {metrics['waits']:,}, waiters woken {metrics['waiters_woken']:,}, "
          f"StartJobRun refused {metrics['starts_refused']:,}, slots busy while waiting "
          f"{metrics['slot_busy_while_waiting']:.1%}, p95 latency {metrics['latency_p95_s'] / 3600:.1f} h")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="all", choices=("all", "saturated", "week", "mmc", "backlog",
                                                          *CHILD_CASES[1:4]))
    parser.add_argument("--files", type=int, default=1_000_000, help="files in the saturated day and the week")
    parser.add_argument("--groups", type=int, default=10_000, help="groups in the saturated day and the week")
    parser.add_argument("--mmc-files", type=int, default=None,
                        help="customers in the M/M/8 comparison (default: files / 10, at least 20,000)")
    parser.add_argument("--no-peers", action="store_true", help="the saturated day without SimPy and Ciw")
    parser.add_argument("--metrics-out", help="write the model's metrics (less wall_s) as JSON: same seed, same file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(run_child(args)), flush=True)
        return 0
    if args.case in ("all", "saturated", *CHILD_CASES[1:4]):
        print(f"saturated day: {args.files:,} files in {DAY_S:.0f} s over {args.groups:,} groups, each case in "
              "its own process")
        cases = [args.case] if args.case in CHILD_CASES[1:4] else (
            ["saturated", "saturated-fast"] if args.no_peers
            else ["saturated", "saturated-fast", "saturated-simpy", "saturated-ciw"])
        report([in_child(case, args) for case in cases])
    if args.case in ("all", "week"):
        print(f"\nrealistic week: {args.files:,} files over {args.groups:,} groups")
        report([in_child("week", args)])
    if args.case in ("all", "mmc"):
        compare_mmc(args)
    if args.case in ("all", "backlog"):
        compare_backlog(args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
