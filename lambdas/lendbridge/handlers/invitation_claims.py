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

from lendbridge.aws import client
from lendbridge.data.claim_messages import claim_request_of
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.lending import ClaimsPending, InvitationClaims
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.lazy import Lazy
from lendbridge.settings import Settings

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


def _build() -> InvitationClaims:
    settings = Settings.from_env()
    store = DynamoLoanStore(client("dynamodb"), settings.main_table, settings.audit_table, new_id)
    return InvitationClaims(store, utc_now)


claims: Lazy[InvitationClaims] = Lazy(_build)


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
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
