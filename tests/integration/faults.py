"""Inject DynamoDB failures through botocore's own event system, so they travel the real
path: botocore's retry mode first, then the code under test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse


class _Headers(dict[str, str]):
    pass


@contextmanager
def failing(client: Any, operation: str, code: str, status: int = 400, times: int = 1000) -> Iterator[list[int]]:
    """Answer ``operation`` with error ``code`` (for at most ``times`` attempts); yields the attempt count."""
    attempts: list[int] = []

    def respond(request: Any, **_: Any) -> AWSResponse | None:
        if len(attempts) >= times:
            return None
        attempts.append(1)
        body = f'{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}'.encode()
        return AWSResponse(request.url, status, {"x-amzn-RequestId": "injected"}, _RawBody(body))

    event = f"before-send.dynamodb.{operation}"
    client.meta.events.register(event, respond)
    try:
        yield attempts
    finally:
        client.meta.events.unregister(event, respond)


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self) -> bytes:
        return self._data


@contextmanager
def transaction_cancelled(client: Any, reasons: list[dict[str, Any]]) -> Iterator[None]:
    """The next TransactWriteItems is cancelled by DynamoDB with these reasons (one per action,
    ``Item`` as ReturnValuesOnConditionCheckFailure=ALL_OLD returns it)."""
    sent: list[int] = []

    def respond(request: Any, **_: Any) -> AWSResponse | None:
        if sent:
            return None
        sent.append(1)
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled (injected)",
                "CancellationReasons": reasons,
            }
        ).encode()
        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "injected"}, _RawBody(body))

    event = "before-send.dynamodb.TransactWriteItems"
    client.meta.events.register(event, respond)
    try:
        yield
    finally:
        client.meta.events.unregister(event, respond)
