"""Accounts: the domain's rules with fakes, the handler with a stubbed identity port, the
Cognito adapter's requests and error mapping with botocore's Stubber, and the adapter against moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from lendbridge.data.identity import CognitoIdentity
from lendbridge.domain.accounts import (
    Accounts,
    Challenge,
    ClientContext,
    EmailNotVerified,
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    InvalidRefreshToken,
    PasswordRejected,
    SecondStepRequired,
    Tokens,
    UnsupportedSignInStep,
    UserProfile,
)
from lendbridge.domain.ports import Actor
from lendbridge.errors import IdentityThrottled, NotFound
from lendbridge.handlers import accounts as handler_module
from tests.events import FakeContext, api_event, body_of

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "Correct-Horse-9"
CONTEXT = ClientContext("203.0.113.7", "api.example.com", "/v1/auth/login", (("User-Agent", "pytest"),))


@dataclass
class RecordingIdentity:
    removed: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    sign_in: Tokens | Challenge = field(default_factory=lambda: Tokens("a", 3600, "r"))
    calls: list[str] = field(default_factory=list)

    def sign_up(self, email: str, password: str, full_name: str) -> str:
        return "sub-1"

    def confirm(self, email: str) -> None:
        self.confirmed.append(email)

    def remove(self, email: str) -> None:
        self.removed.append(email)

    def authenticate(self, email: str, password: str, context: ClientContext) -> Tokens | Challenge:
        self.calls.append("authenticate")
        return self.sign_in

    def respond_to_challenge(
        self, email: str, challenge: Challenge, code: str, context: ClientContext
    ) -> Tokens | Challenge:
        self.calls.append(f"respond:{challenge.name}")
        return Tokens("a2", 3600, "r2")

    def refresh(self, refresh_token: str) -> Tokens:
        return Tokens("a3", 3600, "")

    def revoke(self, refresh_token: str) -> None:
        self.calls.append("revoke")

    def confirm_sign_up(self, email: str, code: str) -> None:
        self.calls.append("confirm_sign_up")

    def resend_code(self, email: str) -> None:
        self.calls.append("resend_code")

    def forgot_password(self, email: str) -> None:
        self.calls.append("forgot_password")

    def reset_password(self, email: str, code: str, new_password: str) -> None:
        self.calls.append("reset_password")


@dataclass
class RecordingUsers:
    failure: Exception | None = None
    created: list[tuple[UserProfile, Actor]] = field(default_factory=list)

    def create(self, profile: UserProfile, actor: Actor) -> None:
        if self.failure:
            raise self.failure
        self.created.append((profile, actor))

    def get(self, user_id: str) -> UserProfile | None:
        return next((p for p, _ in self.created if p.user_id == user_id), None)


@dataclass
class RecordingClaimer:
    claims: list[tuple[str, str]] = field(default_factory=list)

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        self.claims.append((user_id, email))


def accounts(
    auto_confirm: bool, users: RecordingUsers | None = None
) -> tuple[Accounts, RecordingIdentity, RecordingClaimer]:
    identity, claimer = RecordingIdentity(), RecordingClaimer()
    service = Accounts(
        identity=identity,
        users=users or RecordingUsers(),
        clock=lambda: NOW,
        auto_confirm_email=auto_confirm,
        invitations=claimer,
    )
    return service, identity, claimer


def test_register_in_dev_confirms_stores_and_claims_invitations() -> None:
    service, identity, claimer = accounts(auto_confirm=True)
    profile = service.register(" Ada@Example.COM ", PASSWORD, "Ada", "req-1")
    assert profile == UserProfile("sub-1", "ada@example.com", "Ada", NOW)
    assert identity.confirmed == [" Ada@Example.COM "]
    assert claimer.claims == [("sub-1", "ada@example.com")]
    assert service.profile("sub-1").email == "ada@example.com"


def test_register_in_prod_leaves_verification_and_claiming_to_cognito() -> None:
    service, identity, claimer = accounts(auto_confirm=False)
    service.register("ada@example.com", PASSWORD, "Ada", "req-1")
    assert identity.confirmed == []
    assert claimer.claims == []


def test_a_failed_profile_write_removes_the_login_so_nothing_is_half_written() -> None:
    service, identity, _ = accounts(auto_confirm=True, users=RecordingUsers(failure=EmailTaken("taken")))
    with pytest.raises(EmailTaken):
        service.register("ada@example.com", PASSWORD, "Ada", "req-1")
    assert identity.removed == ["ada@example.com"]


def test_profile_of_an_unknown_user_is_not_found() -> None:
    service, _, _ = accounts(auto_confirm=True)
    with pytest.raises(NotFound):
        service.profile("nobody")


@pytest.fixture
def cognito() -> Iterator[CognitoIdentity]:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        pool = client.create_user_pool(
            PoolName="test",
            UsernameAttributes=["email"],
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
        )["UserPool"]["Id"]
        app_client = client.create_user_pool_client(
            UserPoolId=pool,
            ClientName="api",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        yield CognitoIdentity(client, pool, app_client)


def test_cognito_sign_up_confirm_and_login(cognito: CognitoIdentity) -> None:
    user_id = cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.confirm("ada@example.com")
    tokens = cognito.authenticate("ADA@example.com", PASSWORD, CONTEXT)
    assert isinstance(tokens, Tokens)
    assert user_id
    assert tokens.token_type == "Bearer"
    assert tokens.access_token.count(".") == 2
    assert tokens.expires_in > 0


def test_cognito_duplicate_email_is_email_taken(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    with pytest.raises(EmailTaken):
        cognito.sign_up("ada@example.com", PASSWORD, "Ada again")


def test_cognito_wrong_password_is_invalid_credentials(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.confirm("ada@example.com")
    with pytest.raises(InvalidCredentials):
        cognito.authenticate("ada@example.com", "Wrong-Password-1", CONTEXT)
    with pytest.raises(InvalidCredentials):
        cognito.authenticate("nobody@example.com", PASSWORD, CONTEXT)


def test_cognito_weak_password_names_the_field(cognito: CognitoIdentity) -> None:
    with pytest.raises(PasswordRejected) as raised:
        cognito.sign_up("ada@example.com", "weak", "Ada")
    assert "password" in raised.value.field_errors


def test_cognito_remove_undoes_sign_up(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.remove("ada@example.com")
    assert cognito.sign_up("ada@example.com", PASSWORD, "Ada")


# --- Sign-in steps: the domain never lets a challenge through as a 500 -------------------------


def test_login_with_a_code_challenge_asks_for_the_second_step() -> None:
    service, identity, _ = accounts(auto_confirm=True)
    identity.sign_in = Challenge("SOFTWARE_TOKEN_MFA", "session-123")
    with pytest.raises(SecondStepRequired) as raised:
        service.login("ada@example.com", PASSWORD, CONTEXT)
    assert raised.value.details == {
        "challenge": "SOFTWARE_TOKEN_MFA",
        "session": "session-123",
        "respond_with": "POST /v1/auth/respond-to-challenge",
    }


def test_login_with_a_step_the_api_has_no_route_for_is_refused_by_name() -> None:
    service, identity, _ = accounts(auto_confirm=True)
    identity.sign_in = Challenge("NEW_PASSWORD_REQUIRED", "session-123")
    with pytest.raises(UnsupportedSignInStep) as raised:
        service.login("ada@example.com", PASSWORD, CONTEXT)
    assert raised.value.details == {"challenge": "NEW_PASSWORD_REQUIRED"}


def test_responding_to_a_challenge_returns_the_tokens() -> None:
    service, identity, _ = accounts(auto_confirm=True)
    tokens = service.respond_to_challenge("ada@example.com", Challenge("SOFTWARE_TOKEN_MFA", "s"), "123456", CONTEXT)
    assert tokens == Tokens("a2", 3600, "r2")
    assert identity.calls == ["respond:SOFTWARE_TOKEN_MFA"]


def test_email_only_routes_make_one_identity_call_whatever_the_email() -> None:
    # One call and no lookup of our own: a known and an unknown email take the same path.
    service, identity, _ = accounts(auto_confirm=False)
    service.resend_code("ada@example.com")
    service.forgot_password("ada@example.com")
    service.confirm("ada@example.com", "123456")
    service.reset_password("ada@example.com", "123456", PASSWORD)
    assert identity.calls == ["resend_code", "forgot_password", "confirm_sign_up", "reset_password"]


# --- The handler with a stubbed identity port ---------------------------------------------------


@pytest.fixture
def handler_with() -> Iterator[RecordingIdentity]:
    identity = RecordingIdentity()
    handler_module.accounts.override(
        Accounts(identity=identity, users=RecordingUsers(), clock=lambda: NOW, auto_confirm_email=False)
    )
    yield identity
    handler_module.accounts.reset()


def _call(method: str, path: str, body: object = None, **kwargs: object) -> tuple[int, dict[str, object]]:
    response = handler_module.handler(api_event(method, path, body=body, **kwargs), FakeContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), body_of(response) or {}


def test_login_answering_a_challenge_is_a_typed_401_not_a_500(handler_with: RecordingIdentity) -> None:
    handler_with.sign_in = Challenge("SOFTWARE_TOKEN_MFA", "s" * 40)
    status, body = _call("POST", "/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD})
    assert status == 401
    assert body["error"] == "UNAUTHORIZED"
    assert body["details"] == {
        "challenge": "SOFTWARE_TOKEN_MFA",
        "session": "s" * 40,
        "respond_with": "POST /v1/auth/respond-to-challenge",
    }


def test_login_with_an_unsupported_challenge_is_a_401_not_a_500(handler_with: RecordingIdentity) -> None:
    handler_with.sign_in = Challenge("MFA_SETUP", "s" * 40)
    status, body = _call("POST", "/v1/auth/login", {"email": "ada@example.com", "password": PASSWORD})
    assert (status, body["error"], body["details"]) == (401, "UNAUTHORIZED", {"challenge": "MFA_SETUP"})


def test_respond_to_challenge_returns_tokens(handler_with: RecordingIdentity) -> None:
    status, body = _call(
        "POST",
        "/v1/auth/respond-to-challenge",
        {"email": "ada@example.com", "challenge": "SOFTWARE_TOKEN_MFA", "session": "s" * 40, "code": "123456"},
    )
    assert status == 200
    assert body["data"] == {"access_token": "a2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r2"}


def test_respond_to_challenge_refuses_a_challenge_it_cannot_answer(handler_with: RecordingIdentity) -> None:
    status, body = _call(
        "POST",
        "/v1/auth/respond-to-challenge",
        {"email": "ada@example.com", "challenge": "NEW_PASSWORD_REQUIRED", "session": "s" * 40, "code": "123456"},
    )
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    assert handler_with.calls == []


def test_login_passes_the_callers_ip_path_and_safe_headers(handler_with: RecordingIdentity) -> None:
    seen: list[ClientContext] = []

    def authenticate(email: str, password: str, context: ClientContext) -> Tokens:
        seen.append(context)
        return Tokens("a", 3600, "r")

    handler_with.authenticate = authenticate  # type: ignore[method-assign]
    status, _ = _call(
        "POST",
        "/v1/auth/login",
        {"email": "ada@example.com", "password": PASSWORD},
        headers={"Host": "api.example.com", "Authorization": "Bearer x", "Cookie": "c=1", "Accept-Language": "en"},
    )
    assert status == 200
    assert seen[0].ip_address == "203.0.113.7"
    assert seen[0].server_name == "api.example.com"
    assert seen[0].server_path == "/v1/auth/login"
    names = {name for name, _ in seen[0].headers}
    assert {"User-Agent", "Accept-Language", "Host"} <= names
    assert not names & {"Authorization", "Cookie"}, "credentials never leave for risk scoring"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/auth/confirm", {"email": "ada@example.com", "code": "123456"}, 200),
        ("/v1/auth/resend-code", {"email": "ada@example.com"}, 202),
        ("/v1/auth/forgot-password", {"email": "ada@example.com"}, 202),
        ("/v1/auth/reset-password", {"email": "ada@example.com", "code": "123456", "new_password": PASSWORD}, 200),
        ("/v1/auth/refresh", {"refresh_token": "eyJ.abc.def"}, 200),
    ],
)
def test_public_account_routes_answer_their_status(
    handler_with: RecordingIdentity, path: str, body: dict[str, str], status: int
) -> None:
    answered, envelope = _call("POST", path, body)
    assert answered == status, envelope
    assert envelope["success"] is True


def test_reset_password_applies_the_pool_policy_to_the_new_password(handler_with: RecordingIdentity) -> None:
    status, body = _call(
        "POST", "/v1/auth/reset-password", {"email": "ada@example.com", "code": "123456", "new_password": "short"}
    )
    assert status == 400
    assert "new_password" in body["field_errors"]  # type: ignore[operator]
    assert handler_with.calls == []


def test_logout_revokes_for_a_signed_in_caller(handler_with: RecordingIdentity) -> None:
    status, _ = _call("POST", "/v1/auth/logout", {"refresh_token": "eyJ.abc.def"}, user_id="sub-1")
    assert status == 204
    assert handler_with.calls == ["revoke"]


# --- Bearer scheme ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Bearer tok", "bearer tok", "BEARER tok", "  Bearer   tok "])
def test_bearer_is_the_scheme_in_any_case(handler_with: RecordingIdentity, value: str) -> None:
    status, _ = _call(
        "POST", "/v1/auth/logout", {"refresh_token": "x"}, user_id="sub-1", headers={"Authorization": value}
    )
    assert status == 204


@pytest.mark.parametrize(
    "value", ["tok", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token tok"]
)
def test_a_token_without_the_bearer_scheme_is_refused(handler_with: RecordingIdentity, value: str) -> None:
    status, body = _call(
        "POST", "/v1/auth/logout", {"refresh_token": "x"}, user_id="sub-1", headers={"Authorization": value}
    )
    assert (status, body["error"]) == (401, "UNAUTHORIZED")
    assert handler_with.calls == []


@pytest.mark.parametrize(
    "value",
    [
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig\u00c3\u00a9",  # UTF-8 'é' as the header's latin-1 text
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig\u00ff\u00fe",
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig!",
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig, Bearer other",
        "Bearer eyJ hbG",
        "Bearer a=b",
    ],
)
def test_a_token_with_characters_outside_b64token_is_refused(handler_with: RecordingIdentity, value: str) -> None:
    # base64 decoders skip such characters: a signed token with text appended still verified.
    status, body = _call(
        "POST", "/v1/auth/logout", {"refresh_token": "x"}, user_id="sub-1", headers={"Authorization": value}
    )
    assert (status, body["error"]) == (401, "UNAUTHORIZED")
    assert handler_with.calls == []


@pytest.mark.parametrize("token", ["eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "a-b_c.d~e+f/g==", "tok"])
def test_every_b64token_is_taken(handler_with: RecordingIdentity, token: str) -> None:
    status, _ = _call(
        "POST", "/v1/auth/logout", {"refresh_token": "x"}, user_id="sub-1", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 204


# --- The Cognito adapter's requests and answers, with botocore's Stubber ------------------------

POOL, CLIENT = "us-east-1_Pool", "client-1"
Stubbed = tuple[CognitoIdentity, Stubber]


@pytest.fixture
def stubbed() -> Iterator[tuple[CognitoIdentity, Stubber]]:
    client = boto3.client("cognito-idp", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield CognitoIdentity(client, POOL, CLIENT), stubber
        stubber.assert_no_pending_responses()


def test_sign_in_sends_the_callers_context_to_threat_protection(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_response(
        "admin_initiate_auth",
        {"AuthenticationResult": {"AccessToken": "a", "ExpiresIn": 3600, "RefreshToken": "r", "TokenType": "Bearer"}},
        {
            "UserPoolId": POOL,
            "ClientId": CLIENT,
            "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "ada@example.com", "PASSWORD": PASSWORD},
            "ContextData": {
                "IpAddress": "203.0.113.7",
                "ServerName": "api.example.com",
                "ServerPath": "/v1/auth/login",
                "HttpHeaders": [{"headerName": "User-Agent", "headerValue": "pytest"}],
            },
        },
    )
    assert identity.authenticate(" Ada@Example.com", PASSWORD, CONTEXT) == Tokens("a", 3600, "r")


def test_sign_in_answered_with_a_challenge_is_a_challenge_not_a_key_error(
    stubbed: tuple[CognitoIdentity, Stubber],
) -> None:
    identity, stubber = stubbed
    stubber.add_response(
        "admin_initiate_auth", {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s" * 40, "ChallengeParameters": {}}
    )
    assert identity.authenticate("ada@example.com", PASSWORD, CONTEXT) == Challenge("SOFTWARE_TOKEN_MFA", "s" * 40)


def test_the_second_step_answers_with_the_code_key_of_its_challenge(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_response(
        "admin_respond_to_auth_challenge",
        {"AuthenticationResult": {"AccessToken": "a", "ExpiresIn": 3600, "RefreshToken": "r"}},
        {
            "UserPoolId": POOL,
            "ClientId": CLIENT,
            "ChallengeName": "EMAIL_OTP",
            "Session": "s" * 40,
            "ChallengeResponses": {"USERNAME": "ada@example.com", "EMAIL_OTP_CODE": "123456"},
            "ContextData": ANY,
        },
    )
    stubber.add_client_error("admin_respond_to_auth_challenge", "CodeMismatchException")
    assert identity.respond_to_challenge("ada@example.com", Challenge("EMAIL_OTP", "s" * 40), "123456", CONTEXT) == (
        Tokens("a", 3600, "r")
    )
    with pytest.raises(InvalidCredentials):
        identity.respond_to_challenge("ada@example.com", Challenge("SOFTWARE_TOKEN_MFA", "s" * 40), "000000", CONTEXT)


def test_an_unconfirmed_sign_in_is_refused_as_not_verified(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_client_error("admin_initiate_auth", "UserNotConfirmedException")
    with pytest.raises(EmailNotVerified):
        identity.authenticate("ada@example.com", PASSWORD, CONTEXT)


@pytest.mark.parametrize(
    "cognito_error",
    [
        "CodeMismatchException",
        "ExpiredCodeException",
        "UserNotFoundException",
        "NotAuthorizedException",
        "LimitExceededException",
    ],
)
def test_confirm_and_reset_answer_every_bad_case_alike(stubbed: Stubbed, cognito_error: str) -> None:
    identity, stubber = stubbed
    stubber.add_client_error("confirm_sign_up", cognito_error)
    stubber.add_client_error("confirm_forgot_password", cognito_error)
    answers = []
    for attempt in (
        lambda: identity.confirm_sign_up("ada@example.com", "123456"),
        lambda: identity.reset_password("ada@example.com", "123456", PASSWORD),
    ):
        with pytest.raises(InvalidCode) as raised:
            attempt()
        answers.append((raised.value.message, raised.value.field_errors))
    assert answers == [(InvalidCode().message, InvalidCode().field_errors)] * 2


@pytest.mark.parametrize(
    "cognito_error",
    ["UserNotFoundException", "InvalidParameterException", "NotAuthorizedException", "LimitExceededException"],
)
def test_resend_and_forgot_are_silent_about_the_user(stubbed: Stubbed, cognito_error: str) -> None:
    identity, stubber = stubbed
    stubber.add_client_error("resend_confirmation_code", cognito_error)
    stubber.add_client_error("forgot_password", cognito_error)
    identity.resend_code("ada@example.com")
    identity.forgot_password("ada@example.com")


def test_service_wide_throttling_is_still_a_429_on_the_email_routes(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_client_error("forgot_password", "TooManyRequestsException")
    with pytest.raises(IdentityThrottled):
        identity.forgot_password("ada@example.com")


def test_a_rejected_new_password_names_its_field(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_client_error("confirm_forgot_password", "InvalidPasswordException")
    with pytest.raises(PasswordRejected) as raised:
        identity.reset_password("ada@example.com", "123456", PASSWORD)
    assert list(raised.value.field_errors) == ["new_password"]


def test_refresh_and_revoke(stubbed: tuple[CognitoIdentity, Stubber]) -> None:
    identity, stubber = stubbed
    stubber.add_response(
        "initiate_auth",
        {"AuthenticationResult": {"AccessToken": "a", "ExpiresIn": 3600}},
        {"ClientId": CLIENT, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": "r"}},
    )
    stubber.add_client_error("initiate_auth", "NotAuthorizedException", "Refresh Token has been revoked")
    stubber.add_response("revoke_token", {}, {"Token": "r", "ClientId": CLIENT})
    stubber.add_client_error("revoke_token", "UnsupportedTokenTypeException")
    assert identity.refresh("r") == Tokens("a", 3600, "")
    with pytest.raises(InvalidRefreshToken):
        identity.refresh("r")
    identity.revoke("r")
    identity.revoke("not-a-refresh-token")  # RFC 7009: nothing to tell the client


def test_cognito_refresh_gives_a_new_access_token(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.confirm("ada@example.com")
    signed_in = cognito.authenticate("ada@example.com", PASSWORD, CONTEXT)
    assert isinstance(signed_in, Tokens)
    refreshed = cognito.refresh(signed_in.refresh_token)
    assert refreshed.access_token.count(".") == 2
    assert refreshed.access_token != signed_in.access_token
    with pytest.raises(InvalidRefreshToken):
        cognito.refresh("not-a-token")
