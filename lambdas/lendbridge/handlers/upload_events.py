"""The upload worker: S3 reports each new object of the documents bucket to the upload queue;
for each one this checks the stored object against what was declared (size, and the first
bytes against the declared type), records the document UPLOADED with its SHA-256, or REJECTED
with the object deleted.

The document becomes UPLOADED on S3's word, never the client's. Powertools' batch processor
reports failed messages individually: one failing object is retried (and finally parked on
the dead-letter queue) without replaying the rest. A replay is harmless: the ledger records an
upload once, and deleting a deleted object succeeds.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data import names
from lendbridge.domain.bookings import DocumentStatus
from lendbridge.domain.uploads import verify_upload
from lendbridge.lazy import Lazy
from lendbridge.wiring.upload_events import UploadServices, build_upload_services

KEY_PREFIX = names.DOCUMENT_PREFIX.rstrip("/")
# Metrics of the bookings module: one "service" dimension, no ids (each value is a billed metric).
METRICS_NAMESPACE = "PrivateLending/API"
METRICS_SERVICE = "bookings"

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE, service=METRICS_SERVICE)
# A batch whose every message failed is reported like any other (each message named), not
# raised: a throttled upload check is an expected retry, not a function error that pages on-call.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


services: Lazy[UploadServices] = Lazy(build_upload_services)


def document_of(key: str) -> tuple[str, str] | None:
    """(booking id, document id) of an object key ``documents/{booking_id}/{document_id}``;
    None for any other key (the bucket holds nothing else, but a stray object is not ours)."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":  # S3 sends one when the notification is configured
        return
    for s3_record in S3Event(body).records:
        check_object(unquote_plus(s3_record.s3.get_object.key))


def check_object(key: str) -> None:
    ids = document_of(key)
    if ids is None:
        logger.warning("upload_ignored_unknown_key")
        return
    booking_id, document_id = ids
    context = {"booking_id": booking_id, "document_id": document_id}
    built = services.get()
    declared = built.ledger.declared(booking_id, document_id)
    if declared is None:
        # The document was deleted (or never created) before its object arrived: nothing may
        # keep an object no document describes.
        built.storage.delete(key)
        logger.info("upload_without_document_deleted", extra=context)
        return
    if declared.status != DocumentStatus.AWAITING_UPLOAD:
        # A redelivered event, or a second PUT with a still valid URL: the document was checked
        # already. A rejected document keeps no object; an accepted one cannot be overwritten
        # (its upload URL is conditional on no object existing).
        if declared.status == DocumentStatus.REJECTED:
            built.storage.delete(key)
        logger.info("upload_already_recorded", extra={**context, "status": declared.status.value})
        return
    stored = built.storage.fingerprint(key)
    if stored is None:
        logger.info("upload_already_gone", extra=context)
        return
    verdict = verify_upload(declared.content_type, declared.size_bytes, stored.size, stored.head)
    built.ledger.record_upload(
        booking_id,
        document_id,
        verdict,
        stored.sha256 if verdict.accepted else None,
        stored.size,
        built.clock(),
    )
    if not verdict.accepted:
        built.storage.delete(key)
        metrics.add_metric(name="DocumentsRejected", unit=MetricUnit.Count, value=1)
        logger.warning("upload_rejected", extra={**context, "reason": verdict.reason, "size": stored.size})
        return
    built.storage.mark_verified(key)
    metrics.add_metric(name="DocumentsUploaded", unit=MetricUnit.Count, value=1)
    logger.info("upload_accepted", extra={**context, "size": stored.size})
    if built.knowledge_base is not None:
        built.knowledge_base.ingest(key)
        logger.info("upload_sent_to_knowledge_base", extra=context)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
