"""Main-table stream consumer: turns loan, participant, booking and extraction changes into
webhook events and queues one message per matching subscription.

Powertools' batch processor reports failed records individually; a record is safe to replay,
since its messages keep their ids (receivers deduplicate on webhook-id).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge import observability
from lendbridge.domain.ports import utc_now
from lendbridge.domain.webhook_events import events_of, viewer_change
from lendbridge.domain.webhooks import FanOut
from lendbridge.lazy import Lazy
from lendbridge.timestamps import iso
from lendbridge.wiring.webhook_workers import build_fan_out

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
fan_out: Lazy[FanOut] = Lazy(build_fan_out)


def record_handler(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None:
        return
    old, new = change.old_image or None, change.new_image or None
    viewer = viewer_change(old, new)
    if viewer is not None:
        # Before the events: a lender's own acceptance is an event the lender may see.
        fan_out.get().track(viewer)
    occurred = change.approximate_creation_date_time
    when = iso(datetime.fromtimestamp(occurred, UTC)) if occurred else iso(utc_now())
    for event in events_of(str(record.event_id), old, new, when):
        queued = fan_out.get().publish(event)
        logger.info("webhook_event", extra={"event_type": event.type, "messages": queued})
        observability.emit("WebhookMessagesQueued", MetricUnit.Count, queued, {"EventType": event.type})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    fan_out.get()  # a misconfigured function fails the invocation, not each record apart
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
