"""The account rules with an identity port and stores that record every call with its arguments:
each route passes exactly what it was given to exactly one identity call, registration writes the
profile it returns and undoes the sign-up when anything after it fails, and each refusal carries
the words and details the contract shows the client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from lendbridge.domain.accounts import (
    CODE_CHALLENGES,
    Accounts,
    Challenge,
    ClientContext,
    InvalidCode,
    SecondStepRequired,
    Tokens,
    UnsupportedSignInStep,
    UserProfile,
)
from lendbridge.domain.ports import Actor
from lendbridge.errors import NotFound

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
CONTEXT = ClientContext("198.51.100.4", "api.example.com", "/v1/auth/login")
TOKENS = Tokens("access", 3600, "refresh")


@dataclass
class Recorder:
    """Every identity call as (method, args); answers are set per test."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    sign_in: Tokens | Challenge = TOKENS
    fail_on: str | None = None

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name == self.fail_on:
            raise RuntimeError(name)

    def sign_up(self, email: str, password: str, full_name: str) -> str:
        self._record("sign_up", email, password, full_name)
        return "sub-7"

    def confirm(self, email: str) -> None:
        self._record("confirm", email)

    def remove(self, email: str) -> None:
        self._record("remove", email)

    def authenticate(self, email: str, password: str, context: ClientContext) -> Tokens | Challenge:
        self._record("authenticate", email, password, context)
        return self.sign_in

    def respond_to_challenge(
        self, email: str, challenge: Challenge, code: str, context: ClientContext
    ) -> Tokens | Challenge:
        self._record("respond_to_challenge", email, challenge, code, context)
        return self.sign_in

    def refresh(self, refresh_token: str) -> Tokens:
        self._record("refresh", refresh_token)
        return TOKENS

    def revoke(self, refresh_token: str) -> None:
        self._record("revoke", refresh_token)

    def confirm_sign_up(self, email: str, code: str) -> None:
        self._record("confirm_sign_up", email, code)

    def resend_code(self, email: str) -> None:
        self._record("resend_code", email)

    def forgot_password(self, email: str) -> None:
        self._record("forgot_password", email)

    def reset_password(self, email: str, code: str, new_password: str) -> None:
        self._record("reset_password", email, code, new_password)


@dataclass
class Users:
    created: list[tuple[UserProfile, Actor]] = field(default_factory=list)
    profiles: dict[str, UserProfile] = field(default_factory=dict)
    fail: bool = False

    def create(self, profile: UserProfile, actor: Actor) -> None:
        if self.fail:
            raise RuntimeError("store down")
        self.created.append((profile, actor))

    def get(self, user_id: str) -> UserProfile | None:
        return self.profiles.get(user_id)


@dataclass
class Claims:
    handed: list[tuple[str, str, str, str]] = field(default_factory=list)

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        self.handed.append((user_id, email, full_name, request_id))


def accounts(
    identity: Recorder, users: Users | None = None, *, auto_confirm: bool = False, claims: Claims | None = None
) -> Accounts:
    return Accounts(
        identity=identity,
        users=users or Users(),
        clock=lambda: NOW,
        auto_confirm_email=auto_confirm,
        invitations=claims,
    )


def test_register_signs_up_writes_the_normalised_profile_as_the_new_user_and_returns_it() -> None:
    identity, users = Recorder(), Users()
    profile = accounts(identity, users).register("  Ada@Example.COM ", "Pw-123456789", "Ada L", "req-1")
    assert profile == UserProfile(user_id="sub-7", email="ada@example.com", full_name="Ada L", created_at=NOW)
    assert users.created == [(profile, Actor(user_id="sub-7", request_id="req-1"))]
    assert identity.calls == [("sign_up", ("  Ada@Example.COM ", "Pw-123456789", "Ada L"))]


def test_register_with_auto_confirm_confirms_the_email_and_hands_the_invitations_off() -> None:
    identity, users, claims = Recorder(), Users(), Claims()
    accounts(identity, users, auto_confirm=True, claims=claims).register("Bo@Example.com", "Pw-123456789", "Bo", "r2")
    assert identity.calls == [("sign_up", ("Bo@Example.com", "Pw-123456789", "Bo")), ("confirm", ("Bo@Example.com",))]
    assert claims.handed == [("sub-7", "bo@example.com", "Bo", "r2")]


def test_register_without_auto_confirm_neither_confirms_nor_hands_off() -> None:
    identity, claims = Recorder(), Claims()
    accounts(identity, auto_confirm=False, claims=claims).register("c@example.com", "Pw-123456789", "C", "r3")
    assert [name for name, _ in identity.calls] == ["sign_up"]
    assert claims.handed == []


def test_register_with_auto_confirm_and_no_claim_queue_still_registers() -> None:
    identity, users = Recorder(), Users()
    accounts(identity, users, auto_confirm=True, claims=None).register("d@example.com", "Pw-123456789", "D", "r4")
    assert len(users.created) == 1


