"""EventBridge Scheduler for the emulator: the reconciler's pass every ``reconcileMinutes`` pipeline minutes.

moto stores a schedule and never fires it, so a deployed stack in the emulator would never reconcile: a
lost Glue event would hold its group for ever, and the findings the reconciler closes (F5, F6, F10) could
not be shown. This thread fires the schedule the stack declares, in the emulator's clock, calling the
deployed reconciler function's handler (found by its handler string among the deployed functions) inside a
Lambda invocation of the strict layer, so ``crash-in:reconciler:N`` and the function's timeout apply to it as
to the other functions. Until the stack deploys a reconciler, the runtime's reconciler handler is called
with the dispatcher's environment (the runtime context the emulator installs for every handler).

Passes are logged (``Scheduler.passes``) with what each did; the demo reads ``last_pass`` to tell "quiet"
from "waiting for a pass" (emulator/demo.py).
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS
from landing_pipeline.emulator.faults import FunctionCrash
from landing_pipeline.emulator.function_output import function_scope
from landing_pipeline.emulator.lambda_runner import DeployedFunction, Handler, LambdaContext, resolve_handler
from landing_pipeline.emulator.observe import Recorder
from landing_pipeline.emulator.strict_lambda import HandlerFaults, Invocation, handler_name, invocation
from landing_pipeline.runtime.contract import RECONCILER_HANDLER

DEFAULT_TIMEOUT_S = 300
"""The reconciler's timeout when no function is deployed for it (the runtime's handler is called directly)."""


@dataclass(frozen=True)
class PassLog:
    at: float            # pipeline seconds
    result: dict[str, Any] | None
    error: str | None = None


@dataclass
class Scheduler:
    """Fires the reconciler every ``interval_s`` pipeline seconds until ``stop`` is set."""

    aws: InProcessAWS
    interval_s: float
    handler: Handler
    function: DeployedFunction | None
    recorder: Recorder
    stop: threading.Event
    strict: HandlerFaults | None = None
    passes: list[PassLog] = field(default_factory=list)
    running: bool = False
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.function.name if self.function is not None else "reconciler"

    @property
    def deployed(self) -> bool:
        """Whether the stack deploys the reconciler (else the runtime's handler is called)."""
        return self.function is not None

    def start(self) -> None:
        """A clock participant (``clock.start_thread``): on a virtual clock, its wait for the next pass is one
        the clock can jump to."""
        self._thread = self.aws.clock.start_thread(self._loop, name="scheduler-reconciler")

    def join(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()

    def last_pass(self) -> PassLog | None:
        with self._lock:
            return self.passes[-1] if self.passes else None

    def _loop(self) -> None:
        clock = self.aws.clock
        next_at = clock.now() + self.interval_s
        while not clock.sleep_until(next_at, self.stop):
            self.fire()
            next_at += self.interval_s
            if next_at < clock.now():   # a pass longer than the interval: the next one is due at once
                next_at = clock.now()

    def fire(self) -> PassLog:
        """One pass, as the schedule's invoke would run it (also called by tests and the demo)."""
        clock = self.aws.clock
        timeout = self.function.timeout_s if self.function is not None else DEFAULT_TIMEOUT_S
        inv = Invocation(handler_name(RECONCILER_HANDLER), clock.now() + timeout, timeout)
        event = {"source": "landing-pipeline.reconciler", "scheduled_time": _iso(clock.epoch()), "attempt": "1"}
        context = LambdaContext(self.function or _placeholder(timeout), self.aws.region, self.aws.account_id,
                                lambda: max(0, int((inv.deadline - clock.now()) * 1000)))
        error: str | None = None
        crashed = False
        result: Any = None
        with self._lock:
            self.running = True
        try:
            with function_scope():  # its log lines go to the function log, as the other handlers' do
                if self.strict is not None:
                    with invocation(inv):
                        result = self.handler(event, context)
                else:
                    result = self.handler(event, context)
        except FunctionCrash as exc:
            crashed, error = True, f"crashed: {exc}"
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            if not isinstance(exc, RuntimeError):
                error += "\n" + traceback.format_exc(limit=3)
        if error is None and self.strict is not None and inv.past_timeout():
            crashed, error = True, f"crashed: Task timed out after {timeout} seconds"
        log = PassLog(clock.now(), result if isinstance(result, dict) and error is None else None, error)
        with self._lock:
            self.passes.append(log)
            self.running = False
        self.recorder.invoked(self.name, clock.now(), error=error, crashed=crashed)
        return log


def find_reconciler(aws: InProcessAWS) -> DeployedFunction | None:
    """The deployed function whose handler is the reconciler's (no event source mapping invokes it)."""
    from moto.awslambda.models import lambda_backends

    lambda_ = aws.client("lambda")
    for page in lambda_.get_paginator("list_functions").paginate():
        for config in page.get("Functions", []):
            if config.get("Handler") != RECONCILER_HANDLER:
                continue
            with aws.lock:
                code = lambda_backends[aws.account_id][aws.region].get_function(config["FunctionName"]).code_bytes
            return DeployedFunction(
                name=config["FunctionName"], arn=config["FunctionArn"], handler=config["Handler"],
                environment=dict((config.get("Environment") or {}).get("Variables") or {}),
                timeout_s=int(config.get("Timeout", 3)), memory_mb=int(config.get("MemorySize", 128)), code=code)
    return None


def scheduler_for(aws: InProcessAWS, reconcile_minutes: float, recorder: Recorder, stop: threading.Event,
                  strict: HandlerFaults | None = None) -> Scheduler:
    """The reconciler's schedule: the deployed function if there is one, else the runtime's handler."""
    function = find_reconciler(aws)
    if function is not None:
        handler = resolve_handler(function)
    else:
        from landing_pipeline.runtime.reconciler import handler as runtime_handler

        handler = runtime_handler
    return Scheduler(aws, 60.0 * float(reconcile_minutes), handler, function, recorder, stop, strict=strict)


def _placeholder(timeout_s: int) -> DeployedFunction:
    return DeployedFunction("reconciler", "arn:aws:lambda:::function:reconciler", RECONCILER_HANDLER, {}, timeout_s,
                            256, b"")


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
