"""``emulator/moto_requests.py``: the environ built directly is the one werkzeug's builder gives moto, key for
key and in the same order, for every request of a demo run and for awkward ones; what it does not cover is
left to moto."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from moto.core.request import Request

from landing_pipeline.emulator import moto_requests


def _comparable(environ: dict[str, Any]) -> list[tuple[str, Any]]:
    """The environ in order, the body stream read (a stream object differs by identity, not content)."""
    out = []
    for key, value in environ.items():
        if key == "wsgi.input":
            value = value.getvalue() if isinstance(value, io.BytesIO) else value.read()
        elif key == "werkzeug.request":
            value = type(value)
        elif key == "wsgi.errors":
            value = value is sys.stderr
        out.append((key, value))
    return out


def _moto(method: str, url: str, headers: dict[str, Any], body: Any) -> list[tuple[str, Any]]:
    return _comparable(Request.from_primitives(method, url, headers, body).environ)


def _ours(method: str, url: str, headers: dict[str, Any], body: Any) -> list[tuple[str, Any]]:
    prepared = AWSPreparedRequest(method, url, headers, body, stream_output=False)
    built = moto_requests.request_from_botocore(prepared)
    assert built is not None, "a simple request must take the direct way"
    return _comparable(built.environ)


AWKWARD = [
    ("PUT", "https://landing.s3.eu-west-1.amazonaws.com/orders/2025%2F09/a%20b+c.csv", {
        "Content-Type": "text/csv", "x-amz-meta-my_key": "v", "x-amz-meta-Other": "w", "Content-MD5": "x"},
     b"id,amount\n1,2\n"),
    ("PUT", "https://b.s3.amazonaws.com/caf%C3%A9/%E2%82%AC.json", {"Content-Length": "99"}, b"{}"),
    ("GET", "https://b.s3.amazonaws.com/?list-type=2&prefix=a%2Fb&max-keys=3", {"Accept": "*/*"}, None),
    ("HEAD", "https://b.s3.amazonaws.com/k", {"Content-Length": "0"}, b""),
    ("POST", "https://iam.amazonaws.com/", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
     "Action=ListRoles&Version=2010-05-08"),
    ("POST", "https://iam.amazonaws.com/", {"Content-Type": "application/x-www-form-urlencoded"}, b""),
    ("POST", "https://sqs.eu-west-1.amazonaws.com/", {
        "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0",
        "User-Agent": b"Boto3/1.40", "Transfer-Encoding": "chunked"}, b'{"QueueUrl": "q", "MessageBody": "\\u00e9"}'),
    ("GET", "http://127.0.0.1:5000/2015-03-31/functions/f;v1/code?Qualifier=%24LATEST", {"Host": "example:81"},
     None),
    ("DELETE", "https://glue.eu-west-1.amazonaws.com/", {"content-type": "a/b", "Content-Type": "c/d"}, b"x"),
]


@pytest.mark.parametrize(("method", "url", "headers", "body"), AWKWARD)
def test_awkward_requests_give_moto_s_environ(method: str, url: str, headers: dict[str, Any], body: Any) -> None:
    assert _ours(method, url, headers, body) == _moto(method, url, headers, body)


@pytest.mark.parametrize(("url", "headers", "body"), [
    ("https://b.s3.amazonaws.com//double", {}, b""),
    ("https://b.s3.amazonaws.com/k", {"X-Bad": "a\r\nb"}, b""),
    ("https://b.s3.amazonaws.com/k", {}, io.BytesIO(b"streamed")),
    ("https://b.s3.amazonaws.com/k", {"Content-Type": "multipart/form-data; boundary=x"}, b""),
])
def test_what_it_does_not_cover_is_left_to_moto(url: str, headers: dict[str, Any], body: Any) -> None:
    prepared = AWSPreparedRequest("PUT", url, headers, body, stream_output=False)
    assert moto_requests.request_from_botocore(prepared) is None


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every request built the direct way is also built moto's way and compared; yields the mismatches' URLs,
    after counting that requests went through."""
    checked: list[str] = []
    mismatches: list[str] = []
    direct = moto_requests.request_from_botocore

    def both(request: Any) -> Any:
        built = direct(request)
        if built is not None:
            checked.append(request.url)
            body = request.body
            if _comparable(dict(built.environ)) != _moto(request.method, request.url, request.headers, body):
                mismatches.append(f"{request.method} {request.url}")
            built.environ["wsgi.input"].seek(0)
        return built

    monkeypatch.setattr(moto_requests, "request_from_botocore", both)
    yield mismatches
    assert len(checked) > 100


def test_every_request_of_a_demo_run_gives_moto_s_environ(compared: list[str]) -> None:
    from landing_pipeline.emulator import chaos

    report = chaos.run(3, files=12, groups=3)
    assert not report.failed
    assert compared == []
