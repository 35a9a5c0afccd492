"""Bodies of /v1/auth/* and /v1/users/me."""

from __future__ import annotations

from typing import Annotated

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
