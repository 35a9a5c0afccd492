"""The account routes (/v1/auth/*) and GET /v1/users/me.

``POST /v1/auth/logout`` is authenticated: the access token in ``Authorization`` says who is
signing out, and the refresh token in the body is the session to end (Cognito revokes it and the
access tokens issued from it). The email-only routes answer alike for every email.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from lendbridge.domain.accounts import Challenge, ClientContext
from lendbridge.http import current, envelope
from lendbridge.http.app import ApiFunction
from lendbridge.http.conditional import (
    CONTENT_TAG_HEADER,
    LOCATION_HEADER,
    IfNoneMatch,
    content_tag,
    documented,
    stop_if_current,
)
from lendbridge.http.params import fields_query, select_fields
from lendbridge.http.request_context import client_of, header, request_context
from lendbridge.schemas import account_presenters
from lendbridge.schemas.accounts import (
    PROFILE_FIELDS,
    AccessTokenOut,
    ChallengeRequest,
    ConfirmRequest,
    EmailRequest,
    LoginRequest,
    LogoutRequest,
    MessageOut,
    ProfileOut,
    ProfileSelection,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokensOut,
    UserOut,
)
from lendbridge.schemas.common import Success, responses
from lendbridge.wiring.accounts import build_accounts
from lendbridge.wiring.rate_limits import rate_limiter

TAG = "Accounts"
api = ApiFunction(build_accounts, rate_limiter)
app, logger, accounts = api.app, api.logger, api.services
ProfileFields = Annotated[str | None, fields_query(PROFILE_FIELDS)]


@app.post(
    "/v1/auth/register",
    summary="Create an account",
    description=(
        "Registers an email with a password (the policy is on the field) and a full name; 409 if the email "
        "has an account. Invitations sent to this email become the new user's once it is verified."
    ),
    tags=[TAG],
    responses=documented(
        responses(201, Success[UserOut], 409, body=True), headers={201: {"Location": LOCATION_HEADER}}
    ),
)
def register(body: Annotated[RegisterRequest, Body()]) -> Response[Success[UserOut]]:
    profile = accounts.get().register(body.email, body.password, body.full_name, current.request_id(app))
    logger.info("user_registered", extra={"user_id": profile.user_id})
    # The new account's resource is the caller's own profile (the contract has no /users/{id}).
    location = envelope.location(app.current_event.raw_event, "/v1/users/me")
    return envelope.created(account_presenters.user(profile), location)


@app.post(
    "/v1/auth/login",
    summary="Sign in",
    description=(
        "Answers the access token (send it as `Authorization: Bearer`) and a refresh token. Wrong "
        "credentials: 401; repeated failures are slowed down. When the account has a second step (TOTP "
        "MFA, or a code adaptive authentication asks for): 401 with `details.challenge` and "
        "`details.session`, to answer at `POST /v1/auth/respond-to-challenge`. An unverified email: 403."
    ),
    tags=[TAG],
    responses=responses(200, Success[TokensOut], 401, 403, body=True),
)
def login(body: Annotated[LoginRequest, Body()]) -> Response[Success[TokensOut]]:
    tokens = accounts.get().login(body.email, body.password, _client_context())
    return envelope.success(account_presenters.tokens(tokens))


@app.post(
    "/v1/auth/respond-to-challenge",
    summary="Complete a two-step sign-in",
    description="The challenge and session from login's 401, with the one-time code; answers the tokens.",
    tags=[TAG],
    responses=responses(200, Success[TokensOut], 401, body=True),
)
def respond_to_challenge(body: Annotated[ChallengeRequest, Body()]) -> Response[Success[TokensOut]]:
    challenge = Challenge(name=body.challenge, session=body.session)
    tokens = accounts.get().respond_to_challenge(body.email, challenge, body.code, _client_context())
    return envelope.success(account_presenters.tokens(tokens))


@app.post(
    "/v1/auth/confirm",
    summary="Verify an email",
    description=(
        "Verifies the email with the emailed code; its pending invitations become the user's. A wrong or "
        "expired code and an email without an account awaiting one get the same 400."
    ),
    tags=[TAG],
    responses=responses(200, Success[MessageOut], body=True),
)
def confirm(body: Annotated[ConfirmRequest, Body()]) -> Response[Success[MessageOut]]:
    accounts.get().confirm(body.email, body.code)
    return envelope.success(account_presenters.message("Email verified"))


@app.post(
    "/v1/auth/resend-code",
    summary="Send a new verification code",
    description="202 for every email, whether or not it has an account awaiting verification.",
    tags=[TAG],
    responses=responses(202, Success[MessageOut], body=True),
)
def resend_code(body: Annotated[EmailRequest, Body()]) -> Response[Success[MessageOut]]:
    accounts.get().resend_code(body.email)
    return _accepted("If this email awaits verification, a new code is on its way")


@app.post(
    "/v1/auth/refresh",
    summary="Renew the access token",
    description="A new access token from the refresh token of a sign-in; a revoked or unknown refresh token: 401.",
    tags=[TAG],
    responses=responses(200, Success[AccessTokenOut], 401, body=True),
)
def refresh(body: Annotated[RefreshRequest, Body()]) -> Response[Success[AccessTokenOut]]:
    return envelope.success(account_presenters.access_token(accounts.get().refresh(body.refresh_token)))


@app.post(
    "/v1/auth/logout",
    summary="Sign out",
    description="Authenticated with the access token; revokes the refresh token in the body and its access tokens.",
    tags=[TAG],
    responses=responses(204, None, 401, body=True),
)
def logout(body: Annotated[LogoutRequest, Body()]) -> Response[None]:
    current.caller(app)
    accounts.get().logout(body.refresh_token)
    return envelope.no_content()


@app.post(
    "/v1/auth/forgot-password",
    summary="Ask for a password reset code",
    description="202 for every email, whether or not it has an account.",
    tags=[TAG],
    responses=responses(202, Success[MessageOut], body=True),
)
def forgot_password(body: Annotated[EmailRequest, Body()]) -> Response[Success[MessageOut]]:
    accounts.get().forgot_password(body.email)
    return _accepted("If this email has an account, a reset code is on its way")


@app.post(
    "/v1/auth/reset-password",
    summary="Set a new password with a reset code",
    description="A wrong or expired code and an unknown email get the same 400.",
    tags=[TAG],
    responses=responses(200, Success[MessageOut], body=True),
)
def reset_password(body: Annotated[ResetPasswordRequest, Body()]) -> Response[Success[MessageOut]]:
    accounts.get().reset_password(body.email, body.code, body.new_password)
    return envelope.success(account_presenters.message("Password changed; sign in with the new password"))


@app.get(
    "/v1/users/me",
    summary="My profile",
    description=(
        "The caller's profile; `fields=a,b` returns only those top-level fields; `If-None-Match` with the "
        "current ETag answers 304."
    ),
    tags=["Users"],
    responses=documented(
        responses(200, Success[ProfileOut | ProfileSelection], 401, 404),
        headers={200: {"ETag": CONTENT_TAG_HEADER}},
        not_modified=True,
        tag_header=CONTENT_TAG_HEADER,
    ),
)
def me(fields: ProfileFields = None, if_none_match: IfNoneMatch = None) -> Response[dict[str, Any]]:
    profile = accounts.get().profile(current.caller(app).user_id)
    shown = account_presenters.profile(profile).model_dump()
    selected = select_fields(shown, fields, PROFILE_FIELDS)
    # A profile has no version: its entity tag is a digest of the whole profile.
    tag = content_tag(shown)
    stop_if_current(if_none_match, tag)
    return envelope.success(selected, headers={"ETag": tag})


def _accepted(message: str) -> Response[Success[MessageOut]]:
    return envelope.success(account_presenters.message(message), HTTPStatus.ACCEPTED)


# Headers that help risk scoring and carry no credential.
_CONTEXT_HEADERS = ("User-Agent", "Accept", "Accept-Language", "Origin", "Referer", "X-Forwarded-For", "Host")


def _client_context() -> ClientContext:
    event = app.current_event
    source_ip, _ = client_of(event)
    headers = tuple((name, value[:2048]) for name in _CONTEXT_HEADERS if (value := header(event, name)))
    return ClientContext(
        ip_address=source_ip or "",
        server_name=str(header(event, "Host") or request_context(event).domain_name or ""),
        server_path=str(event.path or ""),
        headers=headers,
    )


handler = api.handler
