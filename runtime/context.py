"""Everything a handler needs from its surroundings, gathered in one object that callers can replace.

A Lambda builds one ``RuntimeContext`` per cold start from its environment and
creates AWS clients only when a code path first needs one (the router never
touches Glue). Tests and the emulator build a context from any mapping and hand
in their own clients (moto's, or a Glue client wrapped to inject a crash), so
the same handler code runs in AWS, in tests and in the emulator.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from landing_pipeline.runtime.contract import (
    CATALOG_DATABASE_ENV,
    DEAD_FILES_QUEUE_URL_ENV,
    FEEDS_URI_ENV,
    INTAKE_DLQ_URL_ENV,
    JOB_NAME_ENV,
    LEDGER_TABLE_ENV,
    ORDERED_DLQ_URL_ENV,
    ORDERED_QUEUE_URL_ENV,
    OUTPUT_BUCKET_ENV,
    RESOURCE_ENV,
)
from landing_pipeline.runtime.errors import OperationalError
from landing_pipeline.runtime.spec import PipelineSpec, from_env

if TYPE_CHECKING:
    from landing_pipeline.runtime.ledger import Ledger

ClientFactory = Callable[[str], Any]


class RuntimeConfigError(OperationalError):
    """A function is missing an environment variable the pipeline should have set; names it and the fix."""


def aws_error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (duck-typed, so handler modules need not import
    botocore just to catch it), or None for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def is_aws_error(exc: BaseException, *codes: str) -> bool:
    code = aws_error_code(exc)
    return code is not None and (not codes or code in codes)


class MonotonicMillis:
    """Milliseconds that never repeat or go back for one context: files routed in the same millisecond (one
    batch) keep the order the router enqueued them in, not the order of their hashes."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self, ts: float) -> int:
        with self._lock:
            self._last = max(int(ts * 1000), self._last + 1)
            return self._last


GLUE_STARTS = "glue-starts"
"""The client name of Glue for StartJobRun only: SDK retries off, as StartJobRun has no idempotency token and
a retried call whose first answer was lost starts a second run (F1). Every other call retries as usual."""


def _default_client_factory(service: str) -> Any:
    import boto3  # lazily: the first AWS call pays for it, not the import of a handler module
    from botocore.config import Config

    if service == GLUE_STARTS:
        return boto3.client("glue", config=Config(retries={"mode": "standard", "total_max_attempts": 1},
                                                  connect_timeout=5, read_timeout=30))
    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 4},
                                               connect_timeout=5, read_timeout=30))


