"""Document storage and the extraction queue from a function's environment (set by the
bookings stack): shared by the bookings API function and the two workers."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import boto3
from botocore.config import Config

from lendbridge.aws import BOTO_CONFIG, client
from lendbridge.data.bookings import DynamoBookingStore
from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.data.extraction_queue import SqsExtractionQueue
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.settings import FunctionSettings, TableName

# Presigned URLs must be SigV4 (the only signature that can bind headers, and the only one
# newer regions accept); the rest is the project's shared configuration.
S3_CONFIG = BOTO_CONFIG.merge(Config(signature_version="s3v4"))


@dataclass(frozen=True)
class DocumentSettings:
    bucket: str
    extraction_queue_url: str
    # "bedrock" in AWS, "local" on the local stack (lendbridge_infra.config validates it)
    reader_kind: str
    model_id: str
    knowledge_base_id: str
    data_source_id: str
    # The extraction queue's maxReceiveCount: the receive after which a failure is final.
    extraction_max_receives: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocumentSettings:
        source = os.environ if env is None else env
        return cls(
            bucket=source.get("DOCUMENTS_BUCKET", ""),
            extraction_queue_url=source.get("EXTRACTION_QUEUE_URL", ""),
            reader_kind=source.get("READER_KIND", "local"),
            model_id=source.get("MODEL_ID", ""),
            knowledge_base_id=source.get("KNOWLEDGE_BASE_ID", ""),
            data_source_id=source.get("DATA_SOURCE_ID", ""),
            extraction_max_receives=int(source.get("EXTRACTION_MAX_RECEIVES", "3")),
        )


def document_storage(settings: DocumentSettings) -> S3DocumentStorage:
    s3 = boto3.session.Session().client("s3", config=S3_CONFIG)
    return S3DocumentStorage(s3, settings.bucket)


def extraction_queue(settings: DocumentSettings) -> SqsExtractionQueue:
    return SqsExtractionQueue(client("sqs"), settings.extraction_queue_url)


class BookingTables(FunctionSettings):
    """What the bookings store needs: the main table and the audit log."""

    main_table: TableName
    audit_table: TableName


def worker_bookings() -> Bookings:
    """The bookings domain for the upload and extraction workers: no catalogue (they create no
    booking) and no queue (they queue nothing)."""
    settings = BookingTables.from_env()
    documents = DocumentSettings.from_env()
    return Bookings(
        store=DynamoBookingStore(client("dynamodb"), settings.main_table, settings.audit_table, new_id),
        products=(),
        storage=document_storage(documents),
        queue=None,
        clock=utc_now,
        new_id=new_id,
    )


def readiness_checks(settings: DocumentSettings) -> dict[str, Callable[[], None]]:
    """What /health/ready asks on the bookings module's behalf: the documents bucket, the
    extraction queue and, where extraction uses Bedrock, the stage's model. The local reader
    needs nothing remote. None where the stage has no documents bucket."""
    if not settings.bucket:
        return {}
    storage, queue = document_storage(settings), extraction_queue(settings)
    checks: dict[str, Callable[[], None]] = {"documents": storage.ping, "extraction_queue": queue.ping}
    if settings.reader_kind == "bedrock":
        bedrock = client("bedrock")

        def model_available() -> None:
            bedrock.get_foundation_model(modelIdentifier=settings.model_id)

        checks["extraction_model"] = model_available
    return checks
