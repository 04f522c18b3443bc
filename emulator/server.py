"""The emulated account on a local HTTP endpoint: moto's server app, bound to 127.0.0.1, sharing its backends.

``landing serve`` runs the stack in-process (``InProcessAWS``, the real handlers on their own threads) and
opens the same account to tools outside the process: the AWS CLI, a boto3 script, ``landing status``. moto's
server mode (``moto.server``'s werkzeug app) and its in-process mock read and write the same backend objects
in one process, so a file put over HTTP lands in the bucket the router's rule watches, and the ledger the
handlers write is the one a ``landing status`` over HTTP reads.

moto's models are not safe for concurrent callers (emulator/aws.py), and the handlers' requests are
serialised behind ``InProcessAWS.lock``; a request arriving over HTTP is served under the same lock, its body
read before the lock is taken (a slow client must not stall the pipeline). It does not pass through the
strict layer's request hooks (lost answers, handler crashes, GSI lag): those act on requests the handlers send,
and a tool outside is no handler. What the strict layer changes in moto's models (FIFO deduplication window,
receipt handles, late S3 events) holds for every request, wherever it came from.

The address is 127.0.0.1 and only that: nothing else on the network can reach the emulated account.
"""

from __future__ import annotations

import errno
import io
import logging
import socket
import threading
from collections.abc import Iterable
from typing import Any

from landing_pipeline.emulator.aws import InProcessAWS

HOST = "127.0.0.1"
"""The only address served: a loopback one (``landing serve`` has no option to change it)."""


MOTO_API = "/moto-api"
"""moto's control API (reset, state transitions, the dashboard): not for clients of a running stack."""


class EndpointError(OSError):
    """The endpoint cannot be opened (the port is taken, or not a port); the message says what to do."""


def _read_body(environ: dict[str, Any]) -> None:
    """Read the whole request body now, outside the lock, and hand moto an in-memory copy."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        body = stream.read(int(length)) if int(length) else b""
    elif environ.get("wsgi.input_terminated"):  # chunked transfer: werkzeug ends the stream at the last chunk
        body = stream.read()
        environ["CONTENT_LENGTH"] = str(len(body))
    else:
        return
    environ["wsgi.input"] = io.BytesIO(body)


class LockedApp:
    """moto's server app, one request at a time under the emulator's lock (the answer read whole inside it)."""

    def __init__(self, aws: InProcessAWS):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.aws = aws
        self.app = DomainDispatcherApplication(create_backend_app)
        self.requests = 0
        """Requests served over HTTP (the handlers' own go through ``aws.requests``)."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(MOTO_API):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"moto's own API is not served here: its reset would delete the deployed stack under the "
                    b"running pipeline. Stop landing serve and start it again for a fresh account.\n"]
        _read_body(environ)
        with self.aws.lock:
            self.requests += 1
            self.aws.clock.touch()
            result = self.app(environ, start_response)
            try:
                chunks = list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return chunks


class Endpoint:
    """A threaded werkzeug server on ``HOST``:``port`` (0: a free port the system picks) serving ``LockedApp``."""

    def __init__(self, aws: InProcessAWS, port: int = 0):
        if not 0 <= port <= 65535:
            raise EndpointError(f"--port {port}: a port is 0 (any free one) to 65535")
        self.aws = aws
        self.app = LockedApp(aws)
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def bind(self) -> Endpoint:
        """Take the port now (a port in use fails here, before seconds of deploying); requests wait in the
        socket's backlog until ``serve``."""
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request on the terminal
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:  # bound here, not by werkzeug, which prints and exits the process when a port is taken
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, self._port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if exc.errno == errno.EADDRINUSE:
                raise EndpointError(f"port {self._port} on {HOST} is in use (another `landing serve`, a moto "
                                    "server, LocalStack?); stop it, or pass --port 0 for a free port") from None
            raise EndpointError(f"cannot listen on {HOST}:{self._port}: {exc.strerror or exc}") from None
        try:
            self._server = make_server(HOST, self._port, self.app, threaded=True, request_handler=MotoRequestHandler,
                                       fd=listener.fileno())  # werkzeug serves a duplicate of the descriptor
        finally:
            listener.close()
        self._server.daemon_threads = True  # a client that never finishes its request does not hold the exit
        return self

    def serve(self) -> Endpoint:
        if self._server is None:
            self.bind()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and close the socket (requests being served finish on their own threads)."""
        if self._server is None:
            return
        if self._thread is not None:  # shutdown() waits for serve_forever, which a bound-only server never ran
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
