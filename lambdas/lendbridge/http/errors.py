"""The one place where exceptions become HTTP responses."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError, ResponseValidationError

from lendbridge import errors
from lendbridge.http import answer, envelope
from lendbridge.settings import MisconfiguredFunction

logger = Logger(child=True)
# Field errors one answer lists; a body can hold thousands of wrong values.
MAX_FIELD_ERRORS = 50

# The ErrorType of each contract code, for the failures that are not domain errors.
ERROR_TYPE_OF: Mapping[str, str] = errors.error_type_of_code()

# Powertools' own ServiceError carries only a status: it is answered with the code of the failure
# class of that status; 413 is the size refusal of a body, a validation error in the contract.
_GATEWAY_CODES: Mapping[int, str] = {
    **errors.code_of_status(),
    int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE): "VALIDATION_ERROR",
}


class PreparedResponse(Exception):
    """A response decided outside the route's own return value (a 304): raised so that it skips
    validation against the route's success schema."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def field_errors_of(validation_errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Reshape pydantic/Powertools error items into the contract's ``field_errors``: the first
    ``MAX_FIELD_ERRORS`` of them, so that the answer stays small whatever the body holds."""
    fields: dict[str, list[str]] = {}
    for item in itertools.islice(validation_errors, MAX_FIELD_ERRORS):
        kind = item.get("type", "")
        location = [part for part in item.get("loc", ()) if part not in ("body", "query", "path", "header")]
        name = "body" if kind == "json_invalid" else (_dotted(location) or "body")
        if kind == "json_invalid":
            message = "Malformed JSON"
        elif kind == "missing":
            message = "Field required"
        else:
            message = str(item.get("msg") or "Invalid value")
            message = message.removeprefix("Value error, ")
        fields.setdefault(name, []).append(message)
    return fields


def _dotted(location: list[Any]) -> str:
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    def request_id() -> str:
        return str(app.context.get("request_id", "unknown"))

    @app.exception_handler(RequestValidationError)
    def on_invalid_request(exc: RequestValidationError) -> Response:
        problems = list(exc.errors())
        fields = field_errors_of(problems)
        message = "The request is invalid"
        if len(problems) > MAX_FIELD_ERRORS:
            message += f" ({len(problems)} problems; the first {MAX_FIELD_ERRORS} are listed)"
        return refusal(errors.ValidationFailed(message, field_errors=fields), request_id())

    @app.exception_handler(PreparedResponse)
    def on_prepared(exc: PreparedResponse) -> Response:
        return exc.response

    @app.exception_handler(ResponseValidationError)
    def on_invalid_response(exc: ResponseValidationError) -> Response:
        # Locations and messages only: the response body may hold personal data.
        problems = [{"loc": item.get("loc"), "type": item.get("type")} for item in exc.errors()]
        logger.error("response does not match its schema", extra={"problems": problems})
        return internal(request_id())

    @app.exception_handler(errors.LendbridgeError)
    def on_domain_error(exc: errors.LendbridgeError) -> Response:
        if exc.status >= 500 and not isinstance(exc, errors.RetryableError):
            logger.exception("unexpected domain failure")
            answer.current().error_type = exc.error_type
            return internal(request_id())
        return refusal(exc, request_id())

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response:
        event = app.current_event
        allowed = allowed_methods(app, event.path)
        if allowed:
            not_allowed = errors.MethodNotAllowed(f"{event.http_method} is not allowed here")
            return refusal(not_allowed, request_id(), headers={"Allow": ", ".join(sorted(allowed))})
        return refusal(errors.NotFound("No such resource"), request_id())

    @app.exception_handler(ServiceError)
    def on_service_error(exc: ServiceError) -> Response:
        code = _GATEWAY_CODES.get(exc.status_code, "INTERNAL_ERROR")
        if code == "INTERNAL_ERROR":
            return internal(request_id())
        answer.current().error_type = ERROR_TYPE_OF[code]
        return envelope.error(exc.status_code, code, str(exc.msg), request_id())

    @app.exception_handler(MisconfiguredFunction)
    def on_misconfigured(exc: MisconfiguredFunction) -> Response:
        # A deployment defect no request can fix: the invocation fails (the function's Errors
        # alarm, its log names the variable) instead of answering like a bug in one request.
        raise exc

    @app.exception_handler(Exception)
    def on_unexpected(exc: Exception) -> Response:
        logger.exception("unhandled exception")
        return internal(request_id())


def refusal(exc: errors.LendbridgeError, request_id: str, *, headers: Mapping[str, str] | None = None) -> Response:
    """The envelope of a failure the client can act on (a 4xx, or a retryable 5xx). A replayed
    refusal keeps the request id and time of its first answer."""
    current = answer.current()
    current.error_type = exc.error_type
    return envelope.error(
        exc.status,
        exc.code,
        exc.message,
        current.first_request_id or request_id,
        field_errors=exc.field_errors if isinstance(exc, errors.ValidationFailed) else None,
        details=exc.details,
        retry_after=exc.retry_after if isinstance(exc, errors.RetryableError) else None,
        headers=headers,
        timestamp=current.first_timestamp,
    )


def internal(request_id: str) -> Response:
    """A 500 that reveals nothing; what happened is in the log."""
    current = answer.current()
    current.error_type = current.error_type or errors.LendbridgeError.error_type
    return envelope.error(500, "INTERNAL_ERROR", "An unexpected error occurred", request_id)


def allowed_methods(app: APIGatewayRestResolver, path: str) -> set[str]:
    routes = app._static_routes + app._dynamic_routes
    return {route.method for route in routes if route.rule.match(path)}
