"""Benchmark: the simulator on 1,000,000 files over 10,000 groups, against peers on the same M/M/c.

Measured in one run, so the ratios are fair whatever the machine's speed:

1. the full model (``simulator.runner.simulate``) on the realistic scenario: workload generation with
   the stack's grouping rule, the intake, the event loop with every overhead, metrics;
2. the same model on an M/M/c queue (overheads none, unique groups, Poisson, exponential runs);
3. a minimal SimPy M/M/c (one process per customer and a ``simpy.Resource``), the textbook baseline;
4. Ciw, a peer discrete-event library, on the same M/M/c;
5. a deep backlog (the seed card's 2,003 files on the ``dev`` stack's two Glue slots): CPU time, events,
   decisions per file, guard conflicts, the reconciler's wake-ups and how busy the slots stay; run twice,
   with every reconciler pass deciding each waiting group afresh (before) and with the pass repeating the
   stay-in-line decision of a group nobody wrote since (``runtime.decide_deadline``, after). Both runs must
   give the same metrics (the bench fails otherwise): the shortcut changes the cost, not what is modelled.

Every decision of the model is ``runtime.decide``'s (the simulator calls the deployed rules), so the
figures include the cost of the shared function; the M/M/c runs use ``settleSeconds: 0`` (a settle window
is not part of the textbook queue).

Prints files per second for each (from CPU time, which other processes on a shared machine disturb far
less than wall time; both are shown), the ratios, and the mean waits beside Erlang C (all four should
agree within noise: a fast model that is wrong is not a result).

    .venv/bin/python bench/bench_simulator.py                 # 1,000,000 files (goal: <= 25 s on one core)
    .venv/bin/python bench/bench_simulator.py --files 100000  # a quick run
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simpy  # noqa: E402

from landing_pipeline.runtime.spec import PipelineSpec  # noqa: E402
from landing_pipeline.runtime.spec_loader import load_stack  # noqa: E402
from landing_pipeline.simulator.runner import simulate  # noqa: E402
from landing_pipeline.simulator.scenario import Scenario, load_scenario, parse_scenario  # noqa: E402
from landing_pipeline.simulator.theory import mmc_wait_mean  # noqa: E402

GOAL_S = 25.0
WEEK_S = 7 * 86400.0


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


def mmc(files: int, rate: float, mean_s: float) -> Scenario:
    return parse_scenario({
        "duration_s": files / rate, "overheads": "none",
        "arrivals": [{"poisson": {"rate_per_s": rate, "groups": "unique"}}],
        "job": {"startup_s": 0, "duration": {"dist": "exponential", "mean_s": mean_s}},
    }, "bench-mmc", ROOT)


def minimal_simpy_mmc(customers: int, rate: float, mean_s: float, servers: int,
                      seed: int) -> tuple[float, float, float]:
    """The textbook SimPy M/M/c: returns (wall seconds, CPU seconds, mean wait)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    glue_slots = simpy.Resource(env, capacity=servers)
    waits: list[float] = []

    def job(env: simpy.Environment) -> Any:
        arrived = env.now
        with glue_slots.request() as slot:
            yield slot
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(1.0 / mean_s))

    def arrivals(env: simpy.Environment) -> Any:
        for _ in range(customers):
            yield env.timeout(rng.expovariate(rate))
            env.process(job(env))

    started, cpu = time.perf_counter(), time.process_time()
    env.process(arrivals(env))
    env.run()
    return time.perf_counter() - started, time.process_time() - cpu, statistics.fmean(waits)


def ciw_mmc(customers: int, rate: float, mean_s: float, servers: int,
            seed: int) -> tuple[float, float, float] | None:
    try:
        import ciw
    except ImportError:
        return None
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=rate)],
                                 service_distributions=[ciw.dists.Exponential(rate=1.0 / mean_s)],
                                 number_of_servers=[servers])
    ciw.seed(seed)
    started, cpu = time.perf_counter(), time.process_time()
    queue = ciw.Simulation(network)
    queue.simulate_until_max_customers(customers, method="Finish")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, cpu, statistics.fmean(record.waiting_time for record in queue.get_all_records())


def timed(spec: PipelineSpec, scenario: Scenario, seed: int) -> tuple[float, float, dict[str, Any]]:
    started, cpu = time.perf_counter(), time.process_time()
    result = simulate(spec, scenario, seed=seed)
    return time.perf_counter() - started, time.process_time() - cpu, result.metrics


