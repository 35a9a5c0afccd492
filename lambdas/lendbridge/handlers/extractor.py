"""The extractor: for each queued extraction, the document is read from S3 and the stage's
reader finds the booking-sheet fields, which the bookings domain validates and merges.

A throttled reader (after botocore's own retries) or an unexpected failure fails the message,
which the queue delivers again after its visibility timeout. On the last receive the queue
allows, the extraction is marked FAILED with a reason before the message fails once more and
is dead-lettered (the DLQ depth alarm pages). A document that cannot be read at all fails at
once: retrying would read the same bytes.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data.extraction_queue import extraction_message_of
from lendbridge.domain.extraction import ExtractionFailed, ExtractionThrottled
from lendbridge.lazy import Lazy
from lendbridge.wiring.extractor import ExtractorServices, build_extractor_services

METRICS_NAMESPACE = "PrivateLending/API"
METRICS_SERVICE = "bookings"
THROTTLED_REASON = "The extraction service kept throttling requests; request the extraction again later"
UNEXPECTED_REASON = "The extraction could not be completed; request it again later"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=METRICS_SERVICE)
# A batch whose every message failed is reported like any other (each message named), not
# raised: a throttled extraction is an expected retry, not a function error that pages on-call.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
services: Lazy[ExtractorServices] = Lazy(build_extractor_services)


def record_handler(record: SQSRecord) -> None:
    request = extraction_message_of(record.body)
    context = {
        "booking_id": request.booking_id,
        "document_id": request.document_id,
        "extraction_id": request.extraction_id,
    }
    built = services.get()
    last_receive = int(record.attributes.approximate_receive_count) >= built.max_receives
    started = time.monotonic()
    try:
        outcome = built.runner.run_extraction(request.booking_id, request.extraction_id, built.reader, built.storage)
    except ExtractionFailed as failed:
        _failed(request.booking_id, request.extraction_id, failed.reason, context)
        return
    except Exception as error:
        reason = THROTTLED_REASON if isinstance(error, ExtractionThrottled) else UNEXPECTED_REASON
        if not last_receive:
            logger.warning("extraction_retried", extra={**context, "error_type": type(error).__name__})
            raise
        _failed(request.booking_id, request.extraction_id, reason, context)
        raise  # the message fails once more and the queue dead-letters it
    elapsed_ms = (time.monotonic() - started) * 1000
    status = str(getattr(outcome, "status", ""))
    if status.endswith("FAILED"):
        metrics.add_metric(name="ExtractionsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("extraction_failed", extra={**context, "reason": getattr(outcome, "error", None)})
        return
    fields_found = int(getattr(outcome, "fields_found", 0) or 0)
    metrics.add_metric(name="ExtractionsSucceeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ExtractionLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(name="FieldsExtracted", unit=MetricUnit.Count, value=fields_found)
    logger.info("extraction_succeeded", extra={**context, "fields_found": fields_found, "reader": built.reader.name})


def _failed(booking_id: str, extraction_id: str, reason: str, context: dict[str, str]) -> None:
    services.get().runner.fail_extraction(booking_id, extraction_id, reason)
    metrics.add_metric(name="ExtractionsFailed", unit=MetricUnit.Count, value=1)
    logger.warning("extraction_failed", extra={**context, "reason": reason})


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