@dataclass
class RuntimeContext:
    """The spec, the names of the pipeline's resources, and its AWS clients (created on first use)."""

    spec: PipelineSpec
    ordered_queue_url: str = ""
    ordered_dlq_url: str = ""
    intake_dlq_url: str = ""
    ledger_table: str = ""
    job_name: str = ""
    output_bucket: str = ""
    dead_files_queue_url: str = ""
    catalog_database: str = ""   # only with feeds: where the feeds' tables are
    clients: dict[str, Any] = field(default_factory=dict)
    client_factory: ClientFactory = _default_client_factory
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    sequence_ms: MonotonicMillis = field(default_factory=MonotonicMillis, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _ledger: Ledger | None = field(default=None, repr=False, compare=False)

    @property
    def keeps_catalog(self) -> bool:
        """The stack registers its feeds' tables (``runtime.catalog_sync``): only with feeds and a database."""
        return bool(self.catalog_database and self.spec.feeds)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, clients: Mapping[str, Any] | None = None,
                 client_factory: ClientFactory | None = None, clock: Callable[[], float] | None = None,
                 rng: random.Random | None = None) -> RuntimeContext:
        """A context from ``LANDING_*`` variables (``os.environ`` by default), as the Lambdas receive them."""
        env = os.environ if environ is None else environ
        context = cls(spec=from_env(env), clients=dict(clients or {}),
                      ordered_queue_url=env.get(ORDERED_QUEUE_URL_ENV, ""),
                      ordered_dlq_url=env.get(ORDERED_DLQ_URL_ENV, ""), intake_dlq_url=env.get(INTAKE_DLQ_URL_ENV, ""),
                      ledger_table=env.get(LEDGER_TABLE_ENV, ""), job_name=env.get(JOB_NAME_ENV, ""),
                      output_bucket=env.get(OUTPUT_BUCKET_ENV, ""),
                      dead_files_queue_url=env.get(DEAD_FILES_QUEUE_URL_ENV, ""),
                      catalog_database=env.get(CATALOG_DATABASE_ENV, ""))
        if client_factory is not None:
            context.client_factory = client_factory
        if clock is not None:
            context.clock = clock
        if rng is not None:
            context.rng = rng
        uri = env.get(FEEDS_URI_ENV)
        if uri and not context.spec.feeds:
            context.spec = _with_feeds_from(context, uri)
        return context

    def require(self, *names: str) -> RuntimeContext:
        """Fail at cold start, naming every missing variable, rather than on the first file."""
        missing = [RESOURCE_ENV[name] for name in names if not getattr(self, name)]
        if missing:
            raise RuntimeConfigError(
                f"missing environment variable(s) {', '.join(missing)}: the function was not deployed by the "
                "landing-pipeline components (or they were edited by hand). Fix: redeploy with `pulumi up`, or "
                "set them to the pipeline's resource names (see docs/interfaces.md).")
        return self

    def client(self, service: str) -> Any:
        """The client for ``service``: the one handed in, else one made (once) by the factory."""
        existing = self.clients.get(service)
        if existing is not None:
            return existing
        with self._lock:
            if service not in self.clients:
                self.clients[service] = self.client_factory(service)
            return self.clients[service]

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def glue(self) -> Any:
        return self.client("glue")

    @property
    def glue_starts(self) -> Any:
        """Glue for StartJobRun: a handed-in ``glue-starts`` client, else one made without SDK retries; a context
        handed only a ``glue`` client (tests, the emulator) uses that one."""
        if GLUE_STARTS not in self.clients and "glue" in self.clients:
            return self.clients["glue"]
        return self.client(GLUE_STARTS)

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            from landing_pipeline.runtime.ledger import Ledger

            self._ledger = Ledger(self.dynamodb, self.ledger_table, clock=self.clock,
                                  max_slots=self.spec.max_parallel_groups)
        return self._ledger

    def now(self) -> float:
        return self.clock()


_installed: RuntimeContext | None = None
_from_environment: RuntimeContext | None = None
_install_lock = threading.Lock()


def install(context: RuntimeContext | None) -> None:
    """Make every ``handler`` of this process use ``context`` (None: back to ``os.environ``).

    The emulator resolves functions by their handler string and calls ``handler(event, context)``; this is
    how it makes those calls use its own clients without touching the handler modules.
    """
    global _installed
    _installed = context


def _with_feeds_from(context: RuntimeContext, uri: str) -> PipelineSpec:
    """The spec with the feeds of the document at ``uri`` (read once, at cold start): feeds too long for the
    environment. A document that is missing or not feeds fails the cold start, naming the variable and the fix."""
    import dataclasses

    from landing_pipeline.runtime.feeds import feeds_from_json

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        text = context.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        return dataclasses.replace(context.spec, feeds=feeds_from_json(text))
    except Exception as exc:
        raise RuntimeConfigError(f"{FEEDS_URI_ENV}={uri}: the feeds document cannot be read ({exc}). Fix: deploy "
                                 "the stack again (pulumi up writes it), or check the function's role may read "
                                 "it") from exc


def handler_context(*required: str) -> RuntimeContext:
    """The context a Lambda handler uses: the installed one, else one built once from ``os.environ``."""
    global _from_environment
    if _installed is not None:
        return _installed.require(*required)
    if _from_environment is None:
        with _install_lock:
            if _from_environment is None:
                _from_environment = RuntimeContext.from_env()
    return _from_environment.require(*required)
