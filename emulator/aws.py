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
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from landing_pipeline.emulator import botocore_speedups, moto_speedups
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


@contextmanager
def _retries_wait_on(clock: PipelineClock) -> Iterator[None]:
    """botocore's retry backoff sleeps on the pipeline clock, as it takes real time on AWS (a handler whose
    answer was lost waits its backoff in pipeline seconds, not in wall seconds that the speedup multiplies)."""
    import botocore.endpoint

    original = botocore.endpoint.time

    class PipelineTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            if clock.participating():  # a thread the clock does not count (the coordinator) must not wait
                clock.sleep(seconds)  # for a jump only it can make: it retries at once instead

    botocore.endpoint.time = PipelineTime()  # type: ignore[assignment]
    try:
        yield
    finally:
        botocore.endpoint.time = original


def _credentialed(client: Any, region: str) -> Any:
    """An unsigned client whose requests still name their credential scope as a signed one does.

    SigV4 signing costs a fifth of a request's client-side time and moto checks no signature, but moto
    reads the access key (the account) and, for some services, the region from the ``Authorization``
    header: without one, SQS files a queue under us-east-1. So the header is written as signing would
    write it, with the credential scope and no real signature."""
    access_key = client._request_signer._credentials.access_key if client._request_signer._credentials else "test"
    service = client.meta.service_model.signing_name

    def authorize(request: Any, **_: Any) -> None:
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/20250101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=emulated")

    client.meta.events.register("request-created", authorize)
    return client


def _chain(hook: RequestHook, serve: Serve) -> Serve:
    return lambda request: hook(request, serve)


class QueueActivity:
    """Wakes pollers when something they could receive may have appeared in a queue.

    Lambda's pollers long-poll; a poller here cannot wait inside moto (every request holds the emulator's
    lock), so it waits on this instead: a send, a delete (which can release a FIFO group) or a visibility change
    (a message made visible again) in a queue wakes its pollers at once. Messages that become visible because
    time passed are found by the pollers' periodic receive (on a virtual clock: the receive after each jump).
    The waits are the clock's, so a virtual clock knows a waiting poller is idle.
    """

    def __init__(self, clock: PipelineClock) -> None:
        self.clock = clock
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()

    def touch(self, queue_name: str) -> None:
        with self._lock:
            self._generation[queue_name] = self._generation.get(queue_name, 0) + 1
        self.clock.notify()

    def generation(self, queue_name: str) -> int:
        return self._generation.get(queue_name, 0)

    def wait(self, queue_name: str, seen: int, timeout_s: float,
             stop: threading.Event | None = None) -> None:
        """Return when the queue changed since generation ``seen`` (or ``stop`` is set), or after ``timeout_s``
        pipeline seconds."""
        generations = self._generation
        self.clock.poll_wait(lambda: generations.get(queue_name, 0) != seen or (stop is not None and stop.is_set()),
                             timeout_s)


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
    botocore_speedups.share_client_classes(session)
    return session


