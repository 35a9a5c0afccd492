"""API Gateway REST proxy events for tests, shaped as API Gateway (and the local stack) send them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:test"
    aws_request_id: str = "test-invocation"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    # API Gateway passes the Authorization header on to the function along with the claims.
    signed_in = {"Authorization": "Bearer test-token"} if user_id is not None else {}
    all_headers = {"Content-Type": "application/json", "User-Agent": "pytest", **signed_in, **(headers or {})}
    request_context: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "resourcePath": resource or path,
        "httpMethod": method,
        "stage": "test",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
    }
    if user_id is not None:
        request_context["authorizer"] = {
            "claims": {
                "sub": user_id,
                "username": user_id,
                "token_use": "access",
                "scope": "aws.cognito.signin.user.admin",
            }
        }
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": False,
    }


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def header_of(response: dict[str, Any], name: str) -> str | None:
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return values[0]
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None
