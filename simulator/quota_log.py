"""Which AWS quotas a simulated run hit, when first, how often, and what each cost in latency.

A quota is "hit" when AWS would have refused or held back a call (a StartJobRun refused, a receive that
returned nothing, an invocation that waited for concurrency). Its cost is measured on what it delayed: from
the first refusal of a thing (a group's start, a wake-up's delivery) until that thing went through, so a
group refused ten times before its start counts one delay, the whole wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class QuotaHits:
    first_hit_s: float
    hits: int = 0
    delayed: int = 0
    delay_total_s: float = 0.0
    delay_max_s: float = 0.0


class QuotaLog:
    """Per quota (a ``simulator.limits.Limits`` field name): hits, and the delays of what they held back."""

    def __init__(self) -> None:
        self.quotas: dict[str, QuotaHits] = {}
        self._pending: dict[tuple[str, Any], float] = {}

    def hit(self, quota: str, now: float, what: Any = None) -> None:
        """``quota`` refused or held back ``what`` (a group, a message) at ``now``."""
        entry = self.quotas.get(quota)
        if entry is None:
            entry = self.quotas[quota] = QuotaHits(now)
        entry.hits += 1
        if what is not None:
            self._pending.setdefault((quota, what), now)

    def through(self, quota: str, what: Any, now: float) -> None:
        """``what``, held back by ``quota`` since its first refusal, went through at ``now``."""
        since = self._pending.pop((quota, what), None)
        if since is None:
            return
        entry = self.quotas[quota]
        wait = now - since
        if wait <= 0:
            return   # refused and through at the same instant: nothing was delayed
        entry.delayed += 1
        entry.delay_total_s += wait
        entry.delay_max_s = max(entry.delay_max_s, wait)

    def report(self) -> dict[str, dict[str, float]]:
        """Numbers only (replications average them): per quota hit, its first hit, hits and delays."""
        return {name: {"first_hit_s": q.first_hit_s, "hits": q.hits, "delayed": q.delayed,
                       "delay_total_s": q.delay_total_s, "delay_max_s": q.delay_max_s}
                for name, q in sorted(self.quotas.items())}