class InProcessAWS:
    """A started moto with the emulator's lock and clock; ``client(service)`` gives boto3 clients for it."""

    def __init__(self, region: str, clock: PipelineClock | None = None):
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = clock or PipelineClock(1.0)
        self.lock = threading.RLock()
        self.queue_activity = QueueActivity(self.clock)
        self.requests = 0
        """AWS API requests moto has served (a measure of the pipeline's chattiness, for the benchmark)."""
        self.moto_s = 0.0
        """Wall seconds spent inside moto serving them (its parsing, backend and serialising, lock held)."""
        self.moto_cpu_s = 0.0
        """CPU seconds of the serving threads inside moto (``moto_s`` less any wait for the GIL)."""
        self.request_hooks: list[RequestHook] = []
        """The strict layer's hooks, outermost first (emulator/strict.py installs them)."""
        self._stack = ExitStack()
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._config = Config(region_name=region, retries={"mode": "standard", "max_attempts": 3},
                              max_pool_connections=64, signature_version=UNSIGNED)

    def __enter__(self) -> InProcessAWS:
        from moto import mock_aws
        from moto.core.models import botocore_stubber
        from moto.moto_api import state_manager

        self._stack.enter_context(mock_aws())
        original = botocore_stubber.process_request
        fast = moto_speedups.fast_process_request(original)
        lock = self.lock

        clock = self.clock

        def locked(request: Any) -> Any:
            with lock:
                self.requests += 1
                clock.touch()
                wall, cpu = time.perf_counter(), time.thread_time()
                try:
                    return fast(request)
                finally:
                    self.moto_s += time.perf_counter() - wall
                    self.moto_cpu_s += time.thread_time() - cpu

        def serialised(request: Any) -> Any:
            serve: Serve = locked
            for hook in reversed(self.request_hooks):
                serve = _chain(hook, serve)
            return serve(request)

        botocore_stubber.process_request = serialised  # type: ignore[method-assign]
        self._stack.callback(setattr, botocore_stubber, "process_request", original)
        self._stack.enter_context(sqs_runs_on(self.clock))
        self._stack.enter_context(_requests_arrive_over_tls())
        self._stack.enter_context(moto_speedups.installed())
        state_manager.set_transition("glue::job_run", {"progression": "manual", "times": _FOREVER})
        self._stack.callback(state_manager.unset_transition, "glue::job_run")
        self._session = boto3.session.Session(region_name=self.region, botocore_session=_botocore_session())
        self._clients = {}
        self._watch_queues()
        self._stack.enter_context(_retries_wait_on(self.clock))
        self.clock.add_deadline_source(self.next_sqs_change, self.touch_sqs_changes)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()

    def _watch_queues(self) -> None:
        """Tell ``queue_activity`` about every SQS change that can make a message receivable: a send; a delete
        in a FIFO queue that still holds messages (it may release their group; on a standard queue a delete
        frees nothing a receive had not already been given); a visibility change to 0. (A longer visibility
        makes nothing receivable, and each wake-up costs a receive.)"""
        backend = self._sqs_backend()
        activity = self.queue_activity
        send, delete, change = backend.send_message, backend.delete_message, backend.change_message_visibility
        receive = backend.receive_message

        def receive_message(queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any) -> Any:
            # A long poll would wait inside moto with the emulator's lock held, where no message can arrive; on a
            # virtual clock moto's loop (until its pipeline-time end) would never end. Answer at once instead.
            return receive(queue_name, count, 0, *args, **kwargs)

        def send_message(queue_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return send(queue_name, *args, **kwargs)
            finally:
                activity.touch(queue_name)

        def delete_message(queue_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return delete(queue_name, *args, **kwargs)
            finally:
                queue = backend.queues.get(queue_name)
                if queue is None or (queue.fifo_queue and queue._messages):
                    activity.touch(queue_name)

        def change_message_visibility(queue_name: str, receipt_handle: str, visibility_timeout: int) -> Any:
            try:
                return change(queue_name, receipt_handle, visibility_timeout)
            finally:
                if int(visibility_timeout) == 0:
                    activity.touch(queue_name)

        backend.send_message = send_message
        backend.receive_message = receive_message
        backend.delete_message = delete_message
        backend.change_message_visibility = change_message_visibility

    def _sqs_backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account_id][self.region]

    def _moto_queue(self, queue_url: str) -> Any:
        """moto's model of the queue at ``queue_url`` (None: no such queue); call with the lock held."""
        return self._sqs_backend().queues.get(queue_url.rsplit("/", 1)[-1])

    def _sqs_changes(self) -> Iterator[tuple[str, float]]:
        """(queue name, epoch ms) of every moment a stored message changes by itself: its visibility or delay
        ends, or its retention period does (call with the lock held)."""
        for name, queue in list(self._sqs_backend().queues.items()):
            retention_ms = float(queue.message_retention_period) * 1000.0
            for message in queue._messages:
                yield name, message.visible_at
                yield name, message.delayed_until
                yield name, (message.sent_timestamp or 0) + retention_ms

    def next_sqs_change(self) -> float | None:
        """The earliest pipeline time after now at which a stored message changes by itself. moto compares
        ``now > visible_at`` and ``now < delayed_until`` in milliseconds, so the time returned is a
        millisecond past the end (far enough that float rounding cannot leave the end ahead of the clock)."""
        now_ms = self.clock.epoch() * 1000.0
        with self.lock:
            ends = [end for _, end in self._sqs_changes() if end >= now_ms]
        if not ends:
            return None
        return self.clock.now() + (min(ends) + 1.0 - now_ms) / 1000.0

    def touch_sqs_changes(self, before: float, after: float) -> None:
        """Time jumped from ``before`` to ``after`` (pipeline seconds): wake the pollers of every queue holding
        a message that is receivable-looking now (visible, not delayed: what the jump may have released, and
        what a FIFO group held back until now) or whose retention ended meanwhile. A virtual clock's pollers
        wait for nothing else; a real poller would find the same messages at its next periodic receive."""
        after_ms = self.clock.epoch() * 1000.0
        before_ms = after_ms - (after - before) * 1000.0
        changed = set()
        with self.lock:
            for name, queue in list(self._sqs_backend().queues.items()):
                retention_ms = float(queue.message_retention_period) * 1000.0
                for message in queue._messages:
                    if (after_ms > message.visible_at and after_ms >= message.delayed_until) or (
                            before_ms <= (message.sent_timestamp or 0) + retention_ms <= after_ms):
                        changed.add(name)
                        break
        for name in sorted(changed):
            self.queue_activity.touch(name)

    def queue_depth(self, queue_url: str) -> int:
        """Messages a queue holds, visible or not (the three Approximate* attributes summed), read from moto's
        model directly: the quiet checks run after every jump, and a botocore round trip per queue is most of
        their cost."""
        with self.lock:
            queue = self._moto_queue(queue_url)
            return len(queue._messages) if queue is not None else 0

    def receivable(self, queue_url: str) -> bool:
        """Whether a receive on the queue could return a message now (one is visible and not delayed: moto's
        ``Queue.messages``, without building the list), read from moto's model. An event source mapping's poller
        asks before it receives: its empty receives were a tenth of a chaos run's requests. moto's receive looks
        at exactly these messages (and moves a message past its maxReceiveCount to the DLQ only when it is one of
        them), so skipping the receive changes nothing."""
        with self.lock:
            queue = self._moto_queue(queue_url)
            return queue is None or any(m.visible and not m.delayed for m in queue._messages)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulated account and region, one per service: clients are thread-safe, and
        building one costs more CPU than the emulator's Glue engine spends on a run (it asks per run)."""
        if self._session is None:
            raise RuntimeError("InProcessAWS is not started; use it as a context manager")
        client = self._clients.get(service)
        if client is None:  # two threads may both build one: the first stored is the one everybody gets
            client = self._clients.setdefault(
                service, _credentialed(self._session.client(service, config=self._config), self.region))
        return client

    def handler_client(self, service: str, retries: dict[str, Any] | None = None) -> Any:
        """A client as a Lambda handler has it: the runtime's retry configuration and timeouts (``retries``:
        another one, as the runtime's StartJobRun client has none), and a marked User-Agent so the strict
        layer can lose its answers (a retry the handler never sees)."""
        if self._session is None:
            raise RuntimeError("InProcessAWS is not started; use it as a context manager")
        config = Config(region_name=self.region, retries=dict(retries or HANDLER_RETRIES),  # botocore rewrites it
                        connect_timeout=5, read_timeout=30, max_pool_connections=64, user_agent_extra=HANDLER_AGENT,
                        signature_version=UNSIGNED)
        return _credentialed(self._session.client(service, config=config), self.region)

    def glue_job_runs(self, job_name: str) -> list[Any]:
        """moto's own run objects of a job (the Glue engine sets their state; read under the lock)."""
        from moto.glue.models import glue_backends

        with self.lock:
            job = glue_backends[self.account_id][self.region].jobs.get(job_name)
            return list(job.job_runs) if job is not None else []

    def glue_backend(self) -> Any:
        from moto.glue.models import glue_backends

        return glue_backends[self.account_id][self.region]
