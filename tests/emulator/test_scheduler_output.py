"""The scheduler's reconciler pass writes where the other handlers write (emulator/scheduler.py): its log
lines go to the function log, never onto the terminal of ``landing demo --chaos`` (issue 11)."""

from __future__ import annotations

import io
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any

from landing_pipeline.emulator.clock import PipelineClock
from landing_pipeline.emulator.function_output import routed_stdout
from landing_pipeline.emulator.observe import Recorder
from landing_pipeline.emulator.scheduler import Scheduler


@dataclass
class FakeAWS:
    clock: PipelineClock
    region: str = "eu-west-1"
    account_id: str = "123456789012"


def test_a_reconciler_pass_logs_to_the_function_log_not_the_terminal() -> None:
    terminal, sink = io.StringIO(), io.StringIO()
    logger = logging.getLogger("test-scheduler-output")
    saved = sys.stdout
    sys.stdout = terminal
    handler = logging.StreamHandler(sys.stdout)  # bound to stdout before the routing, as powertools' is
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def reconciler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        print('{"level": "INFO", "message": "reconciler pass", "looked_at": 1}')
        logger.info('{"level": "INFO", "message": "lease resolved from Glue"}')
        return {"looked_at": 1}

    try:
        scheduler = Scheduler(FakeAWS(PipelineClock(1.0)), 60.0, reconciler, None, Recorder(),  # type: ignore[arg-type]
                              threading.Event())
        with routed_stdout(sink):
            print("the demo's own line")
            log = scheduler.fire()
    finally:
        sys.stdout = saved
        logger.removeHandler(handler)
    assert log.error is None and log.result == {"looked_at": 1}
    assert terminal.getvalue() == "the demo's own line\n"
    assert sink.getvalue().splitlines() == ['{"level": "INFO", "message": "reconciler pass", "looked_at": 1}',
                                            '{"level": "INFO", "message": "lease resolved from Glue"}']
