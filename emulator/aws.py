"""In-process emulated AWS: moto, made safe for the emulator's threads and put on the pipeline clock.

The emulator runs pollers, handlers and Glue runs on many threads against one
moto. moto's models are not written for concurrent callers (two receives can
both see a message visible and both deliver it), so every request moto serves
is serialised behind one lock; a request takes microseconds to milliseconds and
nothing waits inside moto (the emulator never long-polls), so the lock costs
little. moto's Glue runs are put on manual progression: they stay in the state
the Glue engine gives them, and moto itself then enforces ``MaxConcurrentRuns``
with ``ConcurrentRunsExceededException``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from landing_pipeline.emulator.clock import PipelineClock, sqs_runs_on

ACCOUNT_ID = "123456789012"  # moto's default account
_FOREVER = 10**15  # reads before moto would move a manual-progression run on by itself
HANDLER_AGENT = "landing-emulator-handler"
"""User-Agent suffix of the handlers' own clients: how the strict layer tells their requests from the
emulator's (Lambda's poller deletes, the Glue engine's events), which AWS would never time out on them."""
HANDLER_RETRIES = {"mode": "standard", "max_attempts": 4}
"""The retry configuration the runtime's own clients use (runtime/context.py, _default_client_factory)."""

Serve = Callable[[Any], Any]
RequestHook = Callable[[Any, Serve], Any]
"""``hook(request, serve)``: sees every request before moto does and calls ``serve`` to have moto serve it
(or does not: an answer lost, a function killed). Hooks run outside the emulator's lock, so one may wait."""


@contextmanager
def _requests_arrive_over_tls() -> Iterator[None]:
    """Evaluate bucket policies knowing every request arrives over HTTPS.

    moto evaluates a bucket policy's Deny statements but supports no condition operator except
    StringEquals, and treats any other condition as met, so the stack's TLS-only statement
    (Deny when ``aws:SecureTransport`` is false) would deny every request. The emulator's clients use
    HTTPS endpoints, so for them that statement never applies; it is left out of the evaluation (and
    only it: the policy stored in moto stays exactly what the program declared).
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        document["Statement"] = [s for s in statements if not _tls_only(s)]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    try:
        yield
    finally:
        FakeBucket.get_permission = original  # type: ignore[method-assign]


def _tls_only(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    return (statement.get("Effect") == "Deny" and list(condition) == ["Bool"]
            and {k.lower(): str(v).lower() for k, v in condition["Bool"].items()} == {"aws:securetransport": "false"})


def _chain(hook: RequestHook, serve: Serve) -> Serve:
    return lambda request: hook(request, serve)


class QueueActivity:
    """Wakes pollers when something they could receive may have appeared in a queue.

    Lambda's pollers long-poll; a poller here cannot wait inside moto (every request holds the emulator's
    lock), so it waits on this instead: a send, a delete (which can release a FIFO group) or a visibility change
    (a message made visible again) in a queue wakes its pollers at once. Messages that become visible because
    time passed are found by the pollers' periodic receive.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._generation: dict[str, int] = {}

    def touch(self, queue_name: str) -> None:
        with self._changed:
            self._generation[queue_name] = self._generation.get(queue_name, 0) + 1
            self._changed.notify_all()

    def generation(self, queue_name: str) -> int:
        with self._changed:
            return self._generation.get(queue_name, 0)

    def wait(self, queue_name: str, seen: int, timeout: float) -> None:
        """Return when the queue changed since generation ``seen``, or after ``timeout`` wall seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._generation.get(queue_name, 0) != seen, timeout=timeout)


_LOADER: Any = None


def _botocore_session() -> Any:
    """A new botocore session sharing one model loader with every other in this process.

    A session parses each service's JSON model on first use (about 0.08 s per service); a chaos sweep starts
    hundreds of emulated accounts, each with its own session, and re-read the same models every time."""
    import botocore.loaders
    import botocore.session

    global _LOADER
    session = botocore.session.Session()
    if _LOADER is None:
        _LOADER = botocore.loaders.create_loader()
    session.register_component("data_loader", _LOADER)
    return session


class InProcessAWS:
    """A started moto with the emulator's lock and clock; ``client(service)`` gives boto3 clients for it."""

    def __init__(self, region: str, clock: PipelineClock | None = None):
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = clock or PipelineClock(1.0)
        self.lock = threading.RLock()
        self.queue_activity = QueueActivity()
        self.requests = 0
        """AWS API requests moto has served (a measure of the pipeline's chattiness, for the benchmark)."""
        self.request_hooks: list[RequestHook] = []
        """The strict layer's hooks, outermost first (emulator/strict.py installs them)."""
        self._stack = ExitStack()
        self._session: Any = None
        self._config = Config(region_name=region, retries={"mode": "standard", "max_attempts": 3},
                              max_pool_connections=64)

    def __enter__(self) -> InProcessAWS:
        from moto import mock_aws
        from moto.core.models import botocore_stubber
        from moto.moto_api import state_manager

        self._stack.enter_context(mock_aws())
        original = botocore_stubber.process_request
        lock = self.lock

        def locked(request: Any) -> Any:
            with lock:
                self.requests += 1
                return original(request)

        def serialised(request: Any) -> Any:
            serve: Serve = locked
            for hook in reversed(self.request_hooks):
                serve = _chain(hook, serve)
            return serve(request)

        botocore_stubber.process_request = serialised  # type: ignore[method-assign]
        self._stack.callback(setattr, botocore_stubber, "process_request", original)
        self._stack.enter_context(sqs_runs_on(self.clock))
        self._stack.enter_context(_requests_arrive_over_tls())
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": _FOREVER})
        self._stack.callback(state_manager.unset_transition, "glue::job_run")
        self._session = boto3.session.Session(region_name=self.region, botocore_session=_botocore_session())
        self._watch_queues()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()

    def _watch_queues(self) -> None:
        """Tell ``queue_activity`` about every SQS change that can make a message receivable."""
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account_id][self.region]
        activity = self.queue_activity
        for method in ("send_message", "delete_message", "change_message_visibility"):
            original = getattr(backend, method)

            def wrapper(queue_name: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                try:
                    return _original(queue_name, *args, **kwargs)
                finally:
                    activity.touch(queue_name)

            setattr(backend, method, wrapper)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulated account and region (clients are thread-safe; share them)."""
        if self._session is None:
            raise RuntimeError("InProcessAWS is not started; use it as a context manager")
        return self._session.client(service, config=self._config)

    def handler_client(self, service: str, retries: dict[str, Any] | None = None) -> Any:
        """A client as a Lambda handler has it: the runtime's retry configuration and timeouts (``retries``:
        another one, as the runtime's StartJobRun client has none), and a marked User-Agent so the strict
        layer can lose its answers (a retry the handler never sees)."""
        if self._session is None:
            raise RuntimeError("InProcessAWS is not started; use it as a context manager")
        config = Config(region_name=self.region, retries=dict(retries or HANDLER_RETRIES),  # botocore rewrites it
                        connect_timeout=5, read_timeout=30, max_pool_connections=64, user_agent_extra=HANDLER_AGENT)
        return self._session.client(service, config=config)

    def glue_job_runs(self, job_name: str) -> list[Any]:
        """moto's own run objects of a job (the Glue engine sets their state; read under the lock)."""
        from moto.glue.models import glue_backends

        with self.lock:
            job = glue_backends[self.account_id][self.region].jobs.get(job_name)
            return list(job.job_runs) if job is not None else []

    def glue_backend(self) -> Any:
        from moto.glue.models import glue_backends

        return glue_backends[self.account_id][self.region]
