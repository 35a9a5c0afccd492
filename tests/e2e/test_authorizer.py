"""The Cognito authorizer in front of authenticated methods: only a current access token that
the pool signed for its app client, with the method's scope, reaches the handler; anything
else is API Gateway's 401 in the contract's envelope."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.support import (
    Api,
    User,
    assert_error_envelope,
    claims_of,
    foreign_key,
    fresh_times,
    moto_signing_key,
    sign,
)


@pytest.fixture(scope="module")
def genuine(user: User) -> dict[str, Any]:
    """The claims of a token the pool issued, to forge variations of."""
    return claims_of(user.access_token)


def me(api: Api, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return api.get("/v1/users/me", headers=headers)


def test_a_token_signed_with_the_pools_key_and_fresh_claims_is_accepted(api: Api, user: User, genuine: dict) -> None:
    # The control for the forgeries below: same key, same claims, only what each test changes.
    response = me(api, f"Bearer {sign(fresh_times(genuine), moto_signing_key())}")
    assert response.status_code == 200
    assert response.json()["data"]["user_id"] == user.user_id


def test_the_raw_token_without_the_bearer_scheme_is_refused(api: Api, user: User) -> None:
    # The gateway's authorizer takes a bare token, as API Gateway's does; the function refuses it.
    assert_error_envelope(me(api, user.access_token), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
def test_a_missing_or_unreadable_token_is_unauthorized(api: Api, authorization: str | None) -> None:
    assert_error_envelope(me(api, authorization), 401, "UNAUTHORIZED")


def test_a_token_signed_by_another_key_is_unauthorized(api: Api, genuine: dict) -> None:
    forged = sign(fresh_times(genuine), foreign_key())  # same kid, same claims, wrong key
    assert_error_envelope(me(api, f"Bearer {forged}"), 401, "UNAUTHORIZED")


def test_an_expired_token_is_unauthorized(api: Api, genuine: dict) -> None:
    now = int(time.time())
    expired = sign({**genuine, "iat": now - 7200, "auth_time": now - 7200, "exp": now - 60}, moto_signing_key())
    assert_error_envelope(me(api, f"Bearer {expired}"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"token_use": "id"}, id="an ID token where the method requires a scope"),
        pytest.param({"scope": "openid email"}, id="without the method's scope"),
        pytest.param({"client_id": "some-other-client"}, id="for another app client"),
        pytest.param({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}, id="another pool"),
    ],
)
def test_a_validly_signed_token_with_wrong_claims_is_unauthorized(api: Api, genuine: dict, change: dict) -> None:
    token = sign({**fresh_times(genuine), **change}, moto_signing_key())
    assert_error_envelope(me(api, f"Bearer {token}"), 401, "UNAUTHORIZED")


def test_an_unsigned_token_is_unauthorized(api: Api, genuine: dict) -> None:
    import jwt

    unsigned = jwt.encode(fresh_times(genuine), key=None, algorithm="none")
    assert_error_envelope(me(api, f"Bearer {unsigned}"), 401, "UNAUTHORIZED")


def test_the_401_carries_the_gateway_request_id_in_header_and_body(api: Api) -> None:
    response = me(api, None)
    body = assert_error_envelope(response, 401, "UNAUTHORIZED")
    assert body["message"] == "Missing or invalid credentials"  # the template's GatewayResponse
    assert response.headers["x-amzn-RequestId"] == body["request_id"]


@pytest.mark.parametrize("appended", ["\u00c3\u00a9", "\u00ff", "!", "~~~~", "=", "=="])
def test_a_genuine_token_with_text_appended_is_refused(api: Api, user: User, appended: str) -> None:
    # base64 decoders skip characters outside their alphabet, so these used to verify (200).
    assert_error_envelope(me(api, f"Bearer {user.access_token}{appended}"), 401, "UNAUTHORIZED")
