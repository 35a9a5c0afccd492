"""Field types and envelopes reused across the API's schemas."""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
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


_ERROR_DESCRIPTIONS = {
    400: "Validation error",
    401: "Missing, expired or forged token",
    403: "Not yours to do",
    404: "No such resource",
    409: "Conflicts with the resource's state",
    422: "Idempotency-Key reused with a different request (body, method or path)",
    429: "Rate limited or the database throttled; see Retry-After",
    500: "Unexpected error",
    503: "A dependency is unavailable; see Retry-After",
}
_ALWAYS = (400, 429, 500, 503)


def responses(status: int, model: type[BaseModel] | None, *error_statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success body and every error envelope it can return."""
    documented: dict[int, OpenAPIResponse] = {}
    if model is None:
        documented[status] = {"description": "No content"}
    else:
        documented[status] = {"description": "Success", "content": {"application/json": {"model": model}}}
    for error_status in sorted({*_ALWAYS, *error_statuses}):
        documented[error_status] = {
            "description": _ERROR_DESCRIPTIONS[error_status],
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return documented
