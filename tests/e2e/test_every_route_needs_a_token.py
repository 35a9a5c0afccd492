"""Every authenticated route, through the gateway: no token and a forged token are refused
with 401 before any handler runs, so no route can be reached anonymously."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from lendbridge.routes import ROUTES
from tests.e2e.support import Api, User, assert_error_envelope, claims_of, foreign_key, fresh_times, sign

AUTHENTICATED = [route for route in ROUTES if route.authenticated]
PUBLIC = [route for route in ROUTES if not route.authenticated]


def concrete(path: str) -> str:
    return path.replace("{loan_id}", str(uuid.uuid4())).replace("{participant_id}", str(uuid.uuid4()))


@pytest.fixture(scope="module")
def forged(user: User) -> str:
    return sign(fresh_times(claims_of(user.access_token)), foreign_key())


@pytest.fixture(scope="module")
def expired(user: User) -> str:
    from tests.e2e.support import moto_signing_key

    now = int(time.time())
    claims = {**claims_of(user.access_token), "iat": now - 7200, "auth_time": now - 7200, "exp": now - 60}
    return sign(claims, moto_signing_key())


def test_the_public_routes_are_exactly_health_and_the_signed_out_account_routes() -> None:
    assert {(r.method, r.path) for r in PUBLIC} == {
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("POST", "/v1/auth/register"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/respond-to-challenge"),
        ("POST", "/v1/auth/confirm"),
        ("POST", "/v1/auth/resend-code"),
        ("POST", "/v1/auth/refresh"),
        ("POST", "/v1/auth/forgot-password"),
        ("POST", "/v1/auth/reset-password"),
    }


@pytest.mark.parametrize("route", AUTHENTICATED, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("credential", ["none", "forged", "expired"])
def test_route_refuses(api: Api, route: Any, credential: str, forged: str, expired: str) -> None:
    headers = {
        "none": {},
        "forged": {"Authorization": f"Bearer {forged}"},
        "expired": {"Authorization": f"Bearer {expired}"},
    }[credential]
    response = api.request(route.method, concrete(route.path), headers=headers, json={})
    assert_error_envelope(response, 401, "UNAUTHORIZED")
