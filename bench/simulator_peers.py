"""The peers ``bench_simulator.py`` measures the simulator against: a minimal SimPy M/M/c and Ciw's.

Each returns (wall seconds, CPU seconds, mean wait, events). Events are what each engine processes: for SimPy
the events it scheduled (``Environment._eid``, as ``simulator.runner`` counts the model's); Ciw keeps no such
counter, so its count is two per customer (the arrival and the end of service it schedules).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import simpy


def minimal_simpy_mmc(customers: int, rate: float, mean_s: float, servers: int,
                      seed: int) -> tuple[float, float, float, int]:
    """The textbook SimPy M/M/c: one process per customer and a ``simpy.Resource``."""
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
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, cpu, statistics.fmean(waits), int(next(env._eid))  # type: ignore[attr-defined]


def ciw_mmc(customers: int, rate: float, mean_s: float, servers: int,
            seed: int) -> tuple[float, float, float, int] | None:
    """Ciw on the same M/M/c; None when Ciw is not installed."""
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
    records = queue.get_all_records()
    return elapsed, cpu, statistics.fmean(record.waiting_time for record in records), 2 * len(records)
