"""Order checks from the records alone: ordering violations and late files against the stack's order.

Both read only when each file was recorded, when it finished, when each lease was taken and when each run's
lease was taken, with the files of a group ranked by their sort keys (``orderBy``). A file *starts* when a
lease is taken for it (whether or not a run follows: a start that died before StartJobRun still made the
later files late): a file recorded after that did not exist for the decision, so it is late rather than a
violation.

- **late**: a file recorded after a later file of its group (by sort key) had started;
- **ordering violation**: a file whose run started while an earlier file of its group, recorded before that
  start, had not finished. It must be impossible.
"""

from __future__ import annotations

import math

import numpy as np


def ranks(sort_keys: list[str]) -> np.ndarray:
    """Each file's rank among all files by sort key (within a group, the stack's order)."""
    order = sorted(range(len(sort_keys)), key=sort_keys.__getitem__)
    rank = np.empty(len(sort_keys), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(sort_keys))
    return rank


def _first_lease(files: int, run_file: np.ndarray, run_lease: np.ndarray) -> np.ndarray:
    first = np.full(files, math.inf)
    np.minimum.at(first, run_file, run_lease)
    return first


def late_files(group: np.ndarray, rank: np.ndarray, recorded: np.ndarray, lease_file: np.ndarray,
               lease_at: np.ndarray) -> np.ndarray:
    """Per file: recorded after the first lease of a later file of its group."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=bool)
    first = _first_lease(n, lease_file, lease_at)
    order = np.lexsort((-rank, group))   # each group's files, latest sort key first
    g, starts = group[order], first[order]
    # A running minimum per group, on the starts' ranks among their distinct values rather than on the times
    # themselves: integers survive the per-group offset exactly, where a float offset rounded a lease taken at the
    # very instant a file was recorded to just before it (a file counted late that was not).
    values = np.unique(starts)
    index = np.searchsorted(values, starts)
    offset = g.astype(np.int64) * (len(values) + 1)
    running = np.minimum.accumulate(index - offset) + offset
    before = np.full(n, math.inf)   # the earliest start among the files before it in this order: those later by key
    before[1:] = values[running[:-1]]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    before[new_group] = math.inf
    late = np.zeros(n, dtype=bool)
    late[order] = before < recorded[order]
    return late


def ordering_violations(group: np.ndarray, rank: np.ndarray, recorded: np.ndarray, finished: np.ndarray,
                        run_file: np.ndarray, run_lease: np.ndarray) -> int:
    """Files with a run whose lease was taken while an earlier file of the group, recorded before that lease,
    had not finished (``finished``: inf for never). A fast vectorised bound, then an exact look at the few
    runs it cannot clear (those an earlier file recorded *after* them, a late file, would flag)."""
    n = len(group)
    if n == 0 or not len(run_file):
        return 0
    order = np.lexsort((rank, group))   # each group's files in the stack's order
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    g, done = group[order], finished[order]
    finite = done[np.isfinite(done)]
    horizon = float(max(finite.max() if len(finite) else 0.0, run_lease.max(), recorded.max())) + 1.0
    capped = np.minimum(done, horizon)
    offset = g * (2 * horizon + 1.0)
    running = np.maximum.accumulate(capped + offset) - offset
    earlier = np.empty(n)
    earlier[0] = -1.0
    earlier[1:] = running[:-1]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    earlier[new_group] = -1.0
    at = position[run_file]
    candidates = np.flatnonzero(earlier[at] > run_lease + 1e-9)
    if not len(candidates):
        return 0
    starts_of_group = np.flatnonzero(new_group)
    group_start = starts_of_group[np.searchsorted(starts_of_group, at[candidates], side="right") - 1]
    rec = recorded[order]
    # a batch: the files of one lease (one run) are processed in order by the job, so an earlier file of the same
    # lease is not one the later file started past
    same_lease = set(zip(run_file.tolist(), run_lease.tolist(), strict=True))
    bad: set[int] = set()
    for c, first in zip(candidates.tolist(), group_start.tolist(), strict=True):
        p, lease = int(at[c]), float(run_lease[c])
        if any(rec[q] < lease < done[q] - 1e-9 and (int(order[q]), lease) not in same_lease for q in range(first, p)):
            bad.add(int(run_file[c]))
    return len(bad)
