"""API Gateway's REST proxy behaviour in front of the app's functions: route matching, the
Cognito authorizer, payload limits, the Lambda proxy contract and the API's own gateway
responses, all read from the synthesized template (see ``local.apimodel``)."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from local.apimodel import Method, RestApi
from local.authorizer import CognitoAuthorizer, Denied
from local.events import HttpRequest, HttpResponse, proxy_event
from local.workers import FunctionPool, LogSink

REQUEST_LIMIT_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INVOKE_LIMIT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
_PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
_CONTEXT_VARIABLE = re.compile(r"\$(?:\{context\.([A-Za-z.]+)\}|context\.([A-Za-z.]+))")

# API Gateway's defaults for the response types this stand-in produces: status, message,
# and the x-amzn-ErrorType header it sends with them.
_DEFAULTS: Mapping[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "INTEGRATION_FAILURE": (504, "Internal server error", "InternalServerErrorException"),
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
}

FunctionKey = tuple[str, str]  # (stack, logical id)


class Gateway:
    def __init__(
        self,
        api: RestApi,
        pools: Mapping[FunctionKey, FunctionPool],
        authorizers: Mapping[str, CognitoAuthorizer],
        log: LogSink,
        clock: Callable[[], float] = time.time,
        after: Sequence[Callable[[HttpRequest, HttpResponse], None]] = (),
        detail: LogSink | None = None,
    ) -> None:
        """``after`` runs, in order, once a request is answered and before the answer is sent:
        how the local stack fires what AWS services do behind an API call (Cognito triggers).
        ``log`` gets one line per request; ``detail`` (default: ``log``) the reasons behind the
        gateway's own error answers, which the request line only names."""
        self.api = api
        self._pools = pools
        self._authorizers = authorizers
        self._log = log
        self._detail = detail or log
        self._clock = clock
        self._after = tuple(after)

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        response, target = self._route(request, request_id)
        for hook in self._after:
            hook(request, response)
        response = self._compress(request, response)
        elapsed = (time.monotonic() - started) * 1000
        self._log(request_line(request.method, request.path, response.status, elapsed, request_id, target))
        return response

    def _route(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str]:
        if len(request.body) > REQUEST_LIMIT_BYTES:
            return self.gateway_error("REQUEST_TOO_LARGE", request, request_id), "gateway"
        matched = self.api.match(request.segments)
        method = self.api.method(matched[0], request.method) if matched else None
        if matched is None or method is None:
            # API Gateway answers an unknown path and an unknown method alike.
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request, request_id), "gateway"
        if method.mock is not None:
            headers = [*method.mock.headers.items(), ("x-amzn-RequestId", request_id)]
            return HttpResponse(method.mock.status, headers), "mock"
        claims = None
        if method.authorization_type == "COGNITO_USER_POOLS":
            try:
                claims = self._authorize(method, request)
            except Denied as denial:
                self._detail(f"{request_id} authorizer refused {request.method} {request.path}: {denial}")
                return self.gateway_error("UNAUTHORIZED", request, request_id), "authorizer refused the token"
        if method.function is None:
            self._detail(f"{request_id} {request.method} {method.resource_path}: integration type not emulated locally")
            return self.gateway_error("INTEGRATION_FAILURE", request, request_id), "gateway"
        event = proxy_event(request, self.api, method, matched[1], request_id, claims)
        return self._invoke(method, event, request, request_id), method.function.name

    def _authorize(self, method: Method, request: HttpRequest) -> dict[str, str]:
        if method.authorizer is None or method.authorizer.logical_id not in self._authorizers:
            raise Denied("the method names no Cognito authorizer")
        authorizer = self._authorizers[method.authorizer.logical_id]
        return authorizer.authorize(request.header(method.authorizer.identity_header), method.scopes)

    def _invoke(self, method: Method, event: dict[str, Any], request: HttpRequest, request_id: str) -> HttpResponse:
        assert method.function is not None  # noqa: S101 - checked by the caller
        payload = json.dumps(event)
        if len(payload.encode()) > INVOKE_LIMIT_BYTES:
            name = method.function.name
            self._detail(f"{request_id} {name}: event of {len(payload)} bytes exceeds Lambda's 6 MB limit")
            return self.gateway_error("REQUEST_TOO_LARGE", request, request_id)
        pool = self._pools[(method.function.stack, method.function.logical_id)]
        invocation = pool.invoke(event, request_id)
        if not invocation.ok:
            error = invocation.error or {}
            reason = f"{error.get('errorType')}: {error.get('errorMessage')}"
            self._detail(f"{request_id} {method.function.name} failed: {reason}")
            return self.gateway_error("DEFAULT_5XX", request, request_id)
        response = _proxy_response(invocation.result)
        if response is None:
            result = str(invocation.result)[:300]
            self._detail(f"{request_id} {method.function.name}: malformed Lambda proxy response: {result}")
            return self.gateway_error("DEFAULT_5XX", request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def gateway_error(self, response_type: str, request: HttpRequest, request_id: str) -> HttpResponse:
        """The API's gateway response for ``response_type``: its own if the template defines
        one, else the template's DEFAULT_4XX/DEFAULT_5XX body and headers, else API Gateway's."""
        default_status, message, error_type = _DEFAULTS[response_type]
        family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        configured = self.api.gateway_responses.get(response_type)
        source = configured or self.api.gateway_responses.get(family)
        status = configured.status if configured is not None and configured.status else default_status
        variables = self._context_variables(request, request_id, response_type, message)
        headers: list[tuple[str, str]] = []
        body = json.dumps({"message": message}).encode()
        if source is not None:
            template = source.templates.get("application/json") or next(iter(source.templates.values()), None)
            if template is not None:
                body = _render(template, variables).encode()
            for name, expression in source.parameters.items():
                value = _parameter(expression, variables, request)
                if value is not None:
                    headers.append((name, value))
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers += [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", error_type)]
        return HttpResponse(status, headers, body)

    def _context_variables(
        self, request: HttpRequest, request_id: str, response_type: str, message: str
    ) -> dict[str, str]:
        now = self._clock()
        return {
            "requestId": request_id,
            "extendedRequestId": request_id,
            # API Gateway renders requestTime as "23/Nov/2026:18:40:05 +0000"; the contract's
            # envelope wants ISO-8601, which is what the local stand-in sends.
            "requestTime": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestTimeEpoch": str(int(now * 1000)),
            "httpMethod": request.method,
            "path": request.path,
            "resourcePath": "",
            "stage": self.api.stage,
            "identity.sourceIp": request.source_ip,
            "identity.userAgent": request.header("User-Agent") or "",
            "error.message": message,
            "error.messageString": json.dumps(message),
            "error.responseType": response_type,
        }

    def _compress(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """API Gateway gzips bodies of at least MinimumCompressionSize bytes for clients that accept it."""
        minimum = self.api.minimum_compression_size
        accepted = (request.header("Accept-Encoding") or "").lower()
        if minimum is None or "gzip" not in accepted or len(response.body) < minimum:
            return response
        if response.header("Content-Encoding") is not None:
            return response
        return HttpResponse(
            response.status, [*response.headers, ("Content-Encoding", "gzip")], gzip.compress(response.body)
        )


def request_line(method: str, path: str, status: int, elapsed_ms: float, request_id: str, target: str) -> str:
    """The console's line for one request: ``POST /v1/loans 201 38 ms <request id>``, and what
    answered when it was not the route's function (the gateway, the authorizer, a mock) or when
    the function failed (its reason is in the function log)."""
    line = f"{method} {path} {status} {elapsed_ms:.0f} ms {request_id}"
    if target in ("gateway", "mock") or target.startswith("authorizer") or status >= 500:
        line += f"  ({target})"
    return line


def _render(template: str, variables: Mapping[str, str]) -> str:
    return _CONTEXT_VARIABLE.sub(lambda match: variables.get(match.group(1) or match.group(2), ""), template)


def _parameter(expression: str, variables: Mapping[str, str], request: HttpRequest) -> str | None:
    if expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    if expression.startswith("context."):
        return variables.get(expression.removeprefix("context."))
    if expression.startswith("method.request.header."):
        return request.header(expression.removeprefix("method.request.header."))
    return None


class _Malformed(ValueError):
    pass


def _proxy_response(result: Any) -> HttpResponse | None:
    """The HTTP response a Lambda proxy result describes, or None where API Gateway would
    refuse it as malformed (and answer 502)."""
    try:
        return _parse_proxy_response(result)
    except (_Malformed, binascii.Error, ValueError):
        return None


def _parse_proxy_response(result: Any) -> HttpResponse:
    if not isinstance(result, dict) or not set(result) <= _PROXY_RESPONSE_KEYS:
        raise _Malformed("not a proxy response object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise _Malformed("statusCode")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise _Malformed("headers")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise _Malformed("multiValueHeaders")
        headers += [(name, str(value)) for value in values]
    # API Gateway merges both maps; a name in multiValueHeaders wins over the same in headers.
    headers += [(name, str(value)) for name, value in single.items() if name not in multi]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise _Malformed("body")
    payload = (body or "").encode()
    if result.get("isBase64Encoded") and body:
        payload = base64.b64decode(body, validate=True)
    return HttpResponse(status, headers, payload)
