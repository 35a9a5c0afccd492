"""Bodies of /v1/auth/* and /v1/users/me."""

# No postponed annotations (`from __future__ import annotations`) in schema modules: pydantic
# would evaluate each field's type from its text at class creation, in every cold start.

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from lendbridge.schemas.common import HIDDEN_CHARACTERS, Email, PlainText, Schema, Strict, selection_of

# The user pool's policy (Cognito's own symbol set), as a pattern both Python and ECMA-262 read,
# so the document states exactly the rule the server checks before Cognito sees the password.
_LOWER, _UPPER, _DIGIT = "[a-z]", "[A-Z]", "[0-9]"
_SYMBOL = r"""[-^$*.\[\]{}()?"!@#%&/\\,><':;|_~`=+ ]"""
# Cognito refuses a password that starts or ends with white space, so it is refused, never trimmed.
_NO_OUTER_SPACE = r"(?=\S)(?=.*\S$)"
PASSWORD_PATTERN = (
    rf"^(?=.*{_LOWER})(?=.*{_UPPER})(?=.*{_DIGIT})(?=.*{_SYMBOL}){_NO_OUTER_SPACE}[^{HIDDEN_CHARACTERS}]*$"
)
POLICY_WORDING = (
    "12 to 128 characters with at least one lowercase letter (a-z), one uppercase letter (A-Z), "
    "one digit (0-9) and one symbol from ^ $ * . [ ] { } ( ) ? \" ! @ # % & / \\ , > < ' : ; | _ ~ ` = + - "
    "or a space; no white space at either end, no control or bidirectional formatting characters."
)


def _password_policy(value: str) -> str:
    missing = [
        label
        for label, pattern in (
            ("a lowercase letter", _LOWER),
            ("an uppercase letter", _UPPER),
            ("a digit", _DIGIT),
            ("a symbol", _SYMBOL),
        )
        if not re.search(pattern, value)
    ]
    if missing:
        raise ValueError("Must contain " + ", ".join(missing))
    if value != value.strip():
        raise ValueError("Must not start or end with white space")
    return value


Password = Annotated[
    str,
    StringConstraints(strip_whitespace=False),
    Field(
        min_length=12,
        max_length=128,
        description=POLICY_WORDING,
        examples=["Correct-Horse-42"],
        json_schema_extra={"pattern": PASSWORD_PATTERN},
    ),
    AfterValidator(_password_policy),
]


class RegisterRequest(Strict):
    EXAMPLE = {"email": "ada@example.com", "password": "Correct-Horse-42", "full_name": "Ada Lovelace"}

    email: Email
    password: Password
    full_name: Annotated[PlainText, Field(min_length=1, max_length=100)]


class LoginRequest(Strict):
    EXAMPLE = {"email": "ada@example.com", "password": "Correct-Horse-42"}

    email: Email
    # Sent as typed (never trimmed): the pool compares it.
    password: Annotated[str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=128)]


class UserOut(Schema):
    user_id: str
    email: str
    full_name: str


class ProfileOut(UserOut):
    created_at: str


class TokensOut(Schema):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str


# Cognito's emailed codes are six digits; a little slack keeps other code lengths working.
VerificationCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z:-]+$", examples=["123456"])]
# Cognito's refresh tokens are encrypted JWTs of about 1,800 characters.
RefreshToken = Annotated[str, Field(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9._~+/=-]+$")]


class ConfirmRequest(Strict):
    EXAMPLE = {"email": "ada@example.com", "code": "123456"}

    email: Email
    code: VerificationCode


class EmailRequest(Strict):
    EXAMPLE = {"email": "ada@example.com"}

    email: Email


class ResetPasswordRequest(Strict):
    EXAMPLE = {"email": "ada@example.com", "code": "123456", "new_password": "Battery-Staple-7"}

    email: Email
    code: VerificationCode
    new_password: Password


class RefreshRequest(Strict):
    EXAMPLE = {"refresh_token": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.c2lnbmVk.cmVmcmVzaA"}

    refresh_token: RefreshToken


class LogoutRequest(Strict):
    EXAMPLE = {"refresh_token": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.c2lnbmVk.cmVmcmVzaA"}

    refresh_token: RefreshToken


class ChallengeRequest(Strict):
    EXAMPLE = {
        "email": "ada@example.com",
        "challenge": "SOFTWARE_TOKEN_MFA",
        "session": "AYABeC1tZXNzYWdlLXNlc3Npb24",
        "code": "123456",
    }

    email: Email
    challenge: Literal["SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"]
    session: Annotated[str, Field(min_length=20, max_length=4096, pattern=r"^[A-Za-z0-9._~+/=-]+$")]
    code: Annotated[str, Field(min_length=6, max_length=8, pattern=r"^[0-9]+$", examples=["123456"])]


class MessageOut(Schema):
    message: str


class AccessTokenOut(Schema):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


# What a GET with ``fields=a,b`` answers, and the names it takes.
ProfileSelection = selection_of(ProfileOut)
PROFILE_FIELDS = frozenset(ProfileOut.model_fields)
