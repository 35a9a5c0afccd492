"""``Idempotency-Key`` on state-changing POSTs: a route decorator, on Powertools Idempotency.

``IdempotentRoutes(app, idempotency).post(...)`` registers a route that honours the header (and
the legacy ``X-Idempotency-Key``): it documents the headers and the replayable answers, and
keys each request by the caller and the header value. The request one key stands for is the
route (method and path template, hence its endpoint name), the path parameters and the body,
compared by a keyed fingerprint, so the same key on another request is refused (422): another
loan, another invitation, another route or another body. A replay returns the stored status and
body with ``Idempotent-Replayed: true``. Deterministic refusals (4xx) are stored like successes
(and raised again on replay, as the failure they were, answered with the stored request id and
time); throttling, outages and crashes are not, so the client can retry them.

Nothing stored lets a reader of the table recover what was sent. The fingerprint is an
HMAC-SHA256 under a key from Secrets Manager (a plain hash of a body holding an account number
whose last four digits are shown is reversed by trying the few missing digits). The response
is stored as answered, so a response carrying a bank number, password or token field
(``SECRET_FIELDS``) is refused rather than kept.
The record id is a plain hash of the caller and the header value on purpose: it must not change
when the key is rotated, or a retry after a rotation would run the request a second time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer

from lendbridge import errors
from lendbridge.http import answer, current, envelope
from lendbridge.http.errors import refusal
from lendbridge.json_codec import dumps
from lendbridge.lazy import Lazy
from lendbridge.routes import endpoint_of

EXPIRY_SECONDS = 24 * 60 * 60
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# A response carrying one of these would be stored in clear for 24 hours: never key such a route.
SECRET_FIELDS = frozenset({"password", "account_number", "routing_number", "access_token", "refresh_token", "id_token"})
Route = TypeVar("Route", bound=Callable[..., Response])


# ---- OpenAPI: the headers of keyed routes, added to each keyed route's parameters so that they
# are documented and validated (the same rule as ``_VALID_KEY``).
_KEY_RULE = "1 to 255 printable ASCII characters, unique per intended request (a UUID is a good choice)"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=_VALID_KEY.pattern,
        description=(
            f"Makes the request safe to retry: {_KEY_RULE}. Scoped to the caller and kept 24 hours; "
            "a retry with the same key and request replays the first answer (Idempotent-Replayed: true), "
            "the same key on another request is 422, while the first is still running 409."
        ),
        examples=["3f1c2b7e-8d4a-4e59-9b1a-2c6d7e8f9a0b"],
    ),
]
LegacyIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="X-Idempotency-Key",
        pattern=_VALID_KEY.pattern,
        description="The former name of Idempotency-Key, still honoured (Idempotency-Key wins when both are sent).",
        deprecated=True,
    ),
]
_KEY_PARAMETERS = (
    inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey),
    inspect.Parameter(
        "legacy_idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=LegacyIdempotencyKey
    ),
)
REPLAYED_HEADER: OpenAPIResponseHeader = {
    "description": "Present, `true`, when this is the stored answer to an earlier request with the same key",
    "schema": {"type": "string", "enum": ["true"]},
}


def replayable(documented: dict[int, OpenAPIResponse]) -> dict[int, OpenAPIResponse]:
    """``documented`` with Idempotent-Replayed on the answers a keyed request can replay: its
    success and its deterministic refusals (throttling, outages and crashes are never stored)."""
    result: dict[int, OpenAPIResponse] = {}
    for status, response in documented.items():
        replays = status < 500 and status != 429
        headers: dict[str, OpenAPIResponseHeader] = dict(response.get("headers", {}))
        if replays:
            headers["Idempotent-Replayed"] = REPLAYED_HEADER
        result[status] = {**response, "headers": headers}
    return result


# ---- Storage: an answer is kept as its status, JSON body and string headers (Powertools calls
# these on save and on replay).
def _stored(response: Response) -> dict[str, Any]:
    body = json.loads(response.body) if isinstance(response.body, str) and response.body else response.body
    headers = {k: v for k, v in (response.headers or {}).items() if isinstance(v, str)}
    # JSON-ready values (money is already text), replayed byte for byte the same.
    return {"status": response.status_code, "body": json.loads(dumps(body)), "headers": headers}


def _answer_of(stored: dict[str, Any]) -> Response:
    return Response(
        status_code=int(stored["status"]),
        content_type=envelope.JSON,
        body=stored["body"],
        headers=dict(stored.get("headers") or {}),
    )


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when it returns a stored answer instead of running the route."""
    answer.current().replayed = True
    return response


CONFIG = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="fingerprint",
    hash_function="sha256",
    expires_after_seconds=EXPIRY_SECONDS,
    raise_on_no_idempotency_key=True,
    response_hook=_mark_replayed,
)
STORED_ANSWER = CustomDictSerializer(to_dict=_stored, from_dict=_answer_of)


