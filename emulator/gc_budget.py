"""Fewer garbage collections while a chaos run goes: the same run, a fifth less CPU on the seeds that deploy.

A run allocates millions of short-lived containers (Pulumi's outputs and RPC messages while it deploys, botocore's
and moto's request dictionaries, moto's expression trees after), and CPython's default first-generation
threshold (700 allocations) starts a collection every few hundred of them, each walking the young objects, and
every tenth one the older generation too: 1.3-1.7 CPU s per seed that deploys (of 5-7 s), 0.4 s per seed that
replays its deploy (of about 3 s), measured with ``gc.callbacks``. With a threshold of 20,000 that falls to
0.35-0.55 s and 0.15 s. Nothing the run computes depends on when cyclic garbage is collected (no answer of
moto's, no handler, the clock and the pools are shut down explicitly), so only the CPU changes; full
collections still happen by CPython's own rule (a quarter more long-lived objects than at the last one), so
memory stays bounded. The previous thresholds come back when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Allocations (less deallocations) of container objects between first-generation collections."""


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation every ``young`` allocations (never more often than now) inside the block."""
    previous = gc.get_threshold()
    gc.set_threshold(max(young, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
