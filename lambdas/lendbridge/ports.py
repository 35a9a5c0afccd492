"""Small seams the domain is given instead of reaching for globals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], datetime]
IdGenerator = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    """Fixed-width UTC timestamps, so they sort as strings inside DynamoDB keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Actor:
    """Who is making a change, and from where: what every audit entry records."""

    user_id: str
    request_id: str
    ip_address: str | None = None
    user_agent: str | None = None
