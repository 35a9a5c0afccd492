"""Cognito post-confirmation trigger: once a user has verified their email, the invitations sent
to that email are handed to the claim worker (``lendbridge.handlers.invitation_claims``).

One SendMessage, whatever the number of invitations: Cognito gives a trigger about 5 seconds.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PostConfirmationTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.domain.claims import SignUpConfirmations
from lendbridge.lazy import Lazy
from lendbridge.wiring.post_confirmation import build_confirmations

logger = Logger()
tracer = Tracer()


confirmations: Lazy[SignUpConfirmations] = Lazy(build_confirmations)


@logger.inject_lambda_context
# The response is Cognito's event, user attributes (the email) included: keep it out of traces.
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=PostConfirmationTriggerEvent)
def handler(event: PostConfirmationTriggerEvent, context: LambdaContext) -> dict[str, Any]:
    attributes = event.request.user_attributes
    if confirmations.get().confirmed(event.trigger_source, attributes, context.aws_request_id):
        logger.info("invitation_claims_handed_off", extra={"user_id": attributes["sub"]})
    return event.raw_event
