"""Cognito operations the account routes call that moto's server lacks or answers unlike AWS.

Installed into the moto server process only (``local.moto_server``), before it starts:
- ``ResendConfirmationCode`` and ``RevokeToken``, which moto does not implement;
- ``ConfirmSignUp`` as AWS answers it: moto confirms any user with any code, even one already
  confirmed or unknown. Here an unknown user is ``CodeMismatchException`` (user existence errors
  prevented), a confirmed one ``NotAuthorizedException``, and the email becomes verified. Codes
  follow moto's own convention for password resets: one of the form ``moto-confirmation-code:N``
  must be the last code ``ResendConfirmationCode`` issued; any other code stands for the right one;
- ``ConfirmForgotPassword`` for an email without an account: moto answers
  ``ResourceNotFoundException``, AWS (with ``PreventUserExistenceErrors``, as the app client is
  configured) ``CodeMismatchException``;
- ``(Admin)RespondToAuthChallenge`` with an unknown or expired session: moto answers
  ``ResourceNotFoundException``, AWS ``NotAuthorizedException``.
Behaviour follows the Cognito API reference; nothing here is reachable in AWS.
"""

from __future__ import annotations

import secrets
from typing import Any

from moto.cognitoidp import models, responses
from moto.cognitoidp.exceptions import (
    CodeMismatchException,
    InvalidParameterException,
    NotAuthorizedError,
    ResourceNotFoundError,
)
from moto.core.responses import ActionResult, EmptyResult


def _pool_of_client(client_id: str) -> Any:
    for account in models.cognitoidp_backends.values():
        for backend in account.values():
            for pool in backend.user_pools.values():
                if client_id in pool.clients:
                    return pool
    raise ResourceNotFoundError(client_id)


CODE_PREFIX = "moto-confirmation-code:"


def _resend_confirmation_code(self: Any) -> ActionResult:
    pool = _pool_of_client(self._get_param("ClientId"))
    username = self._get_param("Username")
    user = pool._get_user(username)
    if user is not None and user.status != models.UserStatus.UNCONFIRMED:
        raise InvalidParameterException("User is already confirmed.")
    if user is not None:
        user.confirmation_code = f"{CODE_PREFIX}{secrets.randbelow(900_000) + 100_000}"
    # An unknown user gets a made-up delivery, as AWS does when user existence errors are prevented.
    return ActionResult(
        {"CodeDeliveryDetails": {"Destination": "e***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}
    )


def _confirm_sign_up(self: Any) -> ActionResult:
    pool = _pool_of_client(self._get_param("ClientId"))
    user = pool._get_user(self._get_param("Username"))
    code = self._get_param("ConfirmationCode") or ""
    if user is None:
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    if user.status != models.UserStatus.UNCONFIRMED:
        status = getattr(user.status, "value", user.status)
        raise NotAuthorizedError(f"User cannot be confirmed. Current status is {status}")
    if code.startswith(CODE_PREFIX) and code != user.confirmation_code:
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    user.status = models.UserStatus.CONFIRMED
    user.confirmation_code = None
    # The code went to the email, so confirming it verifies the email, as in AWS.
    user.update_attributes([{"Name": "email_verified", "Value": "true"}])
    return EmptyResult()


def _revoke_token(self: Any) -> ActionResult:
    pool = _pool_of_client(self._get_param("ClientId"))
    token = self._get_param("Token")
    if token in pool.refresh_tokens:
        # moto's refresh flows treat a None entry as "Refresh Token has been revoked".
        pool.refresh_tokens[token] = None
    return EmptyResult()


_moto_confirm_forgot_password = models.CognitoIdpBackend.confirm_forgot_password


def _confirm_forgot_password(self: Any, client_id: str, username: str, password: str, confirmation_code: str) -> None:
    pool = _pool_of_client(client_id)
    if pool._get_user(username) is None:
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    _moto_confirm_forgot_password(self, client_id, username, password, confirmation_code)


_moto_respond_to_auth_challenge = models.CognitoIdpBackend.respond_to_auth_challenge


def _respond_to_auth_challenge(
    self: Any, session: str, client_id: str, challenge_name: str, challenge_responses: dict[str, str]
) -> dict[str, Any]:
    if challenge_name != "PASSWORD_VERIFIER" and session not in self.sessions:
        raise NotAuthorizedError("Invalid session for the user, session is expired.")
    result: dict[str, Any] = _moto_respond_to_auth_challenge(
        self, session, client_id, challenge_name, challenge_responses
    )
    return result


def install() -> None:
    responses.CognitoIdpResponse.resend_confirmation_code = _resend_confirmation_code  # type: ignore[attr-defined]
    responses.CognitoIdpResponse.revoke_token = _revoke_token  # type: ignore[attr-defined]
    responses.CognitoIdpResponse.confirm_sign_up = _confirm_sign_up  # type: ignore[method-assign]
    models.CognitoIdpBackend.confirm_forgot_password = _confirm_forgot_password  # type: ignore[method-assign]
    models.CognitoIdpBackend.respond_to_auth_challenge = _respond_to_auth_challenge  # type: ignore[method-assign]
