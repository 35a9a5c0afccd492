"""An in-memory ``BookingStore`` with the conditions of the DynamoDB one (versions, DRAFT-only
writes, one active extraction per document, the document limit): the booking use cases can be
specified in fast unit tests. What a write's condition refuses raises the exception the DynamoDB
store decodes for it; a refused write changes nothing. Every write records its audit entry as
(entity, id, action, actor's user id, actor's request id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from lendbridge.domain.bookings import (
    ACTIVE_EXTRACTION,
    Booking,
    BookingChanged,
    BookingStatus,
    DocumentRecord,
    DocumentStatus,
    ExtractionRecord,
    Sheet,
    TooManyDocuments,
)
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor
from lendbridge.errors import Conflict

NOT_DRAFT = "The booking is no longer a DRAFT"


@dataclass
class MemoryBookingStore:
    bookings: dict[str, Booking] = field(default_factory=dict)
    documents_by_key: dict[tuple[str, str], DocumentRecord] = field(default_factory=dict)
    # Soft-deleted documents and when: their records stay, out of every read.
    deleted: dict[tuple[str, str], datetime] = field(default_factory=dict)
    extractions: dict[tuple[str, str], ExtractionRecord] = field(default_factory=dict)
    sheets: dict[str, Sheet] = field(default_factory=dict)
    audit: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # Run before the next write: another request getting there first.
    interference: list[Callable[[], object]] = field(default_factory=list)
    interfering: bool = False

    # ---- reads ------------------------------------------------------------------------------

    def get_booking(self, booking_id: str) -> Booking | None:
        return self.bookings.get(booking_id)

    def booking_parts(
        self, booking_id: str, *, document_id: str | None = None, extraction_id: str | None = None, sheet: bool = False
    ) -> tuple[Booking | None, DocumentRecord | None, ExtractionRecord | None, Sheet | None]:
        document = self._live_document(booking_id, document_id) if document_id else None
        extraction = self.extractions.get((booking_id, extraction_id)) if extraction_id else None
        return self.bookings.get(booking_id), document, extraction, self.sheets.get(booking_id) if sheet else None

    def bookings_page(
        self, owner_id: str, status: BookingStatus | None, limit: int, position: Position | None
    ) -> Page[Booking]:
        mine = [
            booking
            for booking in self.bookings.values()
            if booking.owner_id == owner_id
            and (booking.status == status if status else booking.status != BookingStatus.CANCELLED)
        ]
        ordered = sorted(mine, key=lambda booking: (booking.created_at, booking.booking_id), reverse=True)
        if position is not None:
            ordered = [booking for booking in ordered if booking.booking_id < position["id"]]
        page = ordered[:limit]
        return Page(page, {"id": page[-1].booking_id} if len(ordered) > limit else None)

    def documents(self, booking_id: str) -> list[DocumentRecord]:
        return [
            document
            for key, document in self.documents_by_key.items()
            if key[0] == booking_id and key not in self.deleted
        ]

    # ---- writes -----------------------------------------------------------------------------

    def create_booking(self, booking: Booking, actor: Actor) -> None:
        self._interfere()
        if booking.booking_id in self.bookings:
            raise BookingChanged("The booking changed while this request ran")
        self.bookings[booking.booking_id] = booking
        self._audited(actor, "booking", booking.booking_id, "CREATE")

    def save_booking(self, before: Booking, after: Booking, actor: Actor, *, sheet_version: int | None = None) -> None:
        self._interfere()
        current = self.bookings[before.booking_id]
        if (current.version, current.status) != (before.version, before.status):
            raise BookingChanged("The booking changed while this request ran")
        if sheet_version is not None and self._sheet_version(before.booking_id) != sheet_version:
            raise BookingChanged("The booking sheet changed while this request ran")
        self.bookings[after.booking_id] = after
        action = "DELETE" if after.status == BookingStatus.CANCELLED else "UPDATE"
        self._audited(actor, "booking", after.booking_id, action)

    def add_document(self, booking: Booking, document: DocumentRecord, max_documents: int, actor: Actor) -> None:
        self._interfere()
        current = self.bookings[booking.booking_id]
        if current.status != BookingStatus.DRAFT:
            raise Conflict(NOT_DRAFT)
        if current.document_count >= max_documents:
            raise TooManyDocuments()
        self.bookings[booking.booking_id] = replace(
            current,
            version=current.version + 1,
            document_count=current.document_count + 1,
            updated_at=document.created_at,
            updated_by=actor.user_id,
        )
        self.documents_by_key[(document.booking_id, document.document_id)] = document
        self._audited(actor, "document", document.document_id, "CREATE")

    def remove_document(self, booking: Booking, document: DocumentRecord, actor: Actor, now: datetime) -> None:
        self._interfere()
        key = (document.booking_id, document.document_id)
        current = self._live_document(*key)
        if current is None or current.version != document.version or current.active_extraction:
            raise BookingChanged("The document changed while this request ran")
        owner = self.bookings[booking.booking_id]
        if owner.status != BookingStatus.DRAFT:
            raise Conflict(NOT_DRAFT)
        self.deleted[key] = now
        self.documents_by_key[key] = replace(current, version=current.version + 1, updated_at=now)
        self.bookings[booking.booking_id] = replace(
            owner, version=owner.version + 1, document_count=owner.document_count - 1, updated_at=now
        )
        self._audited(actor, "document", document.document_id, "DELETE")

    def save_document(self, before: DocumentRecord, after: DocumentRecord, actor: Actor) -> None:
        self._interfere()
        current = self._live_document(before.booking_id, before.document_id)
        if current is None or current.version != before.version:
            raise BookingChanged("The document changed while this request ran")
        self.documents_by_key[(after.booking_id, after.document_id)] = after
        self._audited(actor, "document", after.document_id, "UPDATE")

    def start_extraction(
        self, booking: Booking, document: DocumentRecord, extraction: ExtractionRecord, actor: Actor
    ) -> None:
        self._interfere()
        current = self._live_document(document.booking_id, document.document_id)
        if current is None or current.status != DocumentStatus.UPLOADED or current.active_extraction:
            raise Conflict("An extraction of this document is already queued or running")
        self._require_draft(booking.booking_id)
        self.documents_by_key[(document.booking_id, document.document_id)] = replace(
            current,
            active_extraction=extraction.extraction_id,
            version=current.version + 1,
            updated_at=extraction.created_at,
            updated_by=actor.user_id,
        )
        self.extractions[(extraction.booking_id, extraction.extraction_id)] = extraction
        self._audited(actor, "extraction", extraction.extraction_id, "CREATE")

    def finish_extraction(
        self,
        before: ExtractionRecord,
        after: ExtractionRecord,
        actor: Actor,
        *,
        sheet: tuple[Sheet, Sheet] | None = None,
        release_document: bool = True,
    ) -> None:
        self._interfere()
        current = self.extractions[(before.booking_id, before.extraction_id)]
        if current.version != before.version:
            raise BookingChanged("The extraction changed while this request ran")
        release = after.status not in ACTIVE_EXTRACTION and release_document
        document_key = (after.booking_id, after.document_id)
        document = self._live_document(*document_key)
        if release and (document is None or document.active_extraction != after.extraction_id):
            raise BookingChanged("The document changed while this request ran")
        if sheet is not None:
            if self._sheet_version(after.booking_id) != sheet[0].version:
                raise BookingChanged("The booking sheet changed while this request ran")
            self._require_draft(after.booking_id)
        self.extractions[(after.booking_id, after.extraction_id)] = after
        if release and document is not None:
            self.documents_by_key[document_key] = replace(
                document, active_extraction=None, version=document.version + 1, updated_at=after.updated_at
            )
        if sheet is not None:
            self.sheets[after.booking_id] = sheet[1]
            self._audited(actor, "booking_sheet", after.booking_id, "UPDATE" if sheet[0].version else "CREATE")
        self._audited(actor, "extraction", after.extraction_id, "UPDATE")

    def save_sheet(self, booking: Booking, before: Sheet, after: Sheet, actor: Actor) -> None:
        self._interfere()
        if self._sheet_version(before.booking_id) != before.version:
            raise BookingChanged("The booking sheet changed while this request ran")
        self._require_draft(booking.booking_id)
        self.sheets[after.booking_id] = after
        self._audited(actor, "booking_sheet", after.booking_id, "UPDATE" if before.version else "CREATE")

    # ---- helpers ----------------------------------------------------------------------------

    def _live_document(self, booking_id: str, document_id: str) -> DocumentRecord | None:
        key = (booking_id, document_id)
        return None if key in self.deleted else self.documents_by_key.get(key)

    def _sheet_version(self, booking_id: str) -> int:
        found = self.sheets.get(booking_id)
        return found.version if found else 0

    def _require_draft(self, booking_id: str) -> None:
        if self.bookings[booking_id].status != BookingStatus.DRAFT:
            raise Conflict(NOT_DRAFT)

    def _interfere(self) -> None:
        if self.interference and not self.interfering:
            self.interfering = True
            try:
                self.interference.pop(0)()
            finally:
                self.interfering = False

    def _audited(self, actor: Actor, entity: str, entity_id: str, action: str) -> None:
        self.audit.append((entity, entity_id, action, actor.user_id, actor.request_id))
