"""The account routes and the caller's profile, end to end: gateway, handler, Cognito (moto,
with the operations ``local.moto_cognito`` adds) and DynamoDB Local, all provisioned from the dev
template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local.stack import LocalLendbridge
from tests.e2e.support import (
    PASSWORD,
    UUID,
    Api,
    User,
    assert_error_envelope,
    claims_of,
    register_and_login,
    unique_email,
)


def test_register_creates_the_user_and_returns_it(api: Api) -> None:
    email = unique_email("Ada")
    response = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"})
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["data"]["email"] == email.lower()
    assert body["data"]["full_name"] == "Ada Lovelace"
    assert UUID.match(body["data"]["user_id"])
    assert set(body["data"]) == {"user_id", "email", "full_name"}


def test_registering_the_same_email_twice_is_a_conflict(api: Api) -> None:
    email = unique_email("twice")
    first = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "First"})
    assert first.status_code == 201
    second = api.post("/v1/auth/register", json={"email": email.upper(), "password": PASSWORD, "full_name": "Again"})
    assert_error_envelope(second, 409, "CONFLICT")


def test_a_password_outside_the_pool_policy_is_a_validation_error(api: Api) -> None:
    response = api.post(
        "/v1/auth/register", json={"email": unique_email("weak"), "password": "alllowercase12", "full_name": "Weak"}
    )
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert "password" in body["field_errors"]


def test_login_returns_a_bearer_access_token_for_the_user(api: Api) -> None:
    email = unique_email("login")
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Log In"})
    response = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600  # the app client's 60-minute access token validity
    assert data["refresh_token"]
    claims = claims_of(data["access_token"])
    assert claims["sub"] == registered.json()["data"]["user_id"]
    assert claims["token_use"] == "access"
    assert "aws.cognito.signin.user.admin" in claims["scope"].split()


def test_a_wrong_password_is_unauthorized(api: Api, user: User) -> None:
    response = api.post("/v1/auth/login", json={"email": user.email, "password": PASSWORD + "x"})
    assert_error_envelope(response, 401, "UNAUTHORIZED")


def test_an_unknown_email_is_unauthorized_like_a_wrong_password(api: Api) -> None:
    response = api.post("/v1/auth/login", json={"email": unique_email("nobody"), "password": PASSWORD})
    assert_error_envelope(response, 401, "UNAUTHORIZED")


def test_me_returns_the_callers_profile(api: Api, user: User) -> None:
    response = api.get("/v1/users/me", headers=user.bearer)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["user_id"] == user.user_id
    assert data["email"] == user.email
    assert data["full_name"] == user.full_name
    assert data["created_at"].endswith("Z")


# --- The account lifecycle: verification, refresh, logout, password reset ----------------------


@dataclass(frozen=True)
class Pool:
    cognito: Any
    pool_id: str
    client_id: str


@pytest.fixture(scope="module")
def pool(stack: LocalLendbridge) -> Pool:
    cognito = stack.clients().cognito
    pool_id = cognito.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    client_id = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"][0]["ClientId"]
    return Pool(cognito, pool_id, client_id)


def _comparable(response: requests.Response) -> tuple[int, dict[str, Any]]:
    """Status and body without what differs per request (its id and time)."""
    body = dict(response.json())
    body.pop("request_id", None)
    body.pop("timestamp", None)
    return response.status_code, body


def _login(api: Api, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = api.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _pending_sign_up(pool: Pool, label: str) -> str:
    """A sign-up as prod leaves it, unconfirmed (dev confirms at registration)."""
    email = unique_email(label)
    attributes = [{"Name": "email", "Value": email}, {"Name": "name", "Value": "Pen Ding"}]
    pool.cognito.sign_up(ClientId=pool.client_id, Username=email, Password=PASSWORD, UserAttributes=attributes)
    return email


def test_confirm_verifies_an_email_awaiting_its_code(api: Api, pool: Pool) -> None:
    email = _pending_sign_up(pool, "confirm")
    response = api.post("/v1/auth/confirm", json={"email": email, "code": "123456"})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    user = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    assert _login(api, email)["access_token"]


def test_confirm_answers_a_wrong_code_an_unknown_email_and_a_confirmed_one_alike(
    api: Api, pool: Pool, user: User
) -> None:
    pending = _pending_sign_up(pool, "wrongconfirm")
    # A fresh code is issued; a code in moto's form that is not it is the wrong-code case.
    assert api.post("/v1/auth/resend-code", json={"email": pending}).status_code == 202
    code = "moto-confirmation-code:000000"
    answers = [
        api.post("/v1/auth/confirm", json={"email": email, "code": code})
        for email in (pending, unique_email("nobody"), user.email)
    ]
    body = assert_error_envelope(answers[0], 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == ["code"]
    assert [_comparable(answer) for answer in answers] == [_comparable(answers[0])] * 3
    still = pool.cognito.admin_get_user(UserPoolId=pool.pool_id, Username=pending)
    assert still["UserStatus"] == "UNCONFIRMED"


@pytest.mark.parametrize("body", [{"email": "ada@example.com"}, {"email": "ada@example.com", "code": "12 34"}])
def test_confirm_without_a_readable_code_is_a_validation_error(api: Api, body: dict[str, str]) -> None:
    assert_error_envelope(api.post("/v1/auth/confirm", json=body), 400, "VALIDATION_ERROR")


def test_resend_code_answers_alike_for_pending_confirmed_and_unknown_emails(api: Api, pool: Pool, user: User) -> None:
    pending = _pending_sign_up(pool, "pending")
    answers = [
        _comparable(api.post("/v1/auth/resend-code", json={"email": email}))
        for email in (pending, user.email, unique_email("nobody"))
    ]
    assert answers[0][0] == 202
    assert answers == [answers[0]] * 3


def test_forgot_password_answers_alike_for_known_and_unknown_emails(api: Api, user: User) -> None:
    known = _comparable(api.post("/v1/auth/forgot-password", json={"email": user.email}))
    unknown = _comparable(api.post("/v1/auth/forgot-password", json={"email": unique_email("nobody")}))
    assert known[0] == 202
    assert known == unknown


def test_reset_password_with_the_code_changes_the_password(api: Api) -> None:
    member = register_and_login(api, "reset")
    assert api.post("/v1/auth/forgot-password", json={"email": member.email}).status_code == 202
    new_password = "Brand-New-Passw0rd!"
    # moto checks only the codes it issues in its own format; any other code stands for the right one.
    response = api.post(
        "/v1/auth/reset-password", json={"email": member.email, "code": "123456", "new_password": new_password}
    )
    assert response.status_code == 200, response.text
    assert _login(api, member.email, new_password)["access_token"]
    old = api.post("/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert_error_envelope(old, 401, "UNAUTHORIZED")


def test_reset_password_with_a_wrong_code_answers_like_an_unknown_email(api: Api) -> None:
    member = register_and_login(api, "wrongcode")
    assert api.post("/v1/auth/forgot-password", json={"email": member.email}).status_code == 202
    # A code in moto's own format that is not the one it issued: the wrong-code case.
    attempt = {"code": "moto-confirmation-code:000000", "new_password": "Another-Passw0rd!"}
    wrong = api.post("/v1/auth/reset-password", json={"email": member.email, **attempt})
    unknown = api.post("/v1/auth/reset-password", json={"email": unique_email("nobody"), **attempt})
    assert_error_envelope(wrong, 400, "VALIDATION_ERROR")
    assert _comparable(wrong) == _comparable(unknown)
    assert _login(api, member.email)["access_token"], "the password is unchanged"


def test_reset_password_applies_the_pool_policy(api: Api) -> None:
    attempt = {"email": unique_email("weak"), "code": "123456", "new_password": "weakpassword"}
    response = api.post("/v1/auth/reset-password", json=attempt)
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert "new_password" in body["field_errors"]


def test_refresh_gives_a_working_access_token(api: Api) -> None:
    member = register_and_login(api, "refresh")
    tokens = _login(api, member.email)
    response = api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"access_token", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    me = api.get("/v1/users/me", headers={"Authorization": f"Bearer {data['access_token']}"})
    assert me.status_code == 200
    assert me.json()["data"]["user_id"] == member.user_id


def test_refresh_with_an_unknown_token_is_unauthorized(api: Api) -> None:
    assert_error_envelope(api.post("/v1/auth/refresh", json={"refresh_token": "not.a.token"}), 401, "UNAUTHORIZED")


def test_logout_revokes_the_refresh_token(api: Api) -> None:
    member = register_and_login(api, "logout")
    tokens = _login(api, member.email)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = api.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer)
    assert response.status_code == 204, response.text
    assert response.content == b""
    refreshed = api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_error_envelope(refreshed, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("scheme", [None, ""])
def test_logout_needs_the_access_token(api: Api, user: User, scheme: str | None) -> None:
    tokens = _login(api, user.email)
    headers = {} if scheme is None else {"Authorization": f"{scheme}{tokens['access_token']}"}
    response = api.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers)
    assert_error_envelope(response, 401, "UNAUTHORIZED")
    assert api.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 200


# --- Bearer scheme ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_is_matched_as_the_scheme_in_any_case(api: Api, user: User, scheme: str) -> None:
    response = api.get("/v1/users/me", headers={"Authorization": f"{scheme} {user.access_token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ["{token}", "Token {token}", "Bearer{token}"])
def test_a_token_without_the_bearer_scheme_is_refused(api: Api, user: User, value: str) -> None:
    response = api.get("/v1/users/me", headers={"Authorization": value.format(token=user.access_token)})
    assert_error_envelope(response, 401, "UNAUTHORIZED")


# --- A second sign-in step (TOTP) ---------------------------------------------------------------


def test_login_with_totp_turned_on_asks_for_the_code_then_signs_in(api: Api, pool: Pool) -> None:
    member = register_and_login(api, "totp")
    # The user turns TOTP on with Cognito directly, as its public API allows with an access token.
    pool.cognito.associate_software_token(AccessToken=member.access_token)
    pool.cognito.verify_software_token(AccessToken=member.access_token, UserCode="123456")
    pool.cognito.set_user_mfa_preference(
        AccessToken=member.access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    login = api.post("/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    body = assert_error_envelope(login, 401, "UNAUTHORIZED")
    assert body["details"]["challenge"] == "SOFTWARE_TOKEN_MFA"
    assert body["details"]["respond_with"] == "POST /v1/auth/respond-to-challenge"
    answer = api.post(
        "/v1/auth/respond-to-challenge",
        json={
            "email": member.email,
            "challenge": "SOFTWARE_TOKEN_MFA",
            "session": body["details"]["session"],
            "code": "123456",
        },
    )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()["data"]
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    me = api.get("/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["data"]["user_id"] == member.user_id


def test_respond_to_challenge_with_an_unknown_session_is_unauthorized(api: Api, user: User) -> None:
    response = api.post(
        "/v1/auth/respond-to-challenge",
        json={"email": user.email, "challenge": "SOFTWARE_TOKEN_MFA", "session": "x" * 36, "code": "123456"},
    )
    assert_error_envelope(response, 401, "UNAUTHORIZED")
