"""Helpers for driving the local stack over HTTP: a client, users, envelopes and forged tokens."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Satisfies the pool's policy: 12+ characters with upper, lower, digit and symbol.
PASSWORD = "Local-Passw0rd!"


class Api:
    """requests against the stack's base URL, with a timeout on every call."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    full_name: str
    password: str
    access_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


def register_and_login(api: Api, label: str = "user") -> User:
    email, full_name = unique_email(label), f"{label.title()} Tester"
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": full_name})
    assert registered.status_code == 201, registered.text
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return User(registered.json()["data"]["user_id"], email, full_name, PASSWORD, login.json()["data"]["access_token"])


def assert_error_envelope(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The contract's error envelope, with the request id matching a request id header."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert len(body["message"]) > 3
    # API Gateway's own errors cannot map the request id into X-Request-Id (only the caller's is
    # echoed there); they carry it as x-amzn-RequestId, as the local stand-in does.
    assert body["request_id"] in (response.headers.get("X-Request-Id"), response.headers.get("x-amzn-RequestId"))
    assert len(body["request_id"]) >= 8
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
    return body


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def moto_signing_key() -> Any:
    """The private key moto signs every pool's tokens with (a fixture file of the moto
    package): with it, a test can make tokens the authorizer must judge on their claims alone."""
    from moto.utilities.utils import load_resource

    document = load_resource("cognitoidp/resources/jwks-private.json")
    jwk = document["keys"][0] if "keys" in document else document
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))


def sign(claims: dict[str, Any], key: Any, kid: str = "dummy") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def foreign_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fresh_times(claims: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {**claims, "iat": now, "auth_time": now, "exp": now + 600}
