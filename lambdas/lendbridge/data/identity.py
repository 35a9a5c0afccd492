"""Cognito user pool adapter for the accounts domain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data.dynamo import error_code
from lendbridge.domain.accounts import EmailNotVerified, EmailTaken, InvalidCredentials, PasswordRejected, Tokens
from lendbridge.errors import IdentityThrottled, IdentityUnavailable, ValidationFailed

_RETRY_AFTER = 5


class CognitoIdentity:
    def __init__(self, client: Any, user_pool_id: str, client_id: str) -> None:
        self._client = client
        self._pool = user_pool_id
        self._client_id = client_id

    def sign_up(self, email: str, password: str, full_name: str) -> str:
        try:
            with _translated():
                response = self._client.sign_up(
                    ClientId=self._client_id,
                    Username=email.strip().lower(),
                    Password=password,
                    UserAttributes=[
                        {"Name": "email", "Value": email.strip().lower()},
                        {"Name": "name", "Value": full_name},
                    ],
                )
        except ClientError as error:
            code = error_code(error)
            if code in ("UsernameExistsException", "AliasExistsException"):
                raise EmailTaken("An account with this email already exists") from error
            if code == "InvalidPasswordException":
                raise PasswordRejected(
                    "The password does not meet the policy",
                    field_errors={"password": ["Does not meet the password policy"]},
                ) from error
            if code == "InvalidParameterException":
                raise ValidationFailed("The registration details are invalid") from error
            raise
        return str(response["UserSub"])

    def confirm(self, email: str) -> None:
        username = email.strip().lower()
        with _translated():
            self._client.admin_confirm_sign_up(UserPoolId=self._pool, Username=username)
            self._client.admin_update_user_attributes(
                UserPoolId=self._pool,
                Username=username,
                UserAttributes=[{"Name": "email_verified", "Value": "true"}],
            )

    def remove(self, email: str) -> None:
        with _translated():
            self._client.admin_delete_user(UserPoolId=self._pool, Username=email.strip().lower())

    def authenticate(self, email: str, password: str) -> Tokens:
        try:
            with _translated():
                response = self._client.initiate_auth(
                    ClientId=self._client_id,
                    AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": email.strip().lower(), "PASSWORD": password},
                )
        except ClientError as error:
            code = error_code(error)
            if code in ("NotAuthorizedException", "UserNotFoundException"):
                raise InvalidCredentials("Invalid email or password") from error
            if code == "UserNotConfirmedException":
                raise EmailNotVerified("Verify your email address before logging in") from error
            raise
        result = response["AuthenticationResult"]
        return Tokens(
            access_token=result["AccessToken"],
            expires_in=int(result.get("ExpiresIn", 3600)),
            refresh_token=result.get("RefreshToken", ""),
            token_type=result.get("TokenType", "Bearer"),
        )

    def ping(self) -> None:
        with _translated():
            self._client.describe_user_pool(UserPoolId=self._pool)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in ("TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"):
            raise IdentityThrottled("Too many requests; please retry later", retry_after=_RETRY_AFTER) from error
        if code in ("InternalErrorException", "ServiceUnavailable"):
            raise IdentityUnavailable("Identity service unavailable", retry_after=_RETRY_AFTER) from error
        raise
