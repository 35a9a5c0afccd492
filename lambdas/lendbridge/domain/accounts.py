"""Registration, verification, sign-in, password reset and profile: the rules, with Cognito and
DynamoDB behind ports.

Routes that take an email and no password answer alike whether or not an account exists for it:
the same status and body, and the same single identity call (so the same timing class); the
identity provider's own "no such user" answers are folded into the answer for a wrong code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lendbridge.domain.ports import Actor, ClaimQueue, Clock, IdentityProvider, UserStore
from lendbridge.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed


class EmailTaken(Conflict):
    pass


class InvalidCredentials(Unauthorized):
    pass


class EmailNotVerified(Forbidden):
    pass


class PasswordRejected(ValidationFailed):
    pass


class InvalidCode(ValidationFailed):
    """A verification or reset code that is wrong, expired or used up, or sent for an email
    with no account awaiting it: one answer, so the route never reveals which."""

    def __init__(self) -> None:
        super().__init__(
            "The code is invalid or has expired",
            field_errors={"code": ["Invalid or expired code; request a new one"]},
        )


class InvalidRefreshToken(Unauthorized):
    pass


class SecondStepRequired(Unauthorized):
    """The password was right and the identity provider asks for a one-time code before it
    issues tokens; ``details`` tell the client how to answer."""

    def __init__(self, challenge: Challenge) -> None:
        super().__init__(
            "Enter the one-time code to finish signing in",
            details={
                "challenge": challenge.name,
                "session": challenge.session,
                "respond_with": "POST /v1/auth/respond-to-challenge",
            },
        )
        self.challenge = challenge


class UnsupportedSignInStep(Unauthorized):
    """A sign-in step this API has no route for (a new password set by an administrator,
    choosing or setting up MFA): refused with its name, never a 500."""

    def __init__(self, challenge_name: str) -> None:
        super().__init__(
            "This account needs a sign-in step the API does not offer; contact support",
            details={"challenge": challenge_name},
        )


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


# Challenges answered with a one-time code the user reads from an app, a text or an email:
# optional TOTP MFA, and what adaptive authentication asks of a risky sign-in.
CODE_CHALLENGES = frozenset({"SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"})


@dataclass(frozen=True)
class Challenge:
    name: str
    session: str


@dataclass(frozen=True)
class ClientContext:
    """Where a sign-in comes from, for the identity provider's risk scoring."""

    ip_address: str
    server_name: str
    server_path: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Accounts:
    identity: IdentityProvider
    users: UserStore
    clock: Clock
    auto_confirm_email: bool
    invitations: ClaimQueue | None = None

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

    def login(self, email: str, password: str, context: ClientContext) -> Tokens:
        return _tokens_or_next_step(self.identity.authenticate(email, password, context))

    def respond_to_challenge(self, email: str, challenge: Challenge, code: str, context: ClientContext) -> Tokens:
        if challenge.name not in CODE_CHALLENGES:
            raise UnsupportedSignInStep(challenge.name)
        return _tokens_or_next_step(self.identity.respond_to_challenge(email, challenge, code, context))

    def refresh(self, refresh_token: str) -> Tokens:
        return self.identity.refresh(refresh_token)

    def logout(self, refresh_token: str) -> None:
        self.identity.revoke(refresh_token)

    def confirm(self, email: str, code: str) -> None:
        # Cognito's post-confirmation trigger hands the email's invitations to the user.
        self.identity.confirm_sign_up(email, code)

    def resend_code(self, email: str) -> None:
        self.identity.resend_code(email)

    def forgot_password(self, email: str) -> None:
        self.identity.forgot_password(email)

    def reset_password(self, email: str, code: str, new_password: str) -> None:
        self.identity.reset_password(email, code, new_password)

    def profile(self, user_id: str) -> UserProfile:
        found = self.users.get(user_id)
        if found is None:
            raise NotFound("No profile exists for this account")
        return found


def _tokens_or_next_step(outcome: Tokens | Challenge) -> Tokens:
    if isinstance(outcome, Tokens):
        return outcome
    if outcome.name in CODE_CHALLENGES:
        raise SecondStepRequired(outcome)
    raise UnsupportedSignInStep(outcome.name)
