"""The virtual clock: pipeline time stands still while anything works and jumps only when everything waits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.virtual_clock import VirtualClock

WALL = 5.0  # generous wall bound for anything that should happen at once


def _step(clock: VirtualClock) -> float | None:
    """What the demo's coordinator does: wait for idle, jump to the next deadline; the deadline (or None)."""
    assert clock.wait_idle(WALL)
    deadline = clock.next_deadline()
    if deadline is not None:
        clock.advance_to(deadline)
    return deadline


def test_time_jumps_to_a_sleepers_end_only_when_nothing_works() -> None:
    clock = VirtualClock()
    release, woke = threading.Event(), []

    def worker() -> None:
        release.wait(WALL)  # work the clock cannot see into: it must count as busy
        clock.sleep(10.0)
        woke.append(clock.now())

    clock.start_thread(worker)
    assert not clock.wait_idle(0.2)  # busy: no jump possible
    assert clock.now() == 0.0
    release.set()
    assert _step(clock) == 10.0
    assert clock.wait_idle(WALL)
    assert woke == [10.0]
    assert clock.next_deadline() is None


def test_a_busy_worker_holds_time_while_another_sleeps() -> None:
    clock = VirtualClock()
    busy_done, seen = threading.Event(), []

    def sleeper() -> None:
        clock.sleep(5.0)
        seen.append(("sleeper", clock.now()))

    def busy() -> None:
        busy_done.wait(WALL)
        seen.append(("busy", clock.now()))

    clock.start_thread(sleeper)
    clock.start_thread(busy)
    assert not clock.wait_idle(0.2)
    busy_done.set()
    assert _step(clock) == 5.0
    assert clock.wait_idle(WALL)
    assert seen == [("busy", 0.0), ("sleeper", 5.0)]


def test_call_later_fires_in_deadline_order_then_in_the_order_asked() -> None:
    clock = VirtualClock()
    fired: list[tuple[str, float]] = []
    for delay, name in ((5.0, "a"), (3.0, "b"), (5.0, "c"), (1.0, "cancelled")):
        handle = clock.call_later(delay, lambda n=name: fired.append((n, clock.now())))
        if name == "cancelled":
            handle.cancel()
    while _step(clock) is not None:
        pass
    assert fired == [("b", 3.0), ("a", 5.0), ("c", 5.0)]
    assert clock.now() == 5.0


def test_a_signal_hands_its_setters_turn_to_the_waiter_without_an_idle_gap() -> None:
    """B sets the signal and ends at once; A, woken, sleeps 1 s. The coordinator must never see idle with
    nothing due in between (that would end a demo as "not quiet" while A was about to act)."""
    for _ in range(30):
        clock = VirtualClock()
        signal = clock.signal()
        ended: list[float] = []

        def waiter(sig: threading.Event = signal, c: VirtualClock = clock, out: list[float] = ended) -> None:
            c.wait(sig)
            c.sleep(1.0)
            out.append(c.now())

        clock.start_thread(waiter)
        assert clock.wait_idle(WALL)  # A waits: idle, and nothing due
        assert clock.next_deadline() is None
        clock.start_thread(signal.set)
        assert _step(clock) == 1.0
        assert clock.wait_idle(WALL)
        assert ended == [1.0]


def test_submitted_work_counts_from_submission_and_a_wait_with_timeout_ends_at_it() -> None:
    clock = VirtualClock()
    gate, results = threading.Event(), []
    with ThreadPoolExecutor(max_workers=1) as pool:
        clock.submit(pool, gate.wait, WALL)  # occupies the only worker
        clock.submit(pool, lambda: results.append(clock.wait(clock.signal(), 30.0)))  # queued: still busy
        assert not clock.wait_idle(0.2)
        gate.set()
        assert _step(clock) == 30.0
        assert clock.wait_idle(WALL)
    assert results == [False]


def test_pollers_wake_on_notify_and_deadline_sources_are_told_of_each_jump() -> None:
    clock = VirtualClock()
    state = {"generation": 0}
    jumps: list[tuple[float, float]] = []
    clock.add_deadline_source(lambda: 42.0 if clock.now() < 42.0 else None, lambda a, b: jumps.append((a, b)))
    polled = []

    def poller() -> None:
        seen = 0
        while len(polled) < 2:
            clock.poll_wait(lambda s=seen: state["generation"] != s, 2.0)  # type: ignore[misc]  # no own deadline
            seen = state["generation"]
            polled.append(clock.now())

    clock.start_thread(poller)
    assert clock.wait_idle(WALL)
    assert clock.next_deadline() == 42.0  # the poller's 2 s timeout is no deadline
    state["generation"] += 1
    clock.notify()
    assert clock.wait_idle(WALL) and polled == [0.0]
    assert _step(clock) == 42.0
    assert jumps == [(0.0, 42.0)]
    state["generation"] += 1
    clock.notify()
    assert clock.wait_idle(WALL) and polled == [0.0, 42.0]


def test_close_ends_every_wait() -> None:
    clock, stop = VirtualClock(), threading.Event()
    results: list[bool] = []
    threads = [clock.start_thread(lambda: results.append(clock.sleep(1e9, stop))),
               clock.start_thread(lambda: results.append(clock.wait_for(lambda: False)))]
    assert clock.wait_idle(WALL)
    stop.set()
    clock.close()
    for thread in threads:
        thread.join(WALL)
    assert sorted(results) == [False, True]


def test_the_scaled_clock_keeps_its_api_in_wall_time() -> None:
    clock = PipelineClock(1000.0)
    fired = threading.Event()
    clock.call_later(50.0, fired.set)  # 50 ms of wall time
    assert clock.wait(fired, 5000.0)
    assert clock.wait_for(lambda: True, 1.0)
    assert not clock.wait_for(lambda: False, 10.0)  # 10 ms
    assert not clock.virtual and clock.participating()
