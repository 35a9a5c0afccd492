"""Delivery worker: one queued message is one attempt for one subscription.

A failed attempt is recorded and the next one queued with its delay (or the message goes to
the dead-letter queue when the schedule is spent); the received message is then done. Only an
error of our own (KMS, DynamoDB, SQS unreachable) fails the record, which SQS redelivers and
finally redrives to the same dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge import observability
from lendbridge.data.webhook_adapters import job_of
from lendbridge.domain.webhooks import Deliverer
from lendbridge.lazy import Lazy
from lendbridge.wiring.webhook_workers import build_deliverer

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
deliverer: Lazy[Deliverer] = Lazy(build_deliverer)


def record_handler(record: SQSRecord) -> None:
    job = job_of(record.body)
    result = deliverer.get().deliver(job)
    if result.outcome is None:
        return
    logger.info(
        "webhook_attempt",
        extra={
            "webhook_id": job.webhook_id,
            "message_id": job.message_id,
            "attempt": job.attempt,
            "outcome": result.outcome.value,
        },
    )
    observability.emit("WebhookAttempts", MetricUnit.Count, 1, {"Outcome": result.outcome.value})
    if result.disabled:
        logger.warning("webhook_disabled", extra={"webhook_id": job.webhook_id, "message_id": job.message_id})
        observability.emit("WebhooksDisabled", MetricUnit.Count, 1, {"Reason": "Gone"})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    deliverer.get()  # a misconfigured function fails the invocation, not each record apart
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
