"""The ordered queue's message format and how SQS refusals are read."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from landing_pipeline.runtime.context import RuntimeContext
from landing_pipeline.runtime.queues import FileMessage, MalformedFileMessage, delete_message, set_visibility
from landing_pipeline.runtime.spec import PipelineSpec


class RefusingSqs:
    """Refuses visibility beyond ``limit`` (SQS's 12-hour rule) and any handle in ``stale``."""

    def __init__(self, limit: int = 43200, stale: tuple[str, ...] = ()):
        self.limit, self.stale, self.calls = limit, stale, []  # type: ignore[var-annotated]

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.calls.append(kwargs["VisibilityTimeout"])
        if kwargs["ReceiptHandle"] in self.stale:
            raise ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "Value x for parameter "
                               "ReceiptHandle is invalid. Reason: Message does not exist or is not available for "
                               "visibility timeout change."}}, "ChangeMessageVisibility")
        if kwargs["VisibilityTimeout"] > self.limit:
            raise ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "Value for parameter "
                               "VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is "
                               "beyond the limit [43200 seconds]"}}, "ChangeMessageVisibility")

    def delete_message(self, **kwargs: Any) -> None:
        if kwargs["ReceiptHandle"] in self.stale:
            raise ClientError({"Error": {"Code": "ReceiptHandleIsInvalid", "Message": "stale"}}, "DeleteMessage")


def _ctx(sqs: RefusingSqs) -> RuntimeContext:
    return RuntimeContext(spec=PipelineSpec(), ordered_queue_url="https://q", clients={"sqs": sqs})


def test_a_file_message_round_trips_with_unicode_keys() -> None:
    message = FileMessage(file_id="f" * 64, bucket="b", key="landing/straße 1+2.csv", version_id=None, etag="e",
                          size=12, group="straße~1234", received_at="2025-09-15T10:15:00.000Z")
    assert FileMessage.from_body(message.to_body()) == message


@pytest.mark.parametrize(("body", "problem"), [("{", "not JSON"), ("[1]", "not a JSON object"),
                                               ('{"file_id": "f", "bucket": "b"}', "lacks key, group")])
def test_a_body_that_is_not_a_file_says_why(body: str, problem: str) -> None:
    with pytest.raises(MalformedFileMessage, match=problem):
        FileMessage.from_body(body)


def test_a_hold_past_the_12_hour_limit_is_shortened_not_lost() -> None:
    sqs = RefusingSqs(limit=1000)
    assert set_visibility(_ctx(sqs), "rh", 2400) == 600
    assert sqs.calls == [2400, 1200, 600]


def test_a_stale_receipt_handle_is_reported_not_raised() -> None:
    sqs = RefusingSqs(stale=("old",))
    assert set_visibility(_ctx(sqs), "old", 60) is None
    assert delete_message(_ctx(sqs), "old") is False
    assert delete_message(_ctx(sqs), "new") is True
    assert delete_message(_ctx(sqs), None) is False
