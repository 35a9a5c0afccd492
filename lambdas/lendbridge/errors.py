"""Failures the domain can report. Nothing here imports HTTP code or boto3.

Each class carries what the outside world sees of it: its HTTP ``status``, the contract's error
``code`` and the ``ErrorType`` metric dimension. The HTTP layer (``lendbridge.http.errors``) is
the one place that turns these into responses; its tables, and the alarm that pages on
server-side failures (``lendbridge_infra.monitoring``), are derived from the classes here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar


class LendbridgeError(Exception):
    """Base of every expected failure. ``code`` is the contract's error code; ``error_type``
    the value of the ``ErrorType`` metric dimension that alarms and dashboards group by.
    A failure without a status of its own is a 500 that reveals nothing."""

    status: ClassVar[int] = HTTPStatus.INTERNAL_SERVER_ERROR
    code: ClassVar[str] = "INTERNAL_ERROR"
    error_type: ClassVar[str] = "UnexpectedError"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details) if details else None


class ValidationFailed(LendbridgeError):
    status = HTTPStatus.BAD_REQUEST
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
    status = HTTPStatus.UNAUTHORIZED
    code = "UNAUTHORIZED"
    error_type = "Unauthorized"


class Forbidden(LendbridgeError):
    status = HTTPStatus.FORBIDDEN
    code = "FORBIDDEN"
    error_type = "Forbidden"


class NotFound(LendbridgeError):
    status = HTTPStatus.NOT_FOUND
    code = "NOT_FOUND"
    error_type = "NotFound"


class Conflict(LendbridgeError):
    status = HTTPStatus.CONFLICT
    code = "CONFLICT"
    error_type = "Conflict"


class PreconditionFailed(LendbridgeError):
    """RFC 9110: the version named in If-Match is no longer the current one."""

    status = HTTPStatus.PRECONDITION_FAILED
    code = "PRECONDITION_FAILED"
    error_type = "PreconditionFailed"


class PreconditionRequired(LendbridgeError):
    """RFC 6585: a conditional update was sent without If-Match."""

    status = HTTPStatus.PRECONDITION_REQUIRED
    code = "PRECONDITION_REQUIRED"
    error_type = "PreconditionRequired"


class IdempotencyInProgress(LendbridgeError):
    status = HTTPStatus.CONFLICT
    code = "IDEMPOTENCY_IN_PROGRESS"
    error_type = "IdempotencyInProgress"


class IdempotencyKeyReused(LendbridgeError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "IDEMPOTENCY_KEY_REUSED"
    error_type = "IdempotencyKeyReused"


class RetryableError(LendbridgeError):
    """A dependency refused for now; the caller may retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


# Defined before the throttling classes: the order of definition is the order of the alarm's
# filter (``paging_error_types``), which the infra tests pin.
class DependencyUnavailable(RetryableError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "SERVICE_UNAVAILABLE"
    error_type = "DatabaseUnavailable"


class IdentityUnavailable(DependencyUnavailable):
    error_type = "IdentityUnavailable"


class EncryptionUnavailable(DependencyUnavailable):
    error_type = "EncryptionUnavailable"


class Throttled(RetryableError):
    """The database refused for now; it pages through its own alarm, not the API errors one."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "TOO_MANY_REQUESTS"
    error_type = "DatabaseThrottled"


class IdentityThrottled(Throttled):
    """Cognito refused for now: kept apart so it never pages as a database problem."""

    error_type = "IdentityThrottled"


class DamagedItem(LendbridgeError):
    """A stored item lacks an attribute it cannot be read without (its identity, money, counts
    or version). Lists skip it; a single read answers 500 and the log names its key."""

    error_type = "DamagedItem"

    def __init__(self, item: Mapping[str, Any], problem: Exception) -> None:
        super().__init__("A stored record cannot be read")
        self.key = {"PK": item.get("PK"), "SK": item.get("SK")}
        self.problem = f"{type(problem).__name__}: {problem}"[:200]


class MethodNotAllowed(LendbridgeError):
    """The path exists, the method does not (answered by the resolver's not-found hook)."""

    status = HTTPStatus.METHOD_NOT_ALLOWED
    code = "METHOD_NOT_ALLOWED"
    error_type = "MethodNotAllowed"


# Every failure class above, in the order of definition.
FAILURES: tuple[type[LendbridgeError], ...] = tuple(
    value for value in dict(globals()).values() if isinstance(value, type) and issubclass(value, LendbridgeError)
)


def error_type_of_code() -> dict[str, str]:
    """The ErrorType of each contract code: that of the class that introduces the code (a
    subclass that keeps its parent's code, such as ``IdentityThrottled``, does not redefine it)."""
    table: dict[str, str] = {}
    for cls in FAILURES:
        if "code" in vars(cls):
            table.setdefault(cls.code, cls.error_type)
    return table


def failure_of_code(code: str) -> type[LendbridgeError]:
    """The class that introduces ``code`` (a stored refusal is raised again as that failure)."""
    return next((cls for cls in FAILURES if vars(cls).get("code") == code), LendbridgeError)


def code_of_status() -> dict[int, str]:
    """The contract code of each status a failure class answers with (the first class wins:
    ``Conflict`` before the idempotency refusals that share its 409)."""
    table: dict[int, str] = {}
    for cls in FAILURES:
        if "status" in vars(cls):
            table.setdefault(int(cls.status), cls.code)
    return table


def paging_error_types() -> tuple[str, ...]:
    """ErrorType values that mean the service failed, not the caller: answered with a 5xx, or a
    dependency other than the database throttled us (the database's throttling has its own alarm)."""
    paging = (
        cls.error_type
        for cls in FAILURES
        if cls.status >= HTTPStatus.INTERNAL_SERVER_ERROR
        or (issubclass(cls, Throttled) and cls.error_type != Throttled.error_type)
    )
    return tuple(dict.fromkeys(paging))
