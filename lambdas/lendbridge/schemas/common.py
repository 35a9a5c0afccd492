"""Field types and envelopes reused across the API's schemas."""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("Must be a valid email address")
    return value.lower()


def _plain_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("Must not contain control characters")
    return value


Email = Annotated[str, Field(max_length=254, examples=["ada@example.com"]), AfterValidator(_email)]
PlainText = Annotated[str, AfterValidator(_plain_text)]


class Strict(BaseModel):
    """Inputs refuse unknown fields and trim surrounding white space."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


T = TypeVar("T")


class Success(BaseModel, Generic[T]):
    success: bool = True
    data: T


class ErrorEnvelope(BaseModel):
    success: bool = False
    error: str
    message: str
    request_id: str
    timestamp: str
    field_errors: dict[str, list[str]] | None = None
    details: dict[str, object] | None = None
    retry_after: int | None = None


ERROR_RESPONSES = {
    400: {"description": "Validation error", "content": {"application/json": {"model": ErrorEnvelope}}},
    401: {"description": "Missing or invalid credentials", "content": {"application/json": {"model": ErrorEnvelope}}},
    429: {"description": "Rate limited", "content": {"application/json": {"model": ErrorEnvelope}}},
    500: {"description": "Unexpected error", "content": {"application/json": {"model": ErrorEnvelope}}},
    503: {"description": "Dependency unavailable", "content": {"application/json": {"model": ErrorEnvelope}}},
}


def errors(*statuses: int) -> dict[int, dict[str, object]]:
    """The error responses a route documents besides the common ones."""
    extra = {
        403: "Not yours to do",
        404: "No such resource",
        409: "Conflicts with the resource's state",
        422: "Idempotency key reused with another body",
    }
    documented: dict[int, dict[str, object]] = dict(ERROR_RESPONSES)
    for status in statuses:
        documented[status] = {
            "description": extra.get(status, "Error"),
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return documented
