"""DynamoDB plumbing shared by the repositories: item (de)serialisation and error translation."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from lendbridge.errors import DependencyUnavailable, Throttled

THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
UNAVAILABLE_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})
THROTTLED_RETRY_AFTER = 5
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


def cancellation_codes(error: ClientError) -> list[str]:
    """Per-action reasons of a cancelled TransactWriteItems, in request order."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]