class Idempotency:
    def __init__(self, persistence: Lazy[DynamoDBPersistenceLayer], fingerprint_key: Callable[[], bytes]) -> None:
        """``fingerprint_key`` is read on every keyed request (the caller caches it)."""
        self._persistence = persistence
        self._fingerprint_key = fingerprint_key

    def answer(self, app: APIGatewayRestResolver, key: str, route: Callable[[], Response]) -> Response:
        """Run ``route`` once for the caller's ``key``; replay its answer after that."""
        if not _VALID_KEY.match(key):
            raise errors.ValidationFailed(
                "Invalid Idempotency-Key", field_errors={"Idempotency-Key": ["1 to 255 printable ASCII characters"]}
            )
        event = app.current_event
        request_id = current.request_id(app)
        request = {
            "caller": current.caller(app).user_id,
            "key": key,
            "fingerprint": fingerprint(
                self._fingerprint_key(),
                {
                    "operation": endpoint_of(event.http_method.upper(), event.resource),
                    "method": event.http_method.upper(),
                    "resource": event.resource,
                    "path": event.path_parameters or {},
                    "body": _canonical(event.body),
                },
            ),
        }
        refused: list[errors.LendbridgeError] = []

        @idempotent_function(
            data_keyword_argument="request",
            persistence_store=self._persistence.get(),
            config=CONFIG,
            output_serializer=STORED_ANSWER,
            key_prefix="lendbridge",
        )
        def once(request: dict[str, Any]) -> Response:
            try:
                response = route()
            except errors.LendbridgeError as failure:
                if isinstance(failure, errors.RetryableError) or failure.status >= 500:
                    raise
                refused.append(failure)
                response = refusal(failure, request_id)
            if leaked := secret_fields_in(_stored(response)["body"]):
                # A programming error (a route returning secrets was keyed): fail loudly, store nothing.
                raise RuntimeError(f"refusing to store a response with {sorted(leaked)}")
            return response

        CONFIG.register_lambda_context(app.lambda_context)
        try:
            response = once(request=request)
        except IdempotencyAlreadyInProgressError as error:
            raise errors.IdempotencyInProgress(
                "A request with this Idempotency-Key is still being processed"
            ) from error
        except IdempotencyValidationError as error:
            raise errors.IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request (body, method or path)"
            ) from error
        except IdempotencyPersistenceLayerError as error:
            raise errors.DependencyUnavailable("Idempotency store unavailable", retry_after=5) from error
        if response.status_code >= 400:
            # A refusal is answered by the error handlers, as the failure it was: never validated
            # against the route's success schema, and with the request id and time first answered.
            raise _refusal_answered(response.body, refused)
        return response


def _refusal_answered(body: dict[str, Any], refused: list[errors.LendbridgeError]) -> errors.LendbridgeError:
    record = answer.current()
    record.first_request_id, record.first_timestamp = body["request_id"], body["timestamp"]
    if refused:
        return refused[0]
    failure = errors.failure_of_code(body["error"])
    if issubclass(failure, errors.ValidationFailed):
        return failure(body["message"], field_errors=body.get("field_errors"), details=body.get("details"))
    return failure(body["message"], details=body.get("details"))


class IdempotentRoutes:
    """Registers routes of ``app`` that honour Idempotency-Key, on the idempotency store that
    ``idempotency`` returns (built on first use)."""

    def __init__(self, app: APIGatewayRestResolver, idempotency: Callable[[], Idempotency]) -> None:
        self._app = app
        self._idempotency = idempotency

    def post(self, rule: str, *, responses: dict[int, OpenAPIResponse], **options: Any) -> Callable[[Route], Route]:
        def register(route: Route) -> Route:
            keyed = self.keyed(route)
            self._app.post(rule, responses=replayable(responses), **options)(keyed)
            return keyed

        return register

    def keyed(self, route: Route) -> Route:
        """``route`` with the two key headers added to its parameters; without a key it simply runs."""
        signature = inspect.signature(route, eval_str=True)

        @functools.wraps(route)
        def keyed(
            *args: Any, idempotency_key: str | None = None, legacy_idempotency_key: str | None = None, **kwargs: Any
        ) -> Response:
            key = idempotency_key if idempotency_key is not None else legacy_idempotency_key
            if key is None:
                return route(*args, **kwargs)
            return self._idempotency().answer(self._app, key, lambda: route(*args, **kwargs))

        # Powertools reads the parameters (and resolves their annotations) from the signature.
        keyed.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), *_KEY_PARAMETERS]
        )
        return keyed  # type: ignore[return-value]


def fingerprint(key: bytes, request: dict[str, Any]) -> str:
    """HMAC-SHA256 of the request as the API understood it (the body canonical, so another key
    order or spacing is the same request)."""
    message = json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _canonical(body: str | None) -> str:
    if not body:
        return ""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return body


def secret_fields_in(value: Any) -> set[str]:
    """Names from ``SECRET_FIELDS`` anywhere in a JSON-like value."""
    if isinstance(value, dict):
        return {k for k in value if k in SECRET_FIELDS}.union(*(secret_fields_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_fields_in(v) for v in value))
    return set()
