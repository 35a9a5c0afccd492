"""Failures the domain can report. Nothing here knows about HTTP or boto3.

The HTTP layer (``lendbridge.http.errors``) is the one place that turns these into responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class LendbridgeError(Exception):
    """Base of every expected failure. ``code`` is the contract's error code; ``error_type``
    the value of the ``ErrorType`` metric dimension that alarms and dashboards group by."""

    code = "INTERNAL_ERROR"
    error_type = "UnexpectedError"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details) if details else None


class ValidationFailed(LendbridgeError):
    code = "VALIDATION_ERROR"
    error_type = "ValidationError"

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
    error_type = "Unauthorized"


class Forbidden(LendbridgeError):
    code = "FORBIDDEN"
    error_type = "Forbidden"


class NotFound(LendbridgeError):
    code = "NOT_FOUND"
    error_type = "NotFound"


class Conflict(LendbridgeError):
    code = "CONFLICT"
    error_type = "Conflict"


class PreconditionFailed(LendbridgeError):
    """RFC 9110: the version named in If-Match is no longer the current one."""

    code = "PRECONDITION_FAILED"
    error_type = "PreconditionFailed"


class PreconditionRequired(LendbridgeError):
    """RFC 6585: a conditional update was sent without If-Match."""

    code = "PRECONDITION_REQUIRED"
    error_type = "PreconditionRequired"


class IdempotencyInProgress(LendbridgeError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    error_type = "IdempotencyInProgress"


class IdempotencyKeyReused(LendbridgeError):
    code = "IDEMPOTENCY_KEY_REUSED"
    error_type = "IdempotencyKeyReused"


class RetryableError(LendbridgeError):
    """A dependency refused for now; the caller may retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class Throttled(RetryableError):
    code = "TOO_MANY_REQUESTS"
    error_type = "DatabaseThrottled"


class DependencyUnavailable(RetryableError):
    code = "SERVICE_UNAVAILABLE"
    error_type = "DatabaseUnavailable"


class IdentityThrottled(Throttled):
    """Cognito refused for now: kept apart so it never pages as a database problem."""

    error_type = "IdentityThrottled"


class IdentityUnavailable(DependencyUnavailable):
    error_type = "IdentityUnavailable"


class EncryptionUnavailable(DependencyUnavailable):
    error_type = "EncryptionUnavailable"
