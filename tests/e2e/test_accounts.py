"""Registration, login and the caller's profile, end to end: gateway, handler, Cognito (moto)
and DynamoDB Local, all provisioned from the dev template."""

from __future__ import annotations

from tests.e2e.support import PASSWORD, UUID, Api, User, assert_error_envelope, claims_of, unique_email


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
