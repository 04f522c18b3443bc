"""moto's request object for a botocore request, built from its WSGI environ directly.

moto turns every in-process request into a werkzeug ``Request`` (``moto.core.request.normalize_request``) with
werkzeug's test ``EnvironBuilder``, a general tool (forms, files, multipart, JSON, auth) that costs more than
any other single step of serving a small request: a twentieth of a chaos seed's CPU. The requests botocore
sends need only a small part of it: a method, a URL, headers and a body of bytes. ``request_from_botocore``
writes the environ the builder writes for exactly those inputs (the same keys and values, in the builder's
order of precedence), then does what moto's ``Request.from_primitives`` does after it. Anything outside that
part (a streaming body, a path beginning ``//``, a multipart form, a header value with a line break) answers
None and moto builds the request as before. ``tests/emulator/test_moto_requests.py`` compares the two environs
on every request of a demo run and on awkward ones.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit

_FORM = "application/x-www-form-urlencoded"


def _latin1(text: str) -> str:
    """werkzeug's ``_wsgi_encoding_dance``: WSGI carries text as latin-1 code points of its UTF-8 bytes."""
    return text.encode().decode("latin1")


def environ_for(method: str, url: str, headers: Any, body: Any) -> dict[str, Any] | None:
    """The environ ``Request.from_primitives(method, url, headers, body)`` builds, or None when it is not one
    of the simple cases above."""
    from werkzeug.urls import iri_to_uri

    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode()
    else:
        return None  # a stream (AwsChunkedWrapper, a file): moto reads it its own way
    header_items = []
    for key, value in headers.items():
        if key.lower() == "transfer-encoding":
            continue
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        if not isinstance(text, str) or "\n" in text or "\r" in text:
            return None  # werkzeug converts or refuses these: leave it to werkzeug
        header_items.append((key, text))
    parsed = urlparse(url)  # as from_primitives parses it (``;params`` are not part of the path)
    path, query = parsed.path, parsed.query
    if path.startswith("//") or "?" in path or "#" in path:
        return None
    scheme, host = parsed.scheme, urlsplit(iri_to_uri(f"{parsed.scheme}://{parsed.netloc}")).netloc
    path_uri = iri_to_uri(path)

    # werkzeug's Headers.get: the first header of that name, in any case
    content_type = next((v for k, v in header_items if k.lower() == "content-type"), None)
    mimetype = content_type.partition(";")[0].strip() if content_type else None
    if data:
        stream = BytesIO(data)
        content_length: str | None = str(len(data))  # the stream's length, whatever the header says
    elif mimetype == "multipart/form-data":
        return None
    elif mimetype == _FORM:
        stream, content_length = BytesIO(b""), "0"
    else:  # the builder drops a Content-Length header as it starts (its own length argument is None)
        stream, content_length = BytesIO(), None

    server_name, sep, port_text = host.partition(":")
    port = int(port_text) if sep and port_text.isdigit() else (443 if scheme == "https" else 80)
    raw_uri = _latin1(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": _latin1(unquote(path_uri)),
        "QUERY_STRING": _latin1(query), "REQUEST_URI": raw_uri, "RAW_URI": raw_uri,
        "SERVER_NAME": server_name, "SERVER_PORT": str(port), "HTTP_HOST": host, "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scheme, "wsgi.input": stream, "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    combined: defaultdict[str, list[str]] = defaultdict(list)
    for key, value in header_items:
        if key.lower() in ("content-type", "content-length"):
            continue
        combined[f"HTTP_{key.upper().replace('-', '_')}"].append(value)
    for key, values in combined.items():
        environ[key] = ", ".join(values)
    return environ


def request_from_botocore(request: Any) -> Any:
    """moto's ``Request`` for a botocore ``AWSPreparedRequest`` (as ``normalize_request`` makes it), or None."""
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        Request,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    environ = environ_for(request.method, request.url, request.headers, request.body)
    if environ is None:
        return None
    built = Request(environ)
    built.environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {
        environ_key_for_header(key): key for key in request.headers
        if key.lower() != "transfer-encoding" and should_preserve_original_header_name(key)}
    built.environ.setdefault("CONTENT_LENGTH", "0")
    return built
