"""Cognito user pool adapter for the accounts domain.

Sign-in runs server-side (``AdminInitiateAuth``) so that threat protection scores the caller's
IP address and headers, passed as ``ContextData``, instead of the Lambda's own addresses; the
public app client has no secret, and only the admin operations carry context without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lendbridge.data.dynamo import error_code
from lendbridge.domain.accounts import (
    Challenge,
    ClientContext,
    EmailNotVerified,
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    InvalidRefreshToken,
    PasswordRejected,
    Tokens,
)
from lendbridge.errors import IdentityThrottled, IdentityUnavailable, ValidationFailed

_RETRY_AFTER = 5
logger = Logger(child=True)

# What Cognito says about one user rather than about the service: for an email-only route each
# is answered exactly like the success or the wrong-code case, so no answer reveals an account.
# (With PreventUserExistenceErrors Cognito already fakes most of them; these cover the rest:
# "already confirmed", "no verified email", "attempt limit exceeded" for one user, and so on.)
_ABOUT_THE_USER = frozenset(
    {
        "UserNotFoundException",
        "NotAuthorizedException",
        "InvalidParameterException",
        "LimitExceededException",
        "CodeDeliveryFailureException",
        "UserNotConfirmedException",
    }
)
_BAD_CODE = frozenset({"CodeMismatchException", "ExpiredCodeException", "TooManyFailedAttemptsException"})

# The answer key Cognito expects for each one-time-code challenge.
_CODE_ANSWER = {
    "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE",
    "SMS_MFA": "SMS_MFA_CODE",
    "EMAIL_OTP": "EMAIL_OTP_CODE",
}


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
                    Username=_username(email),
                    Password=password,
                    UserAttributes=[
                        {"Name": "email", "Value": _username(email)},
                        {"Name": "name", "Value": full_name},
                    ],
                )
        except ClientError as error:
            code = error_code(error)
            if code in ("UsernameExistsException", "AliasExistsException"):
                raise EmailTaken("An account with this email already exists") from error
            if code == "InvalidPasswordException":
                raise _password_rejected("password") from error
            if code == "InvalidParameterException":
                raise ValidationFailed("The registration details are invalid") from error
            raise
        return str(response["UserSub"])

    def confirm(self, email: str) -> None:
        username = _username(email)
        with _translated():
            self._client.admin_confirm_sign_up(UserPoolId=self._pool, Username=username)
            self._client.admin_update_user_attributes(
                UserPoolId=self._pool,
                Username=username,
                UserAttributes=[{"Name": "email_verified", "Value": "true"}],
            )

    def remove(self, email: str) -> None:
        with _translated():
            self._client.admin_delete_user(UserPoolId=self._pool, Username=_username(email))

    def authenticate(self, email: str, password: str, context: ClientContext) -> Tokens | Challenge:
        try:
            with _translated():
                response = self._client.admin_initiate_auth(
                    UserPoolId=self._pool,
                    ClientId=self._client_id,
                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": _username(email), "PASSWORD": password},
                    ContextData=_context_data(context),
                )
        except ClientError as error:
            code = error_code(error)
            if code in ("NotAuthorizedException", "UserNotFoundException"):
                raise InvalidCredentials("Invalid email or password") from error
            if code == "UserNotConfirmedException":
                raise EmailNotVerified("Verify your email address before logging in") from error
            raise
        return _outcome(response)

    def respond_to_challenge(
        self, email: str, challenge: Challenge, code: str, context: ClientContext
    ) -> Tokens | Challenge:
        answer_key = _CODE_ANSWER.get(challenge.name)
        if answer_key is None:
            raise ValueError(f"no code answer for challenge {challenge.name}")
        try:
            with _translated():
                response = self._client.admin_respond_to_auth_challenge(
                    UserPoolId=self._pool,
                    ClientId=self._client_id,
                    ChallengeName=challenge.name,
                    Session=challenge.session,
                    ChallengeResponses={"USERNAME": _username(email), answer_key: code},
                    ContextData=_context_data(context),
                )
        except ClientError as error:
            if error_code(error) in (
                "CodeMismatchException",
                "ExpiredCodeException",
                "NotAuthorizedException",
                "UserNotFoundException",
            ):
                raise InvalidCredentials("The code is wrong or the sign-in session has expired") from error
            raise
        return _outcome(response)

    def refresh(self, refresh_token: str) -> Tokens:
        try:
            with _translated():
                response = self._client.initiate_auth(
                    ClientId=self._client_id,
                    AuthFlow="REFRESH_TOKEN_AUTH",
                    AuthParameters={"REFRESH_TOKEN": refresh_token},
                )
        except ClientError as error:
            if error_code(error) in ("NotAuthorizedException", "UserNotFoundException"):
                raise InvalidRefreshToken("The refresh token is invalid, expired or revoked") from error
            raise
        outcome = _outcome(response)
        if not isinstance(outcome, Tokens):
            # Cognito never challenges a refresh; if it did, signing in again is the way on.
            raise InvalidRefreshToken("Sign in again")
        return outcome

    def revoke(self, refresh_token: str) -> None:
        try:
            with _translated():
                self._client.revoke_token(Token=refresh_token, ClientId=self._client_id)
        except ClientError as error:
            # RFC 7009: an unknown or already useless token is not an error for the client.
            if error_code(error) not in ("UnsupportedTokenTypeException", "InvalidParameterException"):
                raise

    def confirm_sign_up(self, email: str, code: str) -> None:
        try:
            with _translated(user_specific_is_throttling=False):
                self._client.confirm_sign_up(ClientId=self._client_id, Username=_username(email), ConfirmationCode=code)
        except ClientError as error:
            if error_code(error) in _BAD_CODE | _ABOUT_THE_USER:
                raise InvalidCode() from error
            raise

    def resend_code(self, email: str) -> None:
        username = _username(email)
        self._silently(
            "resend_code", lambda: self._client.resend_confirmation_code(ClientId=self._client_id, Username=username)
        )

    def forgot_password(self, email: str) -> None:
        username = _username(email)
        self._silently(
            "forgot_password", lambda: self._client.forgot_password(ClientId=self._client_id, Username=username)
        )

    def reset_password(self, email: str, code: str, new_password: str) -> None:
        try:
            with _translated(user_specific_is_throttling=False):
                self._client.confirm_forgot_password(
                    ClientId=self._client_id,
                    Username=_username(email),
                    ConfirmationCode=code,
                    Password=new_password,
                )
        except ClientError as error:
            code_name = error_code(error)
            if code_name == "InvalidPasswordException":
                raise _password_rejected("new_password") from error
            if code_name in _BAD_CODE | _ABOUT_THE_USER:
                raise InvalidCode() from error
            raise

    def ping(self) -> None:
        with _translated():
            self._client.describe_user_pool(UserPoolId=self._pool)

    def _silently(self, operation: str, call: Callable[[], object]) -> None:
        try:
            with _translated(user_specific_is_throttling=False):
                call()
        except ClientError as error:
            code = error_code(error)
            if code not in _ABOUT_THE_USER:
                raise
            # The code only: the reason concerns one account and must not reach the caller.
            logger.info("identity refused quietly", extra={"operation": operation, "reason": code})


def _username(email: str) -> str:
    return email.strip().lower()


def _password_rejected(field: str) -> PasswordRejected:
    return PasswordRejected(
        "The password does not meet the policy", field_errors={field: ["Does not meet the password policy"]}
    )


def _context_data(context: ClientContext) -> dict[str, Any]:
    return {
        "IpAddress": context.ip_address,
        "ServerName": context.server_name,
        "ServerPath": context.server_path,
        "HttpHeaders": [{"headerName": name, "headerValue": value} for name, value in context.headers],
    }


def _outcome(response: Mapping[str, Any]) -> Tokens | Challenge:
    result = response.get("AuthenticationResult")
    if result:
        return Tokens(
            access_token=result["AccessToken"],
            expires_in=int(result.get("ExpiresIn", 3600)),
            refresh_token=result.get("RefreshToken", ""),
            token_type=result.get("TokenType", "Bearer"),
        )
    name = response.get("ChallengeName")
    if not name:
        raise IdentityUnavailable(
            "The identity service answered neither tokens nor a challenge", retry_after=_RETRY_AFTER
        )
    return Challenge(name=str(name), session=str(response.get("Session", "")))


@contextmanager
def _translated(*, user_specific_is_throttling: bool = True) -> Iterator[None]:
    """Service-wide refusals become 429/503. ``LimitExceededException`` is per user on the
    email-only routes, where it must look like any other answer, so those keep it."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        throttling = {"TooManyRequestsException"}
        if user_specific_is_throttling:
            throttling |= {"LimitExceededException", "TooManyFailedAttemptsException"}
        if code in throttling:
            raise IdentityThrottled("Too many requests; please retry later", retry_after=_RETRY_AFTER) from error
        if code in ("InternalErrorException", "ServiceUnavailable"):
            raise IdentityUnavailable("Identity service unavailable", retry_after=_RETRY_AFTER) from error
        raise
