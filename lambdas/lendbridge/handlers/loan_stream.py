"""Main-table stream consumer: writes each loan version's snapshot and the funding time series.

Powertools' batch processor reports failed records individually, so one bad record is retried
(and finally sent to the dead-letter queue) without replaying the rest of the batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data.history import DynamoHistoryWriter
from lendbridge.domain.history import funding_point, version_entry
from lendbridge.lazy import Lazy
from lendbridge.wiring.stream import build_history_writer

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
writer: Lazy[DynamoHistoryWriter] = Lazy(build_history_writer)


def record_handler(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None or change.new_image is None:
        return
    new = change.new_image
    if new.get("entity") != "loan":
        return
    old = change.old_image or None
    writer.get().record(new["loan_id"], version_entry(old, new), funding_point(old, new))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    writer.get()  # a misconfigured function fails the invocation, not each record apart
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
