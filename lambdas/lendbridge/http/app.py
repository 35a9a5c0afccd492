"""Resolver factory, the front door every API Lambda handler goes through, and the parts every
API function's module starts from (``ApiFunction``)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from time import perf_counter
from typing import Any, Generic, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge import errors, observability
from lendbridge.http import answer, envelope, json_body, rate_limit
from lendbridge.http.errors import register_error_handlers
from lendbridge.http.request_context import header, request_id_of
from lendbridge.json_codec import dumps
from lendbridge.lazy import Lazy
from lendbridge.routes import endpoint_of

MAX_BODY_BYTES = 1024 * 1024
logger = Logger(child=True)
S = TypeVar("S")
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def build_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(
        enable_validation=True,
        serializer=dumps,
        json_body_deserializer=json_body.parse,
        # A response that breaks its own documented schema is our bug: a 500, never a 4xx.
        response_validation_error_http_code=500,
    )
    register_error_handlers(app)
    return app


def serve(
    app: APIGatewayRestResolver,
    event: Mapping[str, Any],
    context: LambdaContext,
    limiter: rate_limit.LimiterSource | None = None,
) -> dict[str, Any]:
    """Run one API Gateway proxy event through ``app`` with the contract's edge rules;
    ``limiter`` gives the function's rate limiter (none: no limits)."""
    started = perf_counter()
    request = APIGatewayProxyEvent(dict(event))
    request_id = request_id_of(request)
    logger.append_keys(request_id=request_id)
    outcome = answer.begin()
    limits = rate_limit.start(limiter, event, request_id)
    response = _refuse_unreadable_body(request, request_id) or limits.refusal_first()
    if response is None:
        app.append_context(request_id=request_id)
        response = app.resolve(event, context)
    response = limits.finish(response)
    headers = response.setdefault("multiValueHeaders", {})
    headers["X-Request-Id"] = [request_id]
    if outcome.replayed:
        headers["Idempotent-Replayed"] = ["true"]
    headers.update(cors_headers(header(request, "Origin")))
    status = int(response["statusCode"])
    observability.record_request(
        endpoint_of(request.http_method, request.resource),
        status,
        (outcome.error_type or errors.LendbridgeError.error_type) if status >= 400 else None,
        (perf_counter() - started) * 1000,
    )
    return response


class ApiFunction(Generic[S]):
    """One API Lambda function. Its module registers routes on ``app``, reaches its
    dependencies through ``services`` (built by ``build_services`` on the first request that
    needs them; tests replace them with ``services.override``) and exposes ``handler``.
    ``limiter`` gives the function's rate limiter (none: its routes are not limited)."""

    def __init__(self, build_services: Callable[[], S], limiter: rate_limit.LimiterSource | None = None) -> None:
        self.app = build_app()
        self.logger = Logger()
        self.services: Lazy[S] = Lazy(build_services)
        self.limiter = limiter
        self.handler: Handler = self.logger.inject_lambda_context(
            correlation_id_path=correlation_paths.API_GATEWAY_REST
        )(self._serve)

    def _serve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return serve(self.app, event, context, self.limiter)


EXPOSED_HEADERS = ("X-Request-Id", "Retry-After", "Idempotent-Replayed", "ETag", "Location", *rate_limit.HEADERS)


@lru_cache(maxsize=1)
def _cors() -> CORSConfig | None:
    origins = [origin for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin]
    if not origins:
        return None
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], expose_headers=list(EXPOSED_HEADERS))


def cors_headers(origin: str | None) -> dict[str, list[str]]:
    """Browsers on the stage's own origins may read the response (the preflight is answered
    by API Gateway); any other origin gets no CORS headers. On every answer, the refusals of
    the front door and of the resolver included: hence Powertools' CORSConfig applied here
    rather than given to the resolver, which adds it to its routes' answers only."""
    config = _cors()
    allowed = config.to_dict(origin) if config is not None else {}
    if not allowed:
        return {}
    return {**{name: [value] for name, value in allowed.items()}, "Vary": ["Origin"]}


def _refuse_unreadable_body(event: APIGatewayProxyEvent, request_id: str) -> dict[str, Any] | None:
    """Bodies the resolver would choke on: too large (413), or not JSON (415; a multipart body
    without a boundary raises inside Powertools' validation and would surface as a 500). Both
    keep the VALIDATION_ERROR code of the contract's envelope."""
    body = event.body
    if not body:
        return None
    if len(body) > MAX_BODY_BYTES * (4 / 3 if event.is_base64_encoded else 1):
        return _plain_error(413, "The request body exceeds 1 MB", {"body": ["Must be at most 1 MB"]}, request_id)
    # Exactly the media type Powertools' validation reads as JSON (it compares case-sensitively
    # and knows no ``+json`` suffix: anything else it lets through ends in a 500).
    content_type = (header(event, "Content-Type") or "application/json").split(";")[0].strip()
    if content_type != "application/json":
        return _plain_error(
            415, "Content-Type must be application/json", {"body": ["Unsupported content type"]}, request_id
        )
    if event.is_base64_encoded and not _is_base64_utf8(body):
        return _plain_error(400, "The request body is not UTF-8 text", {"body": ["Must be UTF-8 text"]}, request_id)
    return None


def _is_base64_utf8(body: str) -> bool:
    try:
        base64.b64decode(body, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        return False
    return True


def _plain_error(status: int, message: str, fields: dict[str, list[str]], request_id: str) -> dict[str, Any]:
    answer.current().error_type = errors.ValidationFailed.error_type
    body = envelope.error_body(errors.ValidationFailed.code, message, request_id, field_errors=fields)
    return {
        "statusCode": status,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": dumps(body),
        "isBase64Encoded": False,
    }
