"""The dispatcher's invocations under Lambda's concurrency quotas.

The ordered queue's event source mapping asks for ``MaximumConcurrency`` invocations at once
(``contract.dispatcher_concurrency``); Lambda grants at most the function's reserved concurrency, if it has
one, and the account's "Concurrent executions" (1,000 by default per Region,
https://docs.aws.amazon.com/lambda/latest/dg/limits.html). When a quota is the lower of these, a wake-up
that finds every granted invocation busy waits in the queue (the poller's invoke is throttled and retried):
that wait is the quota's latency. The account's quota is shared with the router, completion and reconciler
functions and with the account's other functions; the model gives the dispatcher all of it (the router's
own cap is in ``simulator.intake``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from landing_pipeline.simulator.capacity import dispatcher_concurrency
from landing_pipeline.simulator.processes import Dispatchers
from landing_pipeline.simulator.quota_log import QuotaLog

if TYPE_CHECKING:
    from landing_pipeline.simulator.model import PipelineModel


def granted(model: PipelineModel) -> tuple[int, str | None]:
    """The dispatcher's concurrency and the quota that caps it (None: the mapping's own MaximumConcurrency)."""
    limits = model.scenario.limits
    wanted = dispatcher_concurrency(model.spec)
    caps = [(wanted, None), (limits.lambda_concurrency, "lambda_concurrency")]
    if limits.lambda_function_concurrency is not None:
        caps.append((limits.lambda_function_concurrency, "lambda_function_concurrency"))
    value, quota = min(caps, key=lambda cap: (cap[0], cap[1] is not None))
    return value, quota


class QuotaDispatchers(Dispatchers):
    """``Dispatchers`` with the concurrency Lambda grants; a delivery that waits for it is the quota's hit."""

    def __init__(self, model: PipelineModel, log: QuotaLog) -> None:
        concurrency, self.quota = granted(model)
        super().__init__(model, concurrency)
        self.log = log

    def offer(self, g: int) -> None:
        if not self.free and self.quota is not None:
            self.log.hit(self.quota, self.model.env.now, g)
        super().offer(g)

    def _receive(self, g: int) -> None:
        if self.quota is not None:
            self.log.through(self.quota, g, self.model.env.now)
        super()._receive(g)
