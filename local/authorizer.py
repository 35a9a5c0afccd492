"""API Gateway's Cognito user pool authorizer, with the same checks it makes.

A token passes when it is a JWT signed by a key of a pool the authorizer names (fetched from
the pool's JWKS, which moto serves at ``/<pool_id>/.well-known/jwks.json``), has not expired,
and was issued by that pool. With authorization scopes on the method, it must be an access
token carrying at least one of them; without, an ID token (``token_use == "id"``), exactly as
API Gateway decides. Its client (``client_id``, or ``aud`` for ID tokens) must be one of the
pool's app clients. Claims reach the handler as strings, the way API Gateway renders them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from local.template import REGION

JWKS_TIMEOUT_S = 5
JWKS_LIFESPAN_S = 300
# Three base64url segments without padding (RFC 7515 7.1), as Cognito issues them.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class Denied(Exception):
    """The token is refused; the reason is logged, never sent (API Gateway says only 401)."""


@dataclass(frozen=True)
class PoolTrust:
    pool_id: str
    issuer: str
    client_ids: frozenset[str]
    jwks_url: str


def default_issuer(pool_id: str) -> str:
    # What Cognito (and moto) put in ``iss``.
    return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"


class CognitoAuthorizer:
    def __init__(self, pools: Sequence[PoolTrust]) -> None:
        self._pools = {pool.issuer: pool for pool in pools}
        self._keys: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def authorize(self, header_value: str | None, scopes: Sequence[str]) -> dict[str, str]:
        """The token's claims as API Gateway passes them on, or ``Denied``."""
        token = _token_of(header_value)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Denied(f"not a JWT: {error}") from error
        pool = self._pools.get(str(unverified.get("iss", "")))
        if pool is None:
            raise Denied(f"issuer {unverified.get('iss')!r} is not a pool of this authorizer")
        if header.get("alg") != "RS256":
            raise Denied(f"algorithm {header.get('alg')!r} is not RS256")
        try:
            key = self._signing_key(pool, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=pool.issuer,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise Denied("the token has expired") from error
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise Denied(f"invalid token: {error}") from error
        _check_use(claims, pool, scopes)
        return {name: _as_string(name, value) for name, value in claims.items()}

    def _signing_key(self, pool: PoolTrust, token: str) -> Any:
        with self._lock:
            client = self._keys.get(pool.pool_id)
            if client is None:
                client = jwt.PyJWKClient(
                    pool.jwks_url, cache_jwk_set=True, lifespan=JWKS_LIFESPAN_S, timeout=JWKS_TIMEOUT_S
                )
                self._keys[pool.pool_id] = client
        return client.get_signing_key_from_jwt(token).key


def _token_of(header_value: str | None) -> str:
    if header_value is None or not header_value.strip():
        raise Denied("no token")
    value = header_value.strip()
    # API Gateway takes the header's value as the token; clients commonly send "Bearer <jwt>".
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if not _COMPACT_JWS.fullmatch(value):
        # PyJWT's base64 decoding skips characters outside the alphabet: a signed token with
        # text appended ("<jwt>~", "<jwt>é") would still verify.
        raise Denied("not a JWT in compact form")
    return value


def _check_use(claims: Mapping[str, Any], pool: PoolTrust, scopes: Sequence[str]) -> None:
    use = claims.get("token_use")
    if scopes:
        if use != "access":
            raise Denied(f"token_use {use!r}: methods with scopes take access tokens")
        granted = set(str(claims.get("scope", "")).split())
        if not granted.intersection(scopes):
            raise Denied(f"none of the scopes {list(scopes)} granted")
        client_id = claims.get("client_id")
    else:
        if use != "id":
            raise Denied(f"token_use {use!r}: methods without scopes take ID tokens")
        client_id = claims.get("aud")
    if client_id not in pool.client_ids:
        raise Denied(f"client {client_id!r} is not an app client of {pool.pool_id}")


def _as_string(name: str, value: Any) -> str:
    # API Gateway renders exp and iat as dates ("Fri Jul 29 18:52:53 UTC 2016") and every
    # other claim as text.
    if name in ("exp", "iat") and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)
