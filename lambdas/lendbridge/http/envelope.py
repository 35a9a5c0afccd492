"""The contract's response bodies: ``{"success": true, "data": ...}`` and the error envelope."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel

JSON = content_types.APPLICATION_JSON


def success(data: Any, status: int = HTTPStatus.OK, headers: Mapping[str, str] | None = None) -> Response:
    """``data``: a presenter's model (``lendbridge.schemas.presenters``) or plain JSON values."""
    return Response(
        status_code=int(status),
        content_type=JSON,
        body={"success": True, "data": data.model_dump() if isinstance(data, BaseModel) else data},
        headers=dict(headers or {}),
    )


def created(data: Any, location: str, headers: Mapping[str, str] | None = None) -> Response:
    """201 with ``Location``, the new resource's URL (RFC 9110 10.2.2)."""
    return success(data, HTTPStatus.CREATED, {**(headers or {}), "Location": location})


def no_content() -> Response:
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type=None, body="")


def not_modified(etag: str, headers: Mapping[str, str] | None = None) -> Response:
    """304: the client's copy is current; no body (RFC 9110 15.4.5)."""
    return Response(
        status_code=HTTPStatus.NOT_MODIFIED, content_type=None, body="", headers={**(headers or {}), "ETag": etag}
    )


# API Gateway's default endpoint puts the stage in every URL (https://<id>.execute-api.<region>
# .amazonaws.com/<stage>/v1/...); a custom domain (and the local stack) serves the API at its root.
_DEFAULT_ENDPOINT = re.compile(r"^[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")


def location(event: Mapping[str, Any], path: str) -> str:
    """``path`` (an API path such as ``/v1/loans/<id>``) as the client reaches it: under the
    stage when the request came through API Gateway's default endpoint."""
    context = event.get("requestContext") or {}
    domain, stage = str(context.get("domainName") or ""), str(context.get("stage") or "")
    if stage and _DEFAULT_ENDPOINT.match(domain):
        return f"/{stage}{path}"
    return path


def error_body(
    code: str,
    message: str,
    request_id: str,
    *,
    field_errors: Mapping[str, Sequence[str]] | None = None,
    details: Mapping[str, Any] | None = None,
    retry_after: int | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """``timestamp``: when the answer was first given (a replay keeps it); now by default."""
    body: dict[str, Any] = {
        "success": False,
        "error": code,
        "message": message,
        "request_id": request_id,
        "timestamp": timestamp or datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
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
    timestamp: str | None = None,
) -> Response:
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = str(retry_after)
    body = error_body(
        code,
        message,
        request_id,
        field_errors=field_errors,
        details=details,
        retry_after=retry_after,
        timestamp=timestamp,
    )
    return Response(status_code=int(status), content_type=JSON, body=body, headers=all_headers)
