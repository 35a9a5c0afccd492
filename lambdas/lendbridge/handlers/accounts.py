"""POST /v1/auth/register, POST /v1/auth/login, GET /v1/users/me."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.aws import client
from lendbridge.data.identity import CognitoIdentity
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.data.users import DynamoUserStore
from lendbridge.domain.accounts import Accounts
from lendbridge.domain.lending import InvitationClaims
from lendbridge.http import current, envelope
from lendbridge.http.app import build_app, serve
from lendbridge.http.conditional import (
    CONTENT_TAG_HEADER,
    LOCATION_HEADER,
    IfNoneMatch,
    content_tag,
    documented,
    stop_if_current,
)
from lendbridge.lazy import Lazy
from lendbridge.ports import iso, new_id, utc_now
from lendbridge.schemas.accounts import LoginRequest, ProfileOut, RegisterRequest, TokensOut, UserOut
from lendbridge.schemas.common import Success, responses
from lendbridge.settings import Settings

app = build_app()
logger = Logger()
tracer = Tracer()


def _build() -> Accounts:
    settings = Settings.from_env()
    dynamodb = client("dynamodb")
    return Accounts(
        identity=CognitoIdentity(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id),
        users=DynamoUserStore(dynamodb, settings.main_table, settings.audit_table, new_id),
        clock=utc_now,
        auto_confirm_email=settings.auto_confirm_email,
        invitations=InvitationClaims(
            DynamoLoanStore(dynamodb, settings.main_table, settings.audit_table, new_id), utc_now
        ),
    )


accounts: Lazy[Accounts] = Lazy(_build)


@app.post(
    "/v1/auth/register",
    responses=documented(responses(201, Success[UserOut], 409), headers={201: {"Location": LOCATION_HEADER}}),
)
def register(body: Annotated[RegisterRequest, Body()]) -> Response[Success[UserOut]]:
    profile = accounts.get().register(body.email, body.password, body.full_name, current.request_id(app))
    logger.info("user_registered", extra={"user_id": profile.user_id})
    # The new account's resource is the caller's own profile (the contract has no /users/{id}).
    return envelope.created(
        UserOut(user_id=profile.user_id, email=profile.email, full_name=profile.full_name).model_dump(),
        envelope.location(app.current_event.raw_event, "/v1/users/me"),
    )


@app.post("/v1/auth/login", responses=responses(200, Success[TokensOut], 401, 403))
def login(body: Annotated[LoginRequest, Body()]) -> Response[Success[TokensOut]]:
    tokens = accounts.get().login(body.email, body.password)
    return envelope.success(
        TokensOut(
            access_token=tokens.access_token,
            token_type=tokens.token_type,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        ).model_dump()
    )


@app.get(
    "/v1/users/me",
    responses=documented(
        responses(200, Success[ProfileOut], 401, 404),
        headers={200: {"ETag": CONTENT_TAG_HEADER}},
        not_modified=True,
        tag_header=CONTENT_TAG_HEADER,
    ),
)
def me(if_none_match: IfNoneMatch = None) -> Response[Success[ProfileOut]]:
    profile = accounts.get().profile(current.caller(app).user_id)
    shown = ProfileOut(
        user_id=profile.user_id,
        email=profile.email,
        full_name=profile.full_name,
        created_at=iso(profile.created_at),
    ).model_dump()
    # A profile has no version: its entity tag is a digest of what is shown.
    tag = content_tag(shown)
    stop_if_current(if_none_match, tag)
    return envelope.success(shown, headers={"ETag": tag})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)