@pytest.mark.parametrize("failure", ["confirm", "store"])
def test_register_removes_the_sign_up_when_confirming_or_storing_fails(failure: str) -> None:
    identity = Recorder(fail_on="confirm" if failure == "confirm" else None)
    users, claims = Users(fail=failure == "store"), Claims()
    with pytest.raises(RuntimeError):
        accounts(identity, users, auto_confirm=True, claims=claims).register("e@example.com", "Pw-1234567", "E", "r")
    assert identity.calls[-1] == ("remove", ("e@example.com",))
    assert users.created == []
    assert claims.handed == []


def test_login_passes_email_password_and_context_and_returns_the_tokens() -> None:
    identity = Recorder()
    assert accounts(identity).login("f@example.com", "Pw-1234567", CONTEXT) is TOKENS
    assert identity.calls == [("authenticate", ("f@example.com", "Pw-1234567", CONTEXT))]


@pytest.mark.parametrize("name", sorted(CODE_CHALLENGES))
def test_a_code_challenge_at_login_asks_for_the_second_step_with_its_session(name: str) -> None:
    challenge = Challenge(name, "session-xyz")
    with pytest.raises(SecondStepRequired) as raised:
        accounts(Recorder(sign_in=challenge)).login("g@example.com", "Pw-1234567", CONTEXT)
    error = raised.value
    assert error.challenge is challenge
    assert error.message == "Enter the one-time code to finish signing in"
    assert error.details == {
        "challenge": name,
        "session": "session-xyz",
        "respond_with": "POST /v1/auth/respond-to-challenge",
    }


def test_code_challenges_are_exactly_the_one_time_code_steps() -> None:
    assert frozenset({"SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"}) == CODE_CHALLENGES


def test_another_challenge_at_login_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedSignInStep) as raised:
        accounts(Recorder(sign_in=Challenge("NEW_PASSWORD_REQUIRED", "s"))).login("h@example.com", "Pw-1", CONTEXT)
    assert raised.value.message == "This account needs a sign-in step the API does not offer; contact support"
    assert raised.value.details == {"challenge": "NEW_PASSWORD_REQUIRED"}


def test_respond_to_challenge_passes_everything_through_and_returns_the_tokens() -> None:
    identity = Recorder()
    challenge = Challenge("SOFTWARE_TOKEN_MFA", "sess")
    assert accounts(identity).respond_to_challenge("i@example.com", challenge, "123456", CONTEXT) is TOKENS
    assert identity.calls == [("respond_to_challenge", ("i@example.com", challenge, "123456", CONTEXT))]


def test_respond_to_an_unsupported_challenge_is_refused_before_any_identity_call() -> None:
    identity = Recorder()
    with pytest.raises(UnsupportedSignInStep) as raised:
        accounts(identity).respond_to_challenge("j@example.com", Challenge("MFA_SETUP", "s"), "1", CONTEXT)
    assert raised.value.details == {"challenge": "MFA_SETUP"}
    assert identity.calls == []


def test_a_further_challenge_after_the_code_asks_again() -> None:
    identity = Recorder(sign_in=Challenge("SMS_MFA", "next"))
    with pytest.raises(SecondStepRequired):
        accounts(identity).respond_to_challenge("k@example.com", Challenge("EMAIL_OTP", "s"), "1", CONTEXT)


@pytest.mark.parametrize(
    ("route", "args", "expected"),
    [
        ("refresh", ("rt-1",), ("refresh", ("rt-1",))),
        ("logout", ("rt-2",), ("revoke", ("rt-2",))),
        ("confirm", ("l@example.com", "111111"), ("confirm_sign_up", ("l@example.com", "111111"))),
        ("resend_code", ("m@example.com",), ("resend_code", ("m@example.com",))),
        ("forgot_password", ("n@example.com",), ("forgot_password", ("n@example.com",))),
        (
            "reset_password",
            ("o@example.com", "222222", "New-Pw-12345"),
            ("reset_password", ("o@example.com", "222222", "New-Pw-12345")),
        ),
    ],
)
def test_each_email_or_token_route_makes_exactly_one_identity_call_with_its_arguments(
    route: str, args: tuple[str, ...], expected: tuple[str, tuple[str, ...]]
) -> None:
    identity = Recorder()
    getattr(accounts(identity), route)(*args)
    assert identity.calls == [expected]


def test_refresh_returns_the_new_tokens() -> None:
    assert accounts(Recorder()).refresh("rt") is TOKENS


def test_profile_returns_the_stored_profile_or_a_not_found_that_says_so() -> None:
    stored = UserProfile("u-1", "p@example.com", "P", NOW)
    found = accounts(Recorder(), Users(profiles={"u-1": stored}))
    assert found.profile("u-1") is stored
    with pytest.raises(NotFound) as raised:
        found.profile("u-2")
    assert raised.value.message == "No profile exists for this account"


def test_an_invalid_code_says_so_and_names_the_code_field() -> None:
    error = InvalidCode()
    assert error.message == "The code is invalid or has expired"
    assert error.field_errors == {"code": ["Invalid or expired code; request a new one"]}
    assert error.details is None


def test_tokens_are_bearer_tokens() -> None:
    assert Tokens("a", 1, "r").token_type == "Bearer"
