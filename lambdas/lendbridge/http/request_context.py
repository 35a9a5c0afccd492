"""What a request says about itself: its id and its authenticated caller.

Read through Powertools' event data class (case-insensitive headers, the authorizer's claims),
tolerating the parts a hand-made or damaged event may lack.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayEventRequestContext
from aws_lambda_powertools.utilities.data_classes.common import APIGatewayEventIdentity

from lendbridge.errors import Unauthorized

# A caller-supplied id is echoed only when it is short and plain, so it cannot inject
# anything into logs or headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
# RFC 6750 2.1: the characters a bearer token is written with.
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    value = event.headers.get(name)  # Powertools' headers ignore the case of the name
    return value if isinstance(value, str) else None


def request_context(event: APIGatewayProxyEvent) -> APIGatewayEventRequestContext:
    return APIGatewayEventRequestContext(event.get("requestContext") or {})


def request_id_of(event: APIGatewayProxyEvent) -> str:
    incoming = header(event, "X-Request-Id")
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    gateway_id = request_context(event).get("requestId")
    return gateway_id if isinstance(gateway_id, str) and gateway_id else str(uuid.uuid4())


@dataclass(frozen=True)
class Caller:
    user_id: str
    username: str


def caller_of(event: APIGatewayProxyEvent) -> Caller:
    """The caller as the API Gateway Cognito authorizer verified it.

    The authorizer has already checked signature, expiry, issuer and scope; a route that
    needs a caller and finds no claims was reached without that check, which is refused. The
    authorizer also takes a bare token, so the ``Bearer`` scheme is enforced here.
    """
    require_bearer_scheme(header(event, "Authorization"))
    claims = request_context(event).authorizer.claims
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("Authentication required")
    username = claims.get("username") or claims.get("cognito:username") or subject
    return Caller(user_id=subject, username=str(username))


def require_bearer_scheme(authorization: str | None) -> None:
    """``Authorization: Bearer <token>``, the scheme in any case (RFC 9110 schemes are
    case-insensitive); a bare token or another scheme is refused. The token must be a
    ``b64token`` (RFC 6750 2.1): base64 decoders skip other characters, so a signed token with
    text appended (``<jwt>é``) still verified and reached the handler."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token.strip()):
        raise Unauthorized("Send the access token as 'Authorization: Bearer <token>'")


def client_of(event: APIGatewayProxyEvent) -> tuple[str | None, str | None]:
    """The caller's source IP and user agent, as API Gateway saw them (for audit entries)."""
    identity = APIGatewayEventIdentity(request_context(event).get("identity") or {})
    source_ip = identity.get("sourceIp")
    user_agent = header(event, "User-Agent") or identity.user_agent
    return (source_ip if isinstance(source_ip, str) else None, user_agent[:512] if user_agent else None)
