"""Answers lost after the call took effect: the handler's own botocore client retries, as it does on AWS.

A request moto has already served (the run started, the message sent, the item written) is made to look
like it never answered: a read timeout for Glue and SQS, a 500 ``InternalServerError`` for DynamoDB. The
handler's client was built with the runtime's own retry configuration (``aws.HANDLER_RETRIES``: standard
mode, 4 attempts), so botocore retries the call by itself and the handler sees one call that succeeded,
or a ``ConditionalCheckFailedException`` for a conditional write its own first attempt already made.
Only the handlers' requests lose answers: Lambda's own deletes and the emulator's events are AWS's side.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ReadTimeoutError

from landing_pipeline.emulator.faults import FaultPlan
from landing_pipeline.emulator.strict_requests import FileKeys, from_handler, operation, parameters

KIND_OF_OPERATION = {
    "StartJobRun": "ambiguous-start", "SendMessage": "ambiguous-send", "DeleteMessage": "ambiguous-delete",
    "ChangeMessageVisibility": "ambiguous-visibility", "PutItem": "ambiguous-write",
    "UpdateItem": "ambiguous-write", "TransactWriteItems": "ambiguous-write",
}
_WATCHED = {"PutItem", "TransactWriteItems"}  # calls whose items name their key (FileKeys.learn)


class LostAnswers:
    """The request hook; ``log`` lists (pipeline time, operation, key) of every answer it lost."""

    def __init__(self, aws: Any, faults: FaultPlan):
        self.aws, self.faults = aws, faults
        self.keys = FileKeys(aws)
        self.kinds = {kind for kind in KIND_OF_OPERATION.values() if faults.has(kind)}
        self.log: list[tuple[float, str, str]] = []

    def __call__(self, request: Any, serve: Any) -> Any:
        if not self.kinds:  # no ambiguous-* fault: nothing to lose, nothing to learn
            return serve(request)
        op = operation(request)
        kind = KIND_OF_OPERATION.get(op)
        if kind is None or (kind not in self.kinds and op not in _WATCHED):
            return serve(request)
        params = parameters(request)
        self.keys.learn(op, params)
        if kind not in self.kinds or not from_handler(request):
            return serve(request)
        key = self.keys.key_of(op, params)
        response = serve(request)
        status = response[0] if isinstance(response, tuple) else 200
        if not key or status != 200 or not self.faults.fire(kind, key):
            return response
        self.log.append((self.aws.clock.now(), op, key))
        if op in ("PutItem", "UpdateItem", "TransactWriteItems"):
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                               "message": "Internal server error (the write took effect; fault ambiguous-write)"})
            return 500, {"Content-Type": "application/x-amz-json-1.0"}, body.encode()
        raise ReadTimeoutError(endpoint_url=f"{request.url} ({op} took effect; fault {kind})")
