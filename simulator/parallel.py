"""Run independent simulations on the machine's cores, with the results of a serial run, in its order.

A sweep is every (combination, replication) pair and ``landing simulate --replications N`` is N runs; each
run depends only on its settings and its seed, so the runs can go to separate processes. Results come back
in the order the runs were given, not the order they finished, so the aggregation that follows
(``runner.aggregate``) sees exactly the list a serial loop would have built.

Workers return a run's metrics only: a run's model holds SimPy's generators, which do not pickle, so a caller
that needs a model (``--plots`` draws run 0) simulates that run itself, in the parent, while the pool works
(``Batch`` lets it). ``jobs=1`` runs everything in-process, one run after another, with no pool at all.

Processes start with ``spawn``: the parent may have threads (rich's progress bar refreshes from one), and a
``fork`` taken while another thread holds a lock can leave the child waiting on it forever. A spawned worker
imports the simulator afresh (about 0.25 s here), once per worker, not per run. Workers ignore SIGINT: on
Ctrl-C the parent alone gets the KeyboardInterrupt, cancels what has not started and terminates the workers
before re-raising, so none is left running a simulation nobody will read.

Measured on 2 shared cores (other sessions' work kept the load at 1-3), ``landing simulate sweep --stack prod
--scenario examples/small-files.yaml --vary batch_max_files=1,10``: 45.2 s wall serial, 35.6 s with
``--jobs 2`` (1.27x; CPU 45.2 s vs 43.6 s); the sweep cannot end before its longest run (batch_max_files=1,
about 35 s of the 45). With ``--replications 2`` (four runs): 95.5 s vs 63.1 s (1.51x), CPU 90.5 s vs
91.5 s. The rows were identical, wall_s aside. Starting a spawn pool of 2 costs about 0.8 s (fork: under
0.1 s), paid once per command.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from landing_pipeline.runtime.spec import PipelineSpec
from landing_pipeline.simulator.model import Design
from landing_pipeline.simulator.scenario import Scenario

Done = Callable[[int], None]
"""Called with a run's index, in the parent, as each run finishes (in completion order)."""


def default_jobs() -> int:
    """The cores this process may use: ``os.process_cpu_count()`` (Python 3.13+, honours CPU affinity),
    else ``os.cpu_count()``; at least 1."""
    counter = getattr(os, "process_cpu_count", None) or os.cpu_count
    return max(1, counter() or 1)


@dataclass(frozen=True)
class Simulation:
    """One run, as ``runner.simulate`` takes it: everything here pickles (checked by the tests)."""

    spec: PipelineSpec
    scenario: Scenario
    design: Design
    seed: int
    reference_dpus: float | None = None


def metrics_of(simulation: Simulation) -> dict[str, Any]:
    """Simulate one run and return its metrics: what a worker sends back."""
    from landing_pipeline.simulator.runner import simulate

    return simulate(simulation.spec, simulation.scenario, design=simulation.design, seed=simulation.seed,
                     reference_dpus=simulation.reference_dpus).metrics


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it terminates the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Batch:
    """Simulations under way: on a pool when ``jobs > 1`` and there is more than one run, else in-process.

    Use it as a context manager: leaving the block by an exception (a KeyboardInterrupt included) cancels
    the runs not yet started and terminates the workers; leaving it normally waits for the pool to close.
    """

    def __init__(self, simulations: Sequence[Simulation], jobs: int) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {jobs}")
        self.simulations = list(simulations)
        self.workers = min(jobs, len(self.simulations))
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[dict[str, Any]]] = []

    def __enter__(self) -> Batch:
        return self

    def start(self, *, pool: bool) -> Batch:
        """Submit every run to a pool of ``workers`` processes (``pool=True``), or leave them to ``results``
        to run in-process."""
        if pool and self.simulations:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context(
                "spawn"), initializer=_ignore_sigint)
            self._futures = [self._pool.submit(metrics_of, s) for s in self.simulations]
        return self

    def finished(self) -> int:
        """How many pool runs have finished so far (0 in-process before ``results``)."""
        return sum(future.done() for future in self._futures)

    def results(self, done: Done | None = None) -> list[dict[str, Any]]:
        """Every run's metrics, in the order given. A run that raised re-raises here, as it would have in a
        serial loop (the runs not yet started are cancelled on leaving the block)."""
        if self._pool is None:
            out = []
            for index, simulation in enumerate(self.simulations):
                out.append(metrics_of(simulation))
                if done is not None:
                    done(index)
            return out
        pending = set(self._futures)
        index_of = {id(future): index for index, future in enumerate(self._futures)}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: index_of[id(f)]):
                future.result()  # raises the worker's exception, with its type
                if done is not None:
                    done(index_of[id(future)])
        return [future.result() for future in self._futures]

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kind is None:
            pool.shutdown(wait=True)
            return
        for future in self._futures:
            future.cancel()
        _terminate(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now, mid-run: Python 3.14 has ``terminate_workers``; before it, the pool's own
    table of processes is the only handle on them."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    processes = dict(getattr(pool, "_processes", None) or {})
    for process in processes.values():
        if process.is_alive():
            process.terminate()
    for process in processes.values():
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def run_all(simulations: Sequence[Simulation], jobs: int, done: Done | None = None) -> list[dict[str, Any]]:
    """Every run's metrics in the order given: on ``min(jobs, runs)`` processes, or in-process for 1."""
    with Batch(simulations, jobs) as batch:
        return batch.start(pool=batch.workers > 1).results(done)