def _modelled(metrics: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in metrics.items() if name != "wall_s"}


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
    parser.add_argument("--files", type=int, default=1_000_000, help="files in the realistic run (default 1e6)")
    parser.add_argument("--groups", type=int, default=10_000, help="groups in the realistic run (default 1e4)")
    parser.add_argument("--mmc-files", type=int, default=None,
                        help="customers in the M/M/c comparisons (default: files / 10, at least 20,000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    mmc_files = args.mmc_files or max(20_000, args.files // 10)

    # The realistic run: a week of landings; enough slots that the offered load (about 1.65 files/s x 95 s
    # per slot, for 1e6 files) is 60 % of capacity.
    spec = load_stack("prod", ROOT).replace(max_parallel_groups=max(4, round(args.files / WEEK_S * 95 / 0.6)))
    print(f"simulator benchmark: {args.files:,} files over {args.groups:,} groups, realistic overheads, "
          f"max_parallel_groups={spec.max_parallel_groups}")
    wall, cpu, metrics = timed(spec, realistic(args.files, args.groups), args.seed)
    files = metrics["files"]
    full_rate = files / cpu
    print(f"  full model        {cpu:7.2f} s CPU ({wall:.2f} s wall)  {full_rate:10,.0f} files/s  "
          f"{metrics['sim_events'] / cpu:10,.0f} events/s  ({metrics['sim_events']:,} events, "
          f"{metrics['sim_events'] / files:.1f} per file)")
    print(f"    p95 latency {metrics['latency_p95_s']:.0f} s, {metrics['succeeded']:,} succeeded, "
          f"{metrics['dead']} dead, ordering violations {metrics['ordering_violations']}, "
          f"late {metrics['late']}, peak groups {metrics['max_parallel_groups']}, deliveries per file "
          f"{metrics['deliveries_per_file']:.2f}, decisions per file "
          f"{sum(metrics['decisions'].values()) / files:.2f}, guard conflicts {metrics['guard_conflicts']:,}")
    verdict = f"{'met' if cpu <= GOAL_S else 'NOT met'} ({cpu:.1f} s CPU on one core)"
    print(f"    goal <= {GOAL_S:.0f} s for 1,000,000 files: " + (verdict if args.files == 1_000_000 else
                                                                  f"n/a at {args.files:,} files"))

    servers, mean_s, utilization = 8, 60.0, 0.8
    rate = utilization * servers / mean_s
    theory = mmc_wait_mean(rate, 1.0 / mean_s, servers)
    print(f"\nM/M/{servers} at utilization {utilization}, {mmc_files:,} customers "
          f"(Erlang C mean wait {theory:.2f} s):")
    # exponential runs: no timeouts; no settle window in a textbook queue
    mmc_spec = spec.replace(max_parallel_groups=servers, job_timeout_minutes=600, settle_seconds=0)
    ours_wall, ours_cpu, ours = timed(mmc_spec, mmc(mmc_files, rate, mean_s), args.seed)
    rows: list[tuple[str, float, float, float]] = [("this simulator", ours_wall, ours_cpu, ours["wait_mean_s"])]
    rows.append(("minimal SimPy", *minimal_simpy_mmc(mmc_files, rate, mean_s, servers, args.seed)))
    peer = ciw_mmc(mmc_files, rate, mean_s, servers, args.seed)
    if peer is not None:
        rows.append(("Ciw", *peer))
    for name, seconds, cpu_s, wait in rows:
        print(f"  {name:16}  {cpu_s:7.2f} s CPU ({seconds:.2f} s wall)  {mmc_files / cpu_s:10,.0f} files/s  "
              f"mean wait {wait:7.2f} s")
    rates = {name: mmc_files / cpu_s for name, _, cpu_s, _ in rows}
    print("\nratios (files per CPU second, higher is faster):")
    print(f"  full model (realistic)  / minimal SimPy M/M/c: {full_rate / rates['minimal SimPy']:.2f}x")
    print(f"  this simulator on M/M/c / minimal SimPy M/M/c: {rates['this simulator'] / rates['minimal SimPy']:.2f}x")
    if peer is not None:
        print(f"  full model (realistic)  / Ciw M/M/c:           {full_rate / rates['Ciw']:.2f}x")
        print(f"  this simulator on M/M/c / Ciw M/M/c:           {rates['this simulator'] / rates['Ciw']:.2f}x")
        print(f"  minimal SimPy M/M/c     / Ciw M/M/c:           {rates['minimal SimPy'] / rates['Ciw']:.2f}x")
    else:
        print("  Ciw is not installed (pip install -e '.[bench]'): its rows are skipped")
    compare_backlog(args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
