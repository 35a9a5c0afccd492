"""``Idempotency-Key`` on state-changing POSTs, with Powertools Idempotency on DynamoDB.

A record belongs to the caller and the header value. The request it answered (operation,
method, route, path parameters and body) is compared by a keyed fingerprint, so the same key on
another request is refused (422): another loan, another invitation, another route or another
body. A replay returns the stored status and body with ``Idempotent-Replayed: true``.
Deterministic refusals (4xx) are stored like successes; throttling, outages and crashes are not,
so the client can retry them.

Nothing stored lets a reader of the table recover what was sent. The fingerprint is an
HMAC-SHA256 under a key from Secrets Manager (a plain hash of a body holding an account number
whose last four digits are shown is reversed by trying the few missing digits). The response
is stored as answered, so a response carrying a bank number, password or token field
(``SECRET_FIELDS``) is refused rather than kept.
The record id is a plain hash of the caller and the header value on purpose: it must not change
when the key is rotated, or a retry after a rotation would run the request a second time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

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

from lendbridge import errors
from lendbridge.http import envelope
from lendbridge.http.errors import PreparedResponse
from lendbridge.json_codec import dumps
from lendbridge.lazy import Lazy

HEADERS = ("Idempotency-Key", "X-Idempotency-Key")
EXPIRY_SECONDS = 24 * 60 * 60
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED = "__replayed__"
# A response carrying one of these would be stored in clear for 24 hours: never wrap such a route.
SECRET_FIELDS = frozenset(
    {"password", "secret", "account_number", "routing_number", "access_token", "refresh_token", "id_token"}
)


# ---- OpenAPI: the headers of keyed routes. Declared as parameters of the routes so that they
# are documented and validated (the same rule as ``_VALID_KEY``); ``Idempotency.run`` reads them.
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


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when it returns a stored response instead of running."""
    return {**response, _REPLAYED: True}


CONFIG = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="fingerprint",
    hash_function="sha256",
    expires_after_seconds=EXPIRY_SECONDS,
    raise_on_no_idempotency_key=True,
    response_hook=_mark_replayed,
)


class Idempotency:
    def __init__(self, persistence: Lazy[DynamoDBPersistenceLayer], fingerprint_key: Callable[[], bytes]) -> None:
        """``fingerprint_key`` is read on every keyed request (the caller caches it)."""
        self._persistence = persistence
        self._fingerprint_key = fingerprint_key

    def run(self, app: APIGatewayRestResolver, route: str, caller_id: str, execute: Callable[[], Response]) -> Response:
        """``route`` names the operation; with the method, the resource, the path parameters and
        the body it is the request one key stands for, whatever the caller sends it to next."""
        key = next((value for name in HEADERS if (value := app.current_event.headers.get(name)) is not None), None)
        if key is None:
            return execute()
        if not _VALID_KEY.match(key):
            raise errors.ValidationFailed(
                "Invalid Idempotency-Key", field_errors={"Idempotency-Key": ["1 to 255 printable ASCII characters"]}
            )
        request_id = str(app.context.get("request_id", ""))
        event = app.current_event
        request = {
            "caller": caller_id,
            "key": key,
            "fingerprint": fingerprint(
                self._fingerprint_key(),
                {
                    "operation": route,
                    "method": event.http_method.upper(),
                    "resource": event.resource,
                    "path": event.path_parameters or {},
                    "body": _canonical(event.body),
                },
            ),
        }

        @idempotent_function(
            data_keyword_argument="request",
            persistence_store=self._persistence.get(),
            config=CONFIG,
            key_prefix="lendbridge",
        )
        def once(request: dict[str, Any]) -> dict[str, Any]:
            try:
                return _freeze(execute())
            except errors.LendbridgeError as refusal:
                if isinstance(refusal, errors.RetryableError) or refusal.status >= 500:
                    raise
                return _freeze(_refusal(refusal, request_id))

        CONFIG.register_lambda_context(app.lambda_context)
        try:
            stored = once(request=request)
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
        response = _thaw(stored)
        if response.status_code >= 400:
            raise PreparedResponse(response)
        return response


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


def _refusal(refusal: errors.LendbridgeError, request_id: str) -> Response:
    field_errors = refusal.field_errors if isinstance(refusal, errors.ValidationFailed) else None
    return envelope.error(
        refusal.status,
        refusal.code,
        refusal.message,
        request_id,
        field_errors=field_errors,
        details=refusal.details,
    )


def secret_fields_in(value: Any) -> set[str]:
    """Names from ``SECRET_FIELDS`` anywhere in a JSON-like value."""
    if isinstance(value, dict):
        return {k for k in value if k in SECRET_FIELDS}.union(*(secret_fields_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_fields_in(v) for v in value))
    return set()


def _freeze(response: Response) -> dict[str, Any]:
    body = json.loads(response.body) if isinstance(response.body, str) and response.body else response.body
    if leaked := secret_fields_in(body):
        # A programming error (a route returning secrets was wrapped): fail loudly, store nothing.
        raise RuntimeError(f"refusing to store a response with {sorted(leaked)}")
    headers = {k: v for k, v in (response.headers or {}).items() if isinstance(v, str)}
    # Stored as JSON-ready values (money is already text), replayed byte for byte the same.
    return {"status": response.status_code, "body": json.loads(dumps(body)), "headers": headers}


def _thaw(stored: dict[str, Any]) -> Response:
    headers = dict(stored.get("headers") or {})
    if stored.get(_REPLAYED):
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=int(stored["status"]),
        content_type="application/json",
        body=stored["body"],
        headers=headers,
    )
