"""The SQS partial batch processor every queue handler uses: the ReportBatchItemFailures contract as AWS
documents it, since Lambda deletes every record the response does not name."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from landing_pipeline.runtime import observability as obs
from landing_pipeline.runtime.batch import RetryLater, SQSRecord, UnexpectedBatchEvent, process_batch
from tests.runtime.conftest import sqs_event


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(obs.logger.registered_handler, "stream", stream)  # Powertools bound stdout at import
    return stream


def _lines(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]


def _ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def test_a_batch_that_succeeds_reports_no_failures() -> None:
    event = sqs_event(["a", "b", "c"])
    seen: list[tuple[str, str, str | None]] = []
    response = process_batch("ctx", event, lambda ctx, r: seen.append((ctx, r.body, r.receipt_handle)))
    assert response == {"batchItemFailures": []}
    assert seen == [("ctx", "a", "rh-0"), ("ctx", "b", "rh-1"), ("ctx", "c", "rh-2")]   # in order, with the context


def test_only_the_record_that_raised_is_reported_and_the_others_still_run(log: io.StringIO) -> None:
    event = sqs_event(["ok", "bad", "also ok"])
    seen: list[str] = []

    def handle(ctx: object, record: SQSRecord) -> None:
        seen.append(record.body)
        if record.body == "bad":
            raise KeyError("no such group")

    response = process_batch(None, event, handle)
    assert response == {"batchItemFailures": [{"itemIdentifier": _ids(event)[1]}]}
    assert seen == ["ok", "bad", "also ok"]
    [line] = [line for line in _lines(log) if line.get("message_id") == _ids(event)[1]]
    assert line["level"] == "WARNING" and line["error"] == "KeyError: 'no such group'"


def test_a_batch_in_which_every_record_raised_is_reported_whole_without_raising(log: io.StringIO) -> None:
    event = sqs_event(["x", "y"])

    def handle(ctx: object, record: SQSRecord) -> None:
        raise RuntimeError(f"cannot {record.body}")

    response = process_batch(None, event, handle)   # raising would make every dispatcher hold a Lambda error
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in _ids(event)]}
    assert {line.get("message_id") for line in _lines(log) if line["level"] == "WARNING"} == set(_ids(event))


def test_a_hold_is_reported_and_logged_as_routine(log: io.StringIO) -> None:
    event = sqs_event(["wake"])

    def handle(ctx: object, record: SQSRecord) -> None:
        raise RetryLater("settle: back in 30 s")

    assert process_batch(None, event, handle) == {"batchItemFailures": [{"itemIdentifier": _ids(event)[0]}]}
    [line] = [line for line in _lines(log) if line.get("message_id") == _ids(event)[0]]
    assert line["level"] == "INFO" and line["reason"] == "settle: back in 30 s" and "exception" not in line


def test_a_crash_is_not_a_failed_record() -> None:
    """What is not an Exception (the emulator's FunctionCrash, an interrupt) ends the invocation, as a crash."""

    class Crash(BaseException):
        pass

    def handle(ctx: object, record: SQSRecord) -> None:
        raise Crash

    with pytest.raises(Crash):
        process_batch(None, sqs_event(["a"]), handle)


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}, {"detail-type": "Scheduled Event"}, None,
                                   []], ids=["empty", "no records", "not a list", "other event", "None", "a list"])
def test_an_event_that_is_not_an_sqs_batch_is_refused_clearly(event: Any) -> None:
    called: list[SQSRecord] = []
    with pytest.raises(UnexpectedBatchEvent, match="no Records list"):
        process_batch(None, event, lambda ctx, r: called.append(r))
    assert called == []


def test_a_record_without_a_message_id_refuses_the_whole_event_before_any_runs() -> None:
    """Its failure could not be reported (Lambda would delete it), so nothing is processed and the batch retried."""
    event = sqs_event(["a", "b"])
    del event["Records"][1]["messageId"]
    called: list[SQSRecord] = []
    with pytest.raises(UnexpectedBatchEvent, match=r"Records\[1\] has no messageId"):
        process_batch(None, event, lambda ctx, r: called.append(r))
    assert called == []


def test_a_record_is_slotted_and_carries_what_the_handlers_read() -> None:
    [raw] = sqs_event(["body"])["Records"]
    record = SQSRecord.from_event(raw, 0)
    assert (record.message_id, record.receipt_handle, record.body) == (raw["messageId"], "rh-0", "body")
    assert not hasattr(record, "__dict__")
