"""Bodies of /v1/auth/* and /v1/users/me."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from lendbridge.schemas.common import Email, PlainText, Strict


def _password_policy(value: str) -> str:
    missing = [
        label
        for label, ok in (
            ("a lowercase letter", any(c.islower() for c in value)),
            ("an uppercase letter", any(c.isupper() for c in value)),
            ("a digit", any(c.isdigit() for c in value)),
            ("a symbol", any(not c.isalnum() and not c.isspace() for c in value)),
        )
        if not ok
    ]
    if missing:
        raise ValueError("Must contain " + ", ".join(missing))
    return value


Password = Annotated[str, Field(min_length=12, max_length=128), AfterValidator(_password_policy)]


class RegisterRequest(Strict):
    email: Email
    password: Password
    full_name: Annotated[PlainText, Field(min_length=1, max_length=100)]


class LoginRequest(Strict):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=128)]


class UserOut(BaseModel):
    user_id: str
    email: str
    full_name: str


class ProfileOut(UserOut):
    created_at: str


class TokensOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str


# Cognito's emailed codes are six digits; a little slack keeps other code lengths working.
VerificationCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:-]+$", examples=["123456"])]
# Cognito's refresh tokens are encrypted JWTs of about 1,800 characters.
RefreshToken = Annotated[str, Field(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9._~+/=-]+$")]


class ConfirmRequest(Strict):
    email: Email
    code: VerificationCode


class EmailRequest(Strict):
    email: Email


class ResetPasswordRequest(Strict):
    email: Email
    code: VerificationCode
    new_password: Password


class RefreshRequest(Strict):
    refresh_token: RefreshToken


class LogoutRequest(Strict):
    refresh_token: RefreshToken


class ChallengeRequest(Strict):
    email: Email
    challenge: Literal["SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"]
    session: Annotated[str, Field(min_length=20, max_length=4096, pattern=r"^[A-Za-z0-9._~+/=-]+$")]
    code: Annotated[str, Field(min_length=6, max_length=8, pattern=r"^[0-9]+$", examples=["123456"])]


class MessageOut(BaseModel):
    message: str


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
