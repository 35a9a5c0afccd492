"""Cognito post-confirmation trigger: once a user has verified their email (prod), the
invitations sent to that email become theirs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PostConfirmationTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.aws import client
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.lending import InvitationClaims
from lendbridge.lazy import Lazy
from lendbridge.ports import Actor, new_id, utc_now
from lendbridge.settings import Settings

logger = Logger()
tracer = Tracer()


def _build() -> InvitationClaims:
    settings = Settings.from_env()
    store = DynamoLoanStore(client("dynamodb"), settings.main_table, settings.audit_table, new_id)
    return InvitationClaims(store, utc_now)


claims: Lazy[InvitationClaims] = Lazy(_build)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=PostConfirmationTriggerEvent)
def handler(event: PostConfirmationTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    attributes = event.request.user_attributes
    user_id, email = attributes["sub"], attributes["email"]
    if event.trigger_source == "PostConfirmation_ConfirmSignUp" and attributes.get("email_verified") == "true":
        actor = Actor(user_id=user_id, request_id=context.aws_request_id)
        claimed = claims.get().claim(user_id, email, attributes.get("name", ""), actor)
        logger.info("invitations_claimed", extra={"user_id": user_id, "count": claimed})
    return event.raw_event
