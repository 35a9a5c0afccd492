"""Registration, login and profile: the rules, with Cognito and DynamoDB behind ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lendbridge.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from lendbridge.ports import Actor, Clock


class EmailTaken(Conflict):
    pass


class InvalidCredentials(Unauthorized):
    pass


class EmailNotVerified(Forbidden):
    pass


class PasswordRejected(ValidationFailed):
    pass


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    email: str
    full_name: str
    created_at: datetime


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


class IdentityProvider(Protocol):
    def sign_up(self, email: str, password: str, full_name: str) -> str:
        """Create the login; returns the new user's id. Raises EmailTaken or PasswordRejected."""

    def confirm(self, email: str) -> None:
        """Mark the login confirmed and its email verified (local and dev stages only)."""

    def remove(self, email: str) -> None:
        """Undo ``sign_up`` when the rest of registration failed."""

    def authenticate(self, email: str, password: str) -> Tokens:
        """Raises InvalidCredentials or EmailNotVerified."""


class UserStore(Protocol):
    def create(self, profile: UserProfile, actor: Actor) -> None: ...

    def get(self, user_id: str) -> UserProfile | None: ...


class InvitationClaimer(Protocol):
    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        """Queue the claiming of the invitations sent to ``email``: constant time, however many."""


@dataclass
class Accounts:
    identity: IdentityProvider
    users: UserStore
    clock: Clock
    auto_confirm_email: bool
    invitations: InvitationClaimer | None = None

    def register(self, email: str, password: str, full_name: str, request_id: str) -> UserProfile:
        user_id = self.identity.sign_up(email, password, full_name)
        profile = UserProfile(
            user_id=user_id, email=email.strip().lower(), full_name=full_name, created_at=self.clock()
        )
        actor = Actor(user_id=user_id, request_id=request_id)
        try:
            if self.auto_confirm_email:
                self.identity.confirm(email)
            self.users.create(profile, actor)
        except BaseException:
            # Nothing half-written: a login without its profile would block the email forever.
            self.identity.remove(email)
            raise
        if self.auto_confirm_email and self.invitations is not None:
            self.invitations.hand_off(user_id, profile.email, full_name, request_id)
        return profile

    def login(self, email: str, password: str) -> Tokens:
        return self.identity.authenticate(email, password)

    def profile(self, user_id: str) -> UserProfile:
        found = self.users.get(user_id)
        if found is None:
            raise NotFound("No profile exists for this account")
        return found
