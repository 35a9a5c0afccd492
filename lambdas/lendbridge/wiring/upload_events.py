"""The upload worker's composition: document storage, the bookings' upload ledger and, when the
stage names one, the knowledge base that accepted documents are ingested into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lendbridge.aws import client
from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.data.knowledge_base import BedrockKnowledgeBase
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.bookings import DocumentStatus
from lendbridge.domain.ports import Clock, utc_now
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.wiring.documents import DocumentSettings, document_storage
from lendbridge.wiring.workers import worker_bookings


@dataclass(frozen=True)
class DeclaredDocument:
    """What the uploader declared when asking for the upload URL, and where the document is."""

    content_type: str
    size_bytes: int
    status: DocumentStatus


class UploadLedger(Protocol):
    def declared(self, booking_id: str, document_id: str) -> DeclaredDocument | None:
        """None when no document awaits an upload under that name (deleted, or never created)."""

    def record_upload(
        self, booking_id: str, document_id: str, verdict: UploadVerdict, sha256: str | None, size: int, at: datetime
    ) -> Any: ...


class KnowledgeBase(Protocol):
    def ingest(self, key: str) -> None: ...


@dataclass
class UploadServices:
    storage: S3DocumentStorage
    ledger: UploadLedger
    knowledge_base: KnowledgeBase | None
    clock: Clock


class BookingsUploadLedger:
    """The bookings domain as the upload worker sees it."""

    def __init__(self, bookings: Bookings) -> None:
        self._bookings = bookings

    def declared(self, booking_id: str, document_id: str) -> DeclaredDocument | None:
        _, document, _, _ = self._bookings.store.booking_parts(booking_id, document_id=document_id)
        if document is None:
            return None
        return DeclaredDocument(document.content_type, document.size_bytes, document.status)

    def record_upload(
        self, booking_id: str, document_id: str, verdict: UploadVerdict, sha256: str | None, size: int, at: datetime
    ) -> Any:
        return self._bookings.record_upload(booking_id, document_id, verdict, sha256, size, at)


def bookings_ledger() -> UploadLedger:
    return BookingsUploadLedger(worker_bookings())


def build_upload_services(ledger_factory: Callable[[], UploadLedger] = bookings_ledger) -> UploadServices:
    settings = DocumentSettings.from_env()
    knowledge_base = None
    if settings.knowledge_base_id and settings.data_source_id:
        knowledge_base = BedrockKnowledgeBase(
            client("bedrock-agent"), settings.knowledge_base_id, settings.data_source_id, settings.bucket
        )
    return UploadServices(
        storage=document_storage(settings), ledger=ledger_factory(), knowledge_base=knowledge_base, clock=utc_now
    )
