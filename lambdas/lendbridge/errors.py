"""Failures the domain can report. Nothing here knows about HTTP or boto3.

The HTTP layer (``lendbridge.http.errors``) is the one place that turns these into responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class LendbridgeError(Exception):
    """Base of every expected failure; ``code`` is the contract's error code."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details) if details else None


class ValidationFailed(LendbridgeError):
    code = "VALIDATION_ERROR"

    def __init__(
        self,
        message: str,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.field_errors = {k: list(v) for k, v in (field_errors or {}).items()}


class Unauthorized(LendbridgeError):
    code = "UNAUTHORIZED"


class Forbidden(LendbridgeError):
    code = "FORBIDDEN"


class NotFound(LendbridgeError):
    code = "NOT_FOUND"


class Conflict(LendbridgeError):
    code = "CONFLICT"


class IdempotencyInProgress(LendbridgeError):
    code = "IDEMPOTENCY_IN_PROGRESS"


class IdempotencyKeyReused(LendbridgeError):
    code = "IDEMPOTENCY_KEY_REUSED"


class RetryableError(LendbridgeError):
    """A dependency refused for now; the caller may retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class Throttled(RetryableError):
    code = "TOO_MANY_REQUESTS"


class DependencyUnavailable(RetryableError):
    code = "SERVICE_UNAVAILABLE"
