"""The contract's response bodies: ``{"success": true, "data": ...}`` and the error envelope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

JSON = content_types.APPLICATION_JSON


def success(data: Any, status: int = HTTPStatus.OK, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status_code=int(status),
        content_type=JSON,
        body={"success": True, "data": data},
        headers=dict(headers or {}),
    )


def created(data: Any, headers: Mapping[str, str] | None = None) -> Response:
    return success(data, HTTPStatus.CREATED, headers)


def no_content() -> Response:
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type=None, body="")


def error_body(
    code: str,
    message: str,
    request_id: str,
    *,
    field_errors: Mapping[str, Sequence[str]] | None = None,
    details: Mapping[str, Any] | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "error": code,
        "message": message,
        "request_id": request_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if field_errors:
        body["field_errors"] = {k: list(v) for k, v in field_errors.items()}
    if details:
        body["details"] = dict(details)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return body


def error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    field_errors: Mapping[str, Sequence[str]] | None = None,
    details: Mapping[str, Any] | None = None,
    retry_after: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    return Response(
        status_code=int(status),
        content_type=JSON,
        body=error_body(code, message, request_id, field_errors=field_errors, details=details, retry_after=retry_after),
        headers=all_headers,
    )
