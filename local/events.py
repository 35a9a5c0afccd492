"""HTTP requests and responses as the gateway sees them, and the API Gateway REST proxy event
(payload format 1.0) built from a request, field for field as API Gateway sends it."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.apimodel import Method, RestApi
from local.template import ACCOUNT


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query, as on the request line
    headers: list[tuple[str, str]]  # in order, repeated names kept, original case
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    host: str = "127.0.0.1"
    port: int = 0
    received_at: float = field(default_factory=time.time)

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def path(self) -> str:
        """Percent-decoded, except an encoded slash, which stays inside its segment."""
        return unquote(re.sub("%2[Ff]", "%252F", self.raw_path))

    @property
    def segments(self) -> list[str]:
        """The path's segments, each decoded on its own (``a%2Fb`` is one segment, ``a/b``)."""
        return [unquote(part) for part in self.raw_path.split("/") if part]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        """The last value of a header, compared case-insensitively (API Gateway keeps the last)."""
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def request_time(epoch: float) -> str:
    """``$context.requestTime``'s format: ``23/Nov/2026:18:40:05 +0000``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def proxy_event(
    request: HttpRequest,
    api: RestApi,
    method: Method,
    path_parameters: Mapping[str, str],
    request_id: str,
    claims: Mapping[str, str] | None,
) -> dict[str, Any]:
    headers = _forwarded(request)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    query_pairs = parse_qsl(request.query, keep_blank_values=True)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _body(request, api)
    user_agent = request.header("User-Agent")
    context: dict[str, Any] = {
        "resourceId": method.resource_id,
        "resourcePath": method.resource_path,
        "httpMethod": request.method,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": request_time(request.received_at),
        "path": f"/{api.stage}{request.path}",
        "accountId": ACCOUNT,
        "protocol": request.protocol,
        "stage": api.stage,
        "domainPrefix": request.host.split(".")[0],
        "requestTimeEpoch": int(request.received_at * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "domainName": f"{request.host}:{request.port}" if request.port else request.host,
        "apiId": api.api_id,
    }
    if claims is not None:
        context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": method.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _forwarded(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers plus those API Gateway adds on the way to the integration."""
    headers = list(request.headers)
    present = {name.lower() for name, _ in headers}
    forwarded_for = request.header("X-Forwarded-For")
    headers = [(name, value) for name, value in headers if name.lower() != "x-forwarded-for"]
    chain = f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    headers.append(("X-Forwarded-For", chain))
    if "x-forwarded-proto" not in present:
        headers.append(("X-Forwarded-Proto", "http"))
    if "x-forwarded-port" not in present:
        headers.append(("X-Forwarded-Port", str(request.port)))
    if "x-amzn-trace-id" not in present:
        headers.append(("X-Amzn-Trace-Id", f"Root=1-{int(request.received_at):08x}-{uuid.uuid4().hex[:24]}"))
    return headers


def _body(request: HttpRequest, api: RestApi) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if _is_binary(content_type, api.binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", errors="replace"), False


def _is_binary(content_type: str, binary_media_types: tuple[str, ...]) -> bool:
    for pattern in binary_media_types:
        wanted = pattern.replace("~1", "/").lower()  # CloudFormation escapes '/' as '~1'
        if wanted in ("*/*", content_type):
            return True
        if wanted.endswith("/*") and content_type.startswith(wanted[:-1]):
            return True
    return False
