"""Compact stored forms of values the loan item's roster repeats once per participant: every
byte there is paid on every write to the loan (twice in a transaction, once more in the
borrower index's copy) and read by every my-loans page. Each form round-trips exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, SupportsBytes, cast

from boto3.dynamodb.types import Binary

from lendbridge.domain.loans import ParticipantStatus

# One letter per status. None is a whole status word, so an entry's first element tells the
# compact format from the one written before it (which holds the word).
STATUS_CODES: dict[ParticipantStatus, str] = {
    ParticipantStatus.PENDING: "P",
    ParticipantStatus.ACCEPTED: "A",
    ParticipantStatus.DECLINED: "D",
    ParticipantStatus.REMOVED: "R",
}
_STATUS_OF_CODE = {code: status for status, code in STATUS_CODES.items()}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_UUID_BYTES = 16


def is_status_code(value: Any) -> bool:
    return isinstance(value, str) and value in _STATUS_OF_CODE


def status_of(code: str) -> ParticipantStatus:
    return _STATUS_OF_CODE[code]


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, in UTC as ``lendbridge.timestamps.iso`` reads the moment:
    a 16-digit DynamoDB number is 9 bytes where the ISO text is 27."""
    return (moment.astimezone(UTC) - _EPOCH) // _MICROSECOND


def moment_of(value: Any) -> datetime:
    """The moment ``micros`` stored; anything but a whole number in range is refused."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"expected a number of microseconds, got {type(value).__name__}")
    whole = Decimal(value)
    if whole != whole.to_integral_value():  # NaN included
        raise ValueError("microseconds must be a whole number")
    try:
        return _EPOCH + timedelta(microseconds=int(whole))
    except OverflowError as problem:
        raise ValueError("microseconds out of range") from problem


def packed_id(user_id: str | None) -> str | bytes | None:
    """A canonical lowercase UUID as its 16 bytes (36 characters otherwise); any other id is
    kept as it is, so what comes back is always the very string that went in."""
    if user_id is None:
        return None
    try:
        parsed = uuid.UUID(user_id)
    except ValueError:
        return user_id
    return parsed.bytes if str(parsed) == user_id else user_id


def unpacked_id(value: Any) -> str | None:
    """The id ``packed_id`` stored. boto3 reads a binary as ``Binary``, a fake may hold bytes."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, Binary | bytes | bytearray):
        raise TypeError(f"expected an id, got {type(value).__name__}")
    # Binary's own ``__bytes__`` gives its value (its type stubs say otherwise).
    raw = bytes(cast(SupportsBytes, value))
    if len(raw) != _UUID_BYTES:
        raise ValueError(f"a packed id has {_UUID_BYTES} bytes, not {len(raw)}")
    return str(uuid.UUID(bytes=raw))
