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
from lendbridge.domain.ports import Clock, utc_now
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.wiring.booking_store import BookingsLedger, build_bookings
from lendbridge.wiring.documents import DocumentSettings, document_storage


@dataclass(frozen=True)
class DeclaredDocument:
    """What the uploader declared when asking for the upload URL."""

    content_type: str
    size_bytes: int


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


def bookings_ledger() -> UploadLedger:
    return BookingsLedger(
        build_bookings(), lambda document: DeclaredDocument(document.content_type, document.size_bytes)
    )


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
