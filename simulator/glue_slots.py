"""Glue's MaxConcurrentRuns: the runs holding a slot, and the peaks the report shows.

A run holds its slot from StartJobRun until it ends (Glue frees it then, before
the completion handler hears of it). Slots are freed lazily from a heap of end
times when someone asks, so a run end costs no event of its own.
"""

from __future__ import annotations

import heapq

import simpy


class GlueSlots:
    """Runs alive per group and in all; peaks of runs, of groups running and of runs per group."""

    def __init__(self, env: simpy.Environment, groups: int, capacity: int) -> None:
        self.env, self.capacity = env, capacity
        self.alive = [0] * groups  # Glue runs of the group holding a slot
        self.heap: list[tuple[float, int]] = []
        self.runs_alive = self.groups_running = 0
        self.max_parallel_groups = self.max_runs_per_group = self.max_concurrent_runs = self.overlapping_runs = 0

    def free_ended(self) -> None:
        """Free the slots of runs that have ended by now."""
        heap, now, alive = self.heap, self.env.now, self.alive
        while heap and heap[0][0] <= now:
            g = heapq.heappop(heap)[1]
            alive[g] -= 1
            self.runs_alive -= 1
            if alive[g] == 0:
                self.groups_running -= 1

    def has_free(self) -> bool:
        """What StartJobRun finds: a free slot, or ConcurrentRunsExceeded."""
        heap = self.heap
        if heap and heap[0][0] <= self.env.now:
            self.free_ended()
        return self.runs_alive < self.capacity

    def take(self, g: int, end: float) -> None:
        """A run of group ``g`` holds a slot until ``end``."""
        alive = self.alive[g]
        if alive >= self.max_runs_per_group:
            self.max_runs_per_group = alive + 1
        if alive:
            self.overlapping_runs += 1
        else:
            self.groups_running = running = self.groups_running + 1
            if running > self.max_parallel_groups:
                self.max_parallel_groups = running
        self.alive[g] = alive + 1
        self.runs_alive = busy = self.runs_alive + 1
        if busy > self.max_concurrent_runs:
            self.max_concurrent_runs = busy
        heapq.heappush(self.heap, (end, g))
