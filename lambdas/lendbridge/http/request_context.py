"""What a request says about itself: its id and its authenticated caller."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lendbridge.errors import Unauthorized

# A caller-supplied id is echoed only when it is short and plain, so it cannot inject
# anything into logs or headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")


def header(event: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def request_id_of(event: Mapping[str, Any]) -> str:
    incoming = header(event, "X-Request-Id")
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    gateway_id = (event.get("requestContext") or {}).get("requestId")
    return gateway_id if isinstance(gateway_id, str) and gateway_id else str(uuid.uuid4())


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str


def caller_of(event: Mapping[str, Any]) -> Caller:
    """The caller as the API Gateway Cognito authorizer verified it.

    The authorizer has already checked signature, expiry, issuer and scope; a route that
    needs a caller and finds no claims was reached without that check, which is refused. The
    authorizer also takes a bare token, so the ``Bearer`` scheme is enforced here.
    """
    require_bearer_scheme(header(event, "Authorization"))
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("Authentication required")
    username = claims.get("username") or claims.get("cognito:username") or subject
    return Caller(user_id=subject, username=str(username))


def require_bearer_scheme(authorization: str | None) -> None:
    """``Authorization: Bearer <token>``, the scheme in any case (RFC 9110 schemes are
    case-insensitive); a bare token or another scheme is refused."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the access token as 'Authorization: Bearer <token>'")


def client_of(event: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The caller's source IP and user agent, as API Gateway saw them (for audit entries)."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    source_ip = identity.get("sourceIp")
    user_agent = header(event, "User-Agent") or identity.get("userAgent")
    return (source_ip if isinstance(source_ip, str) else None, user_agent[:512] if user_agent else None)
