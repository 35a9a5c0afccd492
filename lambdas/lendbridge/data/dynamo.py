"""DynamoDB plumbing shared by the repositories: item (de)serialisation and error translation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from lendbridge.errors import DependencyUnavailable, Throttled

THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
UNAVAILABLE_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})
THROTTLED_RETRY_AFTER = 5
MAX_BATCH_GET_KEYS = 100
# UnprocessedKeys are retried with backoff; a table that keeps refusing fails the call instead
# of spinning until the function times out.
MAX_UNPROCESSED_ROUNDS = 8
Key = tuple[str, str]
UNAVAILABLE_RETRY_AFTER = 10

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def to_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Expression attribute values; unlike ``to_item`` keeps explicit NULLs."""
    return {k: _serializer.serialize(v) for k, v in values.items()}


NEW_ITEM = "attribute_not_exists(PK)"


def put_action(
    table: str,
    item: Mapping[str, Any],
    condition: str = NEW_ITEM,
    *,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A TransactWriteItems ``Put``, conditional (by default: only if the item is new)."""
    put: dict[str, Any] = {"TableName": table, "Item": to_item(item), "ConditionExpression": condition}
    if names:
        put["ExpressionAttributeNames"] = dict(names)
    if values:
        put["ExpressionAttributeValues"] = to_values(values)
    return {"Put": put}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn DynamoDB's capacity and availability failures (after botocore's own retries)
    into the domain's retryable errors; everything else propagates unchanged."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLING_CODES:
            raise Throttled(
                f"Database request rate exceeded. Please retry after {THROTTLED_RETRY_AFTER} seconds.",
                retry_after=THROTTLED_RETRY_AFTER,
            ) from error
        if code in UNAVAILABLE_CODES:
            raise DependencyUnavailable(
                f"Database temporarily unavailable. Please retry after {UNAVAILABLE_RETRY_AFTER} seconds.",
                retry_after=UNAVAILABLE_RETRY_AFTER,
            ) from error
        raise
    except (ConnectionError, ReadTimeoutError) as error:
        raise DependencyUnavailable(
            f"Database temporarily unavailable. Please retry after {UNAVAILABLE_RETRY_AFTER} seconds.",
            retry_after=UNAVAILABLE_RETRY_AFTER,
        ) from error


def batch_get(
    client: Any,
    table: str,
    wanted: Iterable[Key],
    *,
    projection: str | None = None,
    names: Mapping[str, str] | None = None,
    on_call: Callable[[], None] | None = None,
    consistent: bool = True,
) -> list[dict[str, Any]]:
    """The items at ``wanted`` that exist, strongly consistent unless told otherwise, in BatchGetItem calls of at
    most 100 keys; keys DynamoDB leaves unprocessed are retried with backoff (botocore does
    not retry them itself)."""
    pending = [to_item({"PK": pk, "SK": sk}) for pk, sk in dict.fromkeys(wanted)]
    found: list[dict[str, Any]] = []
    delay, rounds = 0.05, 0
    while pending:
        chunk, pending = pending[:MAX_BATCH_GET_KEYS], pending[MAX_BATCH_GET_KEYS:]
        request: dict[str, Any] = {"Keys": chunk, "ConsistentRead": consistent}
        if projection:
            request["ProjectionExpression"] = projection
            request["ExpressionAttributeNames"] = dict(names or {})
        with translated_errors():
            response = client.batch_get_item(RequestItems={table: request})
        if on_call:
            on_call()
        found += [from_item(item) for item in response["Responses"].get(table, [])]
        leftover = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if leftover:
            rounds += 1
            if rounds > MAX_UNPROCESSED_ROUNDS:
                raise Throttled("BatchGetItem kept leaving keys unprocessed", retry_after=60)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            pending = leftover + pending
    return found
