"""The bookings use cases on DynamoDB, S3 and SQS, as the bookings API function and the upload
and extraction workers all use them (the workers pass no catalogue: they never check terms)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from lendbridge.aws import client
from lendbridge.data.bookings import DynamoBookingStore
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.bookings import DocumentRecord, ExtractionRecord
from lendbridge.domain.extraction import DocumentReader
from lendbridge.domain.ports import DocumentStorage, new_id, utc_now
from lendbridge.domain.products import Product
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.settings import Settings
from lendbridge.wiring.documents import DocumentSettings, document_storage, extraction_queue


def build_bookings(make_client: Callable[[str], Any] = client, products: Sequence[Product] = ()) -> Bookings:
    settings, documents = Settings.from_env(), DocumentSettings.from_env()
    return Bookings(
        store=DynamoBookingStore(make_client("dynamodb"), settings.main_table, settings.audit_table, new_id),
        products=products,
        storage=document_storage(documents),
        queue=extraction_queue(documents) if documents.extraction_queue_url else None,
        clock=utc_now,
        new_id=new_id,
    )


class BookingsLedger:
    """The upload worker's view of the bookings: what a document declared, and its outcome."""

    def __init__(self, bookings: Bookings, declared: Callable[[DocumentRecord], Any]) -> None:
        self._bookings = bookings
        self._declared = declared

    def declared(self, booking_id: str, document_id: str) -> Any:
        # Any document that exists, uploaded already included: a redelivered S3 event for an
        # accepted object must find it, or the worker would delete a good file.
        document = self._bookings.stored_document(booking_id, document_id)
        return None if document is None else self._declared(document)

    def record_upload(
        self, booking_id: str, document_id: str, verdict: UploadVerdict, sha256: str | None, size: int, at: datetime
    ) -> DocumentRecord:
        return self._bookings.record_upload(booking_id, document_id, verdict, sha256, size, at)


class BookingsRunner:
    """The extractor's view of the bookings."""

    def __init__(self, bookings: Bookings) -> None:
        self._bookings = bookings

    def run_extraction(
        self, booking_id: str, extraction_id: str, reader: DocumentReader, storage: DocumentStorage
    ) -> ExtractionRecord:
        return self._bookings.run_extraction(booking_id, extraction_id, reader, storage)

    def fail_extraction(self, booking_id: str, extraction_id: str, reason: str) -> ExtractionRecord:
        return self._bookings.fail_extraction(booking_id, extraction_id, reason)
