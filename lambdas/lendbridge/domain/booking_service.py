"""The use cases of commercial loan bookings: the API's (a loan officer's own bookings, their
documents, extractions and booking sheet) and the asynchronous side's (``record_upload``,
``run_extraction``, ``fail_extraction``, called by the upload and extraction workers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from lendbridge.domain.booking_sheet import SheetStatus, apply_corrections, merge_extraction, missing_fields
from lendbridge.domain.bookings import (
    ACTIVE_EXTRACTION,
    DOWNLOAD_URL_SECONDS,
    MAX_DOCUMENTS,
    UPLOAD_URL_SECONDS,
    Booking,
    BookingChanged,
    BookingStatus,
    BookingTerms,
    DocumentRecord,
    DocumentStatus,
    ExtractionRecord,
    ExtractionStatus,
    Sheet,
    at_version,
    check_document,
    check_terms,
    editable,
    not_found,
    owned,
)
from lendbridge.domain.extraction import DocumentReader, ExtractionFailed
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import (
    Actor,
    BookingStore,
    Clock,
    DocumentStorage,
    ExtractionQueue,
    IdGenerator,
    PresignedUpload,
)
from lendbridge.domain.products import Product
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.errors import Conflict, DependencyUnavailable, PreconditionFailed

# The workers act for nobody in particular: their audit entries name the worker.
UPLOAD_WORKER = "system:upload-events"
EXTRACTOR = "system:extractor"
_SHEET_WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class NewDocument:
    document: DocumentRecord
    upload: PresignedUpload


@dataclass(frozen=True)
class DocumentView:
    document: DocumentRecord
    download_url: str | None


class Bookings:
    def __init__(
        self,
        *,
        store: BookingStore,
        products: Sequence[Product],
        storage: DocumentStorage,
        queue: ExtractionQueue | None,
        clock: Clock,
        new_id: IdGenerator,
    ) -> None:
        self.store = store
        self._by_id = {product.product_id: product for product in products}
        self.storage = storage
        self.queue = queue
        self.clock = clock
        self.new_id = new_id

    # ---- bookings ---------------------------------------------------------------------------

    def create(self, actor: Actor, terms: BookingTerms) -> Booking:
        product = check_terms(terms, self._by_id.get(terms.product_id))
        now = self.clock()
        booking = Booking(
            booking_id=self.new_id(),
            owner_id=actor.user_id,
            terms=terms,
            product_name=product.name,
            status=BookingStatus.DRAFT,
            document_count=0,
            version=1,
            created_at=now,
            updated_at=now,
            updated_by=actor.user_id,
        )
        self.store.create_booking(booking, actor)
        return booking

    def get(self, caller_id: str, booking_id: str) -> Booking:
        return owned(self.store.get_booking(booking_id), caller_id)

    def page(
        self, caller_id: str, status: BookingStatus | None, limit: int, position: Position | None
    ) -> Page[Booking]:
        return self.store.bookings_page(caller_id, status, limit, position)

    def revise(
        self, actor: Actor, booking_id: str, expected: Sequence[int] | None, changes: Mapping[str, object]
    ) -> Booking:
        booking = editable(self.get(actor.user_id, booking_id))
        at_version(booking.version, expected, "booking")
        terms = replace(booking.terms, **changes)  # type: ignore[arg-type]
        product = check_terms(terms, self._by_id.get(terms.product_id))
        after = self._stamped(booking, actor, terms=terms, product_name=product.name)
        return self._save(booking, after, actor)

    def cancel(self, actor: Actor, booking_id: str) -> None:
        booking = editable(self.get(actor.user_id, booking_id))
        now = self.clock()
        after = replace(
            self._stamped(booking, actor, now=now),
            status=BookingStatus.CANCELLED,
            deleted_at=now,
            deleted_by=actor.user_id,
        )
        self._save(booking, after, actor)

    def book(self, actor: Actor, booking_id: str, expected: Sequence[int] | None) -> Booking:
        booking, _, _, sheet = self.store.booking_parts(booking_id, sheet=True)
        booking = editable(owned(booking, actor.user_id))
        at_version(booking.version, expected, "booking")
        sheet = sheet or Sheet(booking_id)
        if sheet.status != SheetStatus.COMPLETE:
            raise Conflict(
                "The booking sheet is not COMPLETE",
                details={"sheet_status": sheet.status.value, "missing_fields": missing_fields(sheet.fields)},
            )
        now = self.clock()
        after = replace(self._stamped(booking, actor, now=now), status=BookingStatus.BOOKED, booked_at=now)
        return self._save(booking, after, actor, sheet_version=sheet.version)

    def _stamped(self, booking: Booking, actor: Actor, *, now: datetime | None = None, **changes: object) -> Booking:
        return replace(
            booking,
            version=booking.version + 1,
            updated_at=now or self.clock(),
            updated_by=actor.user_id,
            **changes,  # type: ignore[arg-type]
        )

    def _save(self, before: Booking, after: Booking, actor: Actor, *, sheet_version: int | None = None) -> Booking:
        try:
            self.store.save_booking(before, after, actor, sheet_version=sheet_version)
        except BookingChanged:
            raise PreconditionFailed("The booking changed since you read it; read it again") from None
        return after

    # ---- documents --------------------------------------------------------------------------

    def add_document(
        self, actor: Actor, booking_id: str, file_name: str, content_type: str, size_bytes: int
    ) -> NewDocument:
        check_document(content_type, size_bytes)
        booking = editable(self.get(actor.user_id, booking_id))
        now = self.clock()
        document = DocumentRecord(
            booking_id=booking.booking_id,
            document_id=self.new_id(),
            file_name=file_name,
            content_type=content_type,
            size_bytes=size_bytes,
            status=DocumentStatus.AWAITING_UPLOAD,
            created_at=now,
            created_by=actor.user_id,
            updated_at=now,
            updated_by=actor.user_id,
            version=1,
        )
        self.store.add_document(booking, document, MAX_DOCUMENTS, actor)
        upload = self.storage.presign_put(document.object_key, content_type, size_bytes, UPLOAD_URL_SECONDS)
        return NewDocument(document, upload)

    def documents_page(
        self, caller_id: str, booking_id: str, limit: int, position: Position | None
    ) -> Page[DocumentRecord]:
        """Newest first. A booking holds at most 20 documents: one query reads them all."""
        self.get(caller_id, booking_id)
        ordered = sorted(
            self.store.documents(booking_id), key=lambda doc: (doc.created_at, doc.document_id), reverse=True
        )
        if position is not None:
            after = (position.get("at", ""), position.get("id", ""))
            ordered = [doc for doc in ordered if (_stamp(doc.created_at), doc.document_id) < after]
        page, more = ordered[:limit], len(ordered) > limit
        last = page[-1] if page else None
        return Page(page, {"at": _stamp(last.created_at), "id": last.document_id} if more and last else None)

    def document(self, caller_id: str, booking_id: str, document_id: str) -> DocumentView:
        document = self._document(caller_id, booking_id, document_id)[1]
        url = (
            self.storage.presign_get(document.object_key, DOWNLOAD_URL_SECONDS)
            if document.status == DocumentStatus.UPLOADED
            else None
        )
        return DocumentView(document, url)

    def remove_document(self, actor: Actor, booking_id: str, document_id: str) -> None:
        booking, document = self._document(actor.user_id, booking_id, document_id)
        editable(booking)
        if document.active_extraction:
            raise Conflict("An extraction of this document is queued or running; wait for it to finish")
        self.store.remove_document(booking, document, actor, self.clock())
        # After the record: an object left behind by a failure here is removed by the bucket's
        # lifecycle rule, while a record pointing at a deleted object would be worse.
        self.storage.delete(document.object_key)

    def _document(self, caller_id: str, booking_id: str, document_id: str) -> tuple[Booking, DocumentRecord]:
        booking, document, _, _ = self.store.booking_parts(booking_id, document_id=document_id)
        booking = owned(booking, caller_id)
        if document is None:
            raise not_found("Document")
        return booking, document

    def record_upload(
        self, booking_id: str, document_id: str, verdict: UploadVerdict, sha256: str | None, size: int, at: datetime
    ) -> DocumentRecord:
        """S3 reported the object: UPLOADED when it is what was declared, else REJECTED (the
        caller deletes the object). A repeated report changes nothing."""
        _, document, _, _ = self.store.booking_parts(booking_id, document_id=document_id)
        if document is None:
            raise not_found("Document")
        if document.status != DocumentStatus.AWAITING_UPLOAD:
            return document
        after = replace(
            document,
            status=DocumentStatus.UPLOADED if verdict.accepted else DocumentStatus.REJECTED,
            sha256=sha256 if verdict.accepted else None,
            uploaded_at=at if verdict.accepted else None,
            rejection_reason=None if verdict.accepted else verdict.reason,
            updated_at=self.clock(),
            updated_by=UPLOAD_WORKER,
            version=document.version + 1,
        )
        actor = Actor(user_id=UPLOAD_WORKER, request_id=f"upload:{document_id}:{size}")
        self.store.save_document(document, after, actor)
        return after

    # ---- extraction -------------------------------------------------------------------------

    def request_extraction(self, actor: Actor, booking_id: str, document_id: str) -> ExtractionRecord:
        booking, document = self._document(actor.user_id, booking_id, document_id)
        editable(booking)
        if document.status != DocumentStatus.UPLOADED:
            raise Conflict(
                f"The document is {document.status.value}; only an UPLOADED document can be extracted",
                details={"document_status": document.status.value},
            )
        if document.active_extraction:
            raise Conflict(
                "An extraction of this document is already queued or running",
                details={"extraction_id": document.active_extraction},
            )
        if self.queue is None:
            raise DependencyUnavailable("Extraction is not configured", retry_after=60)
        now = self.clock()
        extraction = ExtractionRecord(
            booking_id=booking_id,
            extraction_id=self.new_id(),
            document_id=document_id,
            owner_id=booking.owner_id,
            status=ExtractionStatus.QUEUED,
            created_at=now,
            updated_at=now,
            version=1,
        )
        self.store.start_extraction(booking, document, extraction, actor)
        try:
            self.queue.enqueue(booking_id, document_id, extraction.extraction_id)
        except Exception:
            # Never leave the document locked by an extraction nobody will run.
            self.fail_extraction(booking_id, extraction.extraction_id, "The extraction could not be queued")
            raise
        return extraction

    def extraction(self, caller_id: str, booking_id: str, extraction_id: str) -> ExtractionRecord:
        booking, _, extraction, _ = self.store.booking_parts(booking_id, extraction_id=extraction_id)
        owned(booking, caller_id)
        if extraction is None:
            raise not_found("Extraction")
        return extraction

    def run_extraction(
        self, booking_id: str, extraction_id: str, reader: DocumentReader, storage: DocumentStorage
    ) -> ExtractionRecord:
        """Read the document and merge what the reader finds into the sheet, the outcome and the
        sheet stored at once. ``ExtractionThrottled`` propagates (the queue retries);
        ``ExtractionFailed`` ends the extraction FAILED with its reason."""
        booking, _, extraction, _ = self.store.booking_parts(booking_id, extraction_id=extraction_id)
        if booking is None or extraction is None:
            raise not_found("Extraction")
        if extraction.status not in ACTIVE_EXTRACTION:
            return extraction  # a redelivered message for a finished extraction
        actor = Actor(user_id=EXTRACTOR, request_id=f"extraction:{extraction_id}")
        running = extraction
        if extraction.status == ExtractionStatus.QUEUED:
            now = self.clock()
            running = replace(
                extraction,
                status=ExtractionStatus.RUNNING,
                started_at=now,
                updated_at=now,
                version=extraction.version + 1,
            )
            self.store.finish_extraction(extraction, running, actor)
        _, document, _, _ = self.store.booking_parts(booking_id, document_id=extraction.document_id)
        if document is None:
            return self._fail(running, "The document was deleted", actor, document_exists=False)
        try:
            found = reader.read(storage.read(document.object_key), document.content_type)
        except ExtractionFailed as failure:
            return self._fail(running, failure.reason, actor)
        for _ in range(_SHEET_WRITE_ATTEMPTS):
            booking, _, _, sheet = self.store.booking_parts(booking_id, sheet=True)
            if booking is None or booking.status != BookingStatus.DRAFT:
                return self._fail(running, "The booking is no longer a DRAFT", actor)
            sheet = sheet or Sheet(booking_id)
            now = self.clock()
            merged = merge_extraction(sheet.fields, found, extraction.document_id, now)
            after_sheet = replace(
                sheet, fields=merged.fields, version=sheet.version + 1, updated_at=now, updated_by=EXTRACTOR
            )
            done = replace(
                running,
                status=ExtractionStatus.SUCCEEDED,
                finished_at=now,
                updated_at=now,
                version=running.version + 1,
                fields_found=len(found) - len(merged.dropped),
            )
            try:
                self.store.finish_extraction(running, done, actor, sheet=(sheet, after_sheet))
            except BookingChanged:
                continue  # a correction landed meanwhile: merge again on top of it
            return done
        raise BookingChanged("The booking sheet kept changing during the extraction")

    def fail_extraction(self, booking_id: str, extraction_id: str, reason: str) -> ExtractionRecord:
        """After the last retry: FAILED with ``reason``; the document may be extracted again."""
        _, _, extraction, _ = self.store.booking_parts(booking_id, extraction_id=extraction_id)
        if extraction is None:
            raise not_found("Extraction")
        if extraction.status not in ACTIVE_EXTRACTION:
            return extraction
        return self._fail(extraction, reason, Actor(user_id=EXTRACTOR, request_id=f"extraction:{extraction_id}"))

    def _fail(
        self, extraction: ExtractionRecord, reason: str, actor: Actor, *, document_exists: bool = True
    ) -> ExtractionRecord:
        now = self.clock()
        failed = replace(
            extraction,
            status=ExtractionStatus.FAILED,
            error=reason[:500],
            finished_at=now,
            updated_at=now,
            version=extraction.version + 1,
        )
        self.store.finish_extraction(extraction, failed, actor, release_document=document_exists)
        return failed

    # ---- booking sheet ----------------------------------------------------------------------

    def sheet(self, caller_id: str, booking_id: str) -> Sheet:
        booking, _, _, sheet = self.store.booking_parts(booking_id, sheet=True)
        owned(booking, caller_id)
        return sheet or Sheet(booking_id)

    def correct(
        self, actor: Actor, booking_id: str, expected: Sequence[int] | None, corrections: Mapping[str, object]
    ) -> Sheet:
        booking, _, _, sheet = self.store.booking_parts(booking_id, sheet=True)
        booking = editable(owned(booking, actor.user_id))
        sheet = sheet or Sheet(booking_id)
        at_version(sheet.version, expected, "booking sheet")
        now = self.clock()
        fields = apply_corrections(sheet.fields, corrections, actor.user_id, now)
        after = replace(sheet, fields=fields, version=sheet.version + 1, updated_at=now, updated_by=actor.user_id)
        try:
            self.store.save_sheet(booking, sheet, after, actor)
        except BookingChanged:
            raise PreconditionFailed("The booking sheet changed since you read it; read it again") from None
        return after


def _stamp(moment: datetime) -> str:
    return moment.isoformat()
