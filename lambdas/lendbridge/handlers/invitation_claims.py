"""The claim worker: for each confirmed sign-up queued by the post-confirmation trigger (or by
registration where the stage auto-confirms), the invitations sent to the user's email become
theirs.

Powertools' batch processor reports failed messages individually: one failing claim is
retried (and finally parked on the dead-letter queue) without replaying the rest. Replaying a
message is harmless: claimed invitations leave the email's list, and every claim is conditional.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data.claim_messages import claim_request_of
from lendbridge.domain.lending import ClaimsPending, InvitationClaims
from lendbridge.lazy import Lazy
from lendbridge.wiring.claims import build_claims

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


claims: Lazy[InvitationClaims] = Lazy(build_claims)


def record_handler(record: SQSRecord) -> None:
    request = claim_request_of(record.body)
    try:
        claimed = claims.get().claim(request)
    except ClaimsPending:
        # The message fails and comes back after the queue's visibility timeout.
        logger.warning("invitation_claims_pending", extra={"user_id": request.user_id})
        raise
    logger.info("invitations_claimed", extra={"user_id": request.user_id, "count": claimed})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    claims.get()  # a misconfigured function fails the invocation, not each message apart
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
