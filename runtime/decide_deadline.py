"""How long a decision stands: the reconciler's answer for a group waiting in the slot line, known without
running the rules again.

Every reconciler pass re-reads each due group and decides again. For a group that waits for a Glue slot and
that nobody else wrote since the reconciler's own last decision about it, the rules' answer can only be the
same "stay in line" decision with the clock moved on: its head file's settle and backoff deadlines, which
``decide`` compares with ``now``, were already past at the previous decision and stay past; its open files
are the ones that decision saw (it changed none and announced none, so the head, the blocking file and the
late files are as they were); its slot-line place, ``wake_pending`` and ``last_started_key`` are the ones that
decision committed. Only the guard (the commit bumped ``version``), ``next_check_at`` (``now`` plus the
interval) and whether a pending wake-up is due for a resend depend on the new pass.

On the seed card that repetition is 95 % of the decisions the simulator takes; ``repeat_wait`` and
``repeat_committed`` give the same values as ``decide`` and ``committed`` for it (tests/runtime/
test_decide_deadline.py checks them against those functions on random histories) at a fraction of the cost.
Anything else returns None: decide as usual. The handlers do not need this; it is for callers that decide
about many waiting groups per pass in memory (the simulator).
"""

from __future__ import annotations

from landing_pipeline.runtime.decide import Decision, Guard
from landing_pipeline.runtime.group_state import GroupItem, Phase, Policy, evolve

IN_LINE = "in line for a Glue slot"
"""The reason ``decide`` gives when a caller other than the dispatcher leaves a waiting group in its place."""


def repeat_wait(previous: Decision, group: GroupItem, now: float, policy: Policy) -> Decision | None:
    """``decide(group, files, now, policy, caller=Caller.RECONCILER)``, derived from ``previous``.

    Precondition (the caller's to ensure, e.g. by the identity of the items it keeps): ``group`` and its open
    files are exactly what committing ``previous``, the reconciler's decision about this group, left, with no
    other write since. None when ``previous`` is not a stay-in-line decision that changed no file, or the
    group is not due yet (a pass before ``next_check_at``, which this shortcut does not cover)."""
    if (previous.kind != "wait_for_slot" or previous.reason != IN_LINE or previous.files or previous.announce
            or group.state != Phase.WAITING_FOR_SLOT or group.next_check_at is None or now < group.next_check_at
            or group.waiting_since != previous.waiting_since or group.wake_pending != previous.wake_pending
            or group.not_before is not None or group.leased):
        return None
    return evolve(previous, guard=Guard(group.seq, group.version, group.epoch),
                  next_check_at=now + policy.check_interval_s, send_wake=group.wake_pending)


def repeat_committed(group: GroupItem, d: Decision) -> GroupItem:
    """``committed(group, files, d, now)[0]`` for a ``d`` from ``repeat_wait`` (its open files are unchanged):
    the group item with ``version`` + 1 and the new ``next_check_at``; every other field ``d`` writes already
    has that value in ``group``."""
    return evolve(group, version=group.version + 1, next_check_at=d.next_check_at)
