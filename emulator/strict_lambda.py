"""Lambda's harsher side: a function killed between two AWS calls, killed at its timeout, and handed the
same SQS message as another invocation at once.

Each invocation the mapping runner makes is an ``Invocation`` on its thread; the handler's own clients'
requests pass ``HandlerFaults`` (a request hook), which counts them. That count is what makes the faults
deterministic: ``crash-in:dispatcher:4`` kills the dispatcher just before its 4th AWS call (its earlier
calls took effect), and ``duplicate-delivery:GLOB:4`` runs a second invocation with the same message, to its
end, just before the first invocation's 4th call. A handler still calling AWS after its timeout is dead
(Lambda stopped its sandbox): the call raises ``FunctionCrash``, and an invocation that returns after its
timeout counts as failed, its batch left to reappear, as Lambda does (``Invocation.past_timeout`` says how
the run time is counted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.emulator.faults import FaultPlan, FunctionCrash
from landing_pipeline.emulator.strict_requests import body_key, from_handler, operation

DUPLICATE_WAIT_WALL_S = 20.0
"""Wall seconds the first invocation waits for its duplicate to finish before going on regardless."""


def handler_name(handler: str) -> str:
    """``landing_pipeline.runtime.dispatcher.handler`` -> ``dispatcher`` (what ``crash-in`` matches)."""
    return handler.rsplit(".", 2)[-2] if handler.count(".") >= 1 else handler


@dataclass
class Invocation:
    handler: str
    deadline: float  # pipeline seconds
    timeout_s: float
    pause_before: int | None = None
    reached: threading.Event = field(default_factory=threading.Event)
    duplicate_done: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    timed_out: bool = False
    stalled_s: float = 0.0
    started_wall: float = field(default_factory=time.monotonic)

    def past_timeout(self) -> bool:
        """Whether the invocation has run longer than its timeout. Its own work counts in wall seconds (the
        speedup compresses the pipeline's waits, not the handlers' CPU: at 120x a 0.3 s invocation is not 36 s
        long), injected stalls in pipeline seconds."""
        return (time.monotonic() - self.started_wall) + self.stalled_s > self.timeout_s


_current = threading.local()


def current() -> Invocation | None:
    return getattr(_current, "invocation", None)


@contextmanager
def invocation(inv: Invocation) -> Iterator[Invocation]:
    previous = current()
    _current.invocation = inv
    try:
        yield inv
    finally:
        _current.invocation = previous
        inv.reached.set()  # a first invocation that never reached its pause point releases its duplicate


class HandlerFaults:
    """The request hook: counts a handler's calls and applies crash-in, slow-handler, the timeout and the
    duplicate's pause point."""

    def __init__(self, aws: Any, faults: FaultPlan):
        self.aws, self.faults = aws, faults
        self.redeliver: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] | None = None
        """How the duplicate of a delivery is received again (``StrictReceipts.redeliver``: a new handle)."""
        self.log: list[tuple[float, str, int, str]] = []
        """(pipeline time, handler, step, what happened): the crashes and kills, for tests and reports."""

    def __call__(self, request: Any, serve: Any) -> Any:
        inv = current()
        if inv is None or not from_handler(request):
            return serve(request)
        inv.calls += 1
        step, clock = inv.calls, self.aws.clock
        if inv.pause_before == step:
            inv.reached.set()
            inv.duplicate_done.wait(DUPLICATE_WAIT_WALL_S)
        if inv.past_timeout():
            inv.timed_out = True
            self.log.append((clock.now(), inv.handler, step, "timed out"))
            raise FunctionCrash(f"Task timed out after {inv.timeout_s:g} seconds (killed before AWS call "
                                f"{step}, {operation(request)})")
        if self.faults.parameter("crash-in", inv.handler) == step and self.faults.fire_once("crash-in", inv.handler):
            self.log.append((clock.now(), inv.handler, step, "crashed"))
            raise FunctionCrash(f"{inv.handler} killed before its AWS call {step} ({operation(request)}) "
                                "(fault crash-in)")
        response = serve(request)
        if step == 1:
            stall = self.faults.fire_once("slow-handler", inv.handler)
            if stall:
                self.log.append((clock.now(), inv.handler, step, f"stalled {stall}s"))
                clock.sleep(stall)
                inv.stalled_s += stall
        return response

    def redelivered(self, queue_url: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The duplicate's copy of ``messages``: received again, with its own receipt handles."""
        if self.redeliver is None:
            return messages
        return self.redeliver(queue_url.rsplit("/", 1)[-1], messages)

    def duplicate_step(self, messages: list[dict[str, Any]], function: str) -> int | None:
        """The pause point when one of ``messages`` is to be delivered twice (``duplicate-delivery``: once per
        file and function, so the router's and the dispatcher's deliveries of a file are both duplicated)."""
        for message in messages:
            key = body_key(str(message.get("Body", "")))
            if key:
                step = self.faults.fire_once("duplicate-delivery", key, scope=function)
                if step:
                    return step
        return None
