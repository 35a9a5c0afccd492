"""Accounts: the domain's rules with fakes, and the Cognito adapter against moto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from lendbridge.data.identity import CognitoIdentity
from lendbridge.domain.accounts import (
    Accounts,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    PasswordRejected,
    Tokens,
    UserProfile,
)
from lendbridge.errors import NotFound
from lendbridge.ports import Actor

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "Correct-Horse-9"


@dataclass
class RecordingIdentity:
    removed: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)

    def sign_up(self, email: str, password: str, full_name: str) -> str:
        return "sub-1"

    def confirm(self, email: str) -> None:
        self.confirmed.append(email)

    def remove(self, email: str) -> None:
        self.removed.append(email)

    def authenticate(self, email: str, password: str) -> Tokens:
        return Tokens("a", 3600, "r")


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
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        yield CognitoIdentity(client, pool, app_client)


def test_cognito_sign_up_confirm_and_login(cognito: CognitoIdentity) -> None:
    user_id = cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.confirm("ada@example.com")
    tokens = cognito.authenticate("ADA@example.com", PASSWORD)
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
        cognito.authenticate("ada@example.com", "Wrong-Password-1")
    with pytest.raises(InvalidCredentials):
        cognito.authenticate("nobody@example.com", PASSWORD)


def test_cognito_unconfirmed_login_is_refused_as_not_verified(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    with pytest.raises(EmailNotVerified):
        cognito.authenticate("ada@example.com", PASSWORD)


def test_cognito_weak_password_names_the_field(cognito: CognitoIdentity) -> None:
    with pytest.raises(PasswordRejected) as raised:
        cognito.sign_up("ada@example.com", "weak", "Ada")
    assert "password" in raised.value.field_errors


def test_cognito_remove_undoes_sign_up(cognito: CognitoIdentity) -> None:
    cognito.sign_up("ada@example.com", PASSWORD, "Ada")
    cognito.remove("ada@example.com")
    assert cognito.sign_up("ada@example.com", PASSWORD, "Ada")
