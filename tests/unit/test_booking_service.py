"""The booking use cases (``Bookings``) over an in-memory store with the DynamoDB store's
conditions: what each use case stores, who may do it, which version it needs, how a write that
lost a race is reported, and the asynchronous side (record_upload, run_extraction,
fail_extraction). The DynamoDB store itself is specified in tests/integration/test_bookings.py."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.domain.booking_service import EXTRACTOR, UPLOAD_WORKER, Bookings
from lendbridge.domain.booking_sheet import REQUIRED_FIELDS, SheetStatus
from lendbridge.domain.bookings import (
    DOWNLOAD_URL_SECONDS,
    MAX_DOCUMENTS,
    UPLOAD_URL_SECONDS,
    BookingChanged,
    BookingStatus,
    BookingTerms,
    DocumentStatus,
    ExtractionStatus,
    TooManyDocuments,
)
from lendbridge.domain.extraction import ExtractionFailed, ExtractionThrottled
from lendbridge.domain.ports import Actor
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.errors import (
    Conflict,
    DependencyUnavailable,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from tests.booking_fakes import COMPLETE, PRODUCTS, FakeQueue, FakeReader, FakeStorage
from tests.booking_memory import MemoryBookingStore

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
PDF = b"%PDF-1.7 facility agreement"
SHA = "ab" * 32


class World:
    def __init__(self, queue: FakeQueue | None = None) -> None:
        self.store = MemoryBookingStore()
        self.storage = FakeStorage()
        self.queue = queue
        self.ticks = itertools.count()
        self.ids = itertools.count(1)
        self.bookings = Bookings(
            store=self.store,
            products=PRODUCTS,
            storage=self.storage,
            queue=queue,
            clock=self.clock,
            new_id=lambda: f"id-{next(self.ids):03d}",
        )

    def clock(self) -> datetime:
        return START + timedelta(seconds=next(self.ticks))

    def draft(self, actor: Actor, **changes: Any) -> str:
        return self.bookings.create(actor, terms(**changes)).booking_id

    def uploaded(self, actor: Actor, booking_id: str, content: bytes = PDF) -> str:
        document = self.bookings.add_document(actor, booking_id, "agreement.pdf", "application/pdf", len(content))
        key = document.document.object_key
        self.storage.objects[key] = content
        self.bookings.record_upload(
            booking_id, document.document.document_id, UploadVerdict(True), SHA, len(content), START
        )
        return document.document.document_id


@pytest.fixture
def world() -> World:
    return World(FakeQueue())


def officer(name: str = "officer-1") -> Actor:
    return Actor(user_id=name, request_id=f"req-{name}", ip_address="203.0.113.9")


def terms(**changes: Any) -> BookingTerms:
    base = BookingTerms("Harbourline Logistics Ltd", "term-loan-gbp", Decimal("25000000.00"), "GBP", 60, None)
    return replace(base, **changes)


BUSY = "An extraction of this document is queued or running"


def whole(message: str) -> str:
    """The exact message an error answer carries."""
    return f"^{re.escape(message)}$"


def at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


# ---- bookings -------------------------------------------------------------------------------


def test_a_new_booking_is_a_draft_of_its_creator_at_version_1_named_after_its_product(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms(notes="Warehouse refinancing"))

    assert booking.booking_id == "id-001"
    assert (booking.owner_id, booking.updated_by) == ("officer-1", "officer-1")
    assert booking.product_name == "Term loan (GBP)"
    assert (booking.status, booking.version, booking.document_count) == (BookingStatus.DRAFT, 1, 0)
    assert booking.created_at == booking.updated_at == at(0)
    assert booking.terms.notes == "Warehouse refinancing"
    assert world.store.bookings["id-001"] == booking
    assert world.store.audit == [("booking", "id-001", "CREATE", "officer-1", "req-officer-1")]


def test_a_booking_that_does_not_fit_its_product_is_refused_before_anything_is_stored(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        world.bookings.create(officer(), terms(product_id="no-such-product"))
    assert set(refused.value.field_errors) == {"product_id"}
    with pytest.raises(ValidationFailed) as refused:
        world.bookings.create(officer(), terms(currency="EUR", term_months=6))
    assert set(refused.value.field_errors) == {"currency", "term_months"}
    assert world.store.bookings == {}


def test_another_officers_booking_does_not_exist_for_the_caller(world: World) -> None:
    booking_id = world.draft(officer())
    assert world.bookings.get("officer-1", booking_id).booking_id == booking_id
    with pytest.raises(NotFound):
        world.bookings.get("officer-2", booking_id)
    with pytest.raises(NotFound):
        world.bookings.get("officer-1", "no-such-booking")


def test_the_page_lists_the_callers_own_bookings_with_the_status_and_size_asked(world: World) -> None:
    mine = [world.draft(officer()) for _ in range(3)]
    world.draft(officer("officer-2"))
    world.bookings.cancel(officer(), mine[0])

    page = world.bookings.page("officer-1", None, 1, None)
    assert [booking.booking_id for booking in page.items] == [mine[2]]
    rest = world.bookings.page("officer-1", None, 5, page.next_position)
    assert [booking.booking_id for booking in rest.items] == [mine[1]]
    cancelled = world.bookings.page("officer-1", BookingStatus.CANCELLED, 5, None)
    assert [booking.booking_id for booking in cancelled.items] == [mine[0]]


def test_revising_a_booking_needs_the_version_read_and_checks_the_new_terms(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    with pytest.raises(PreconditionRequired, match=whole("Send If-Match with the booking version you read (its ETag)")):
        world.bookings.revise(actor, booking_id, None, {"amount": Decimal("26000000.00")})
    with pytest.raises(PreconditionFailed) as stale:
        world.bookings.revise(actor, booking_id, [2], {"amount": Decimal("26000000.00")})
    assert stale.value.details == {"current_version": 1}
    with pytest.raises(ValidationFailed) as refused:
        world.bookings.revise(actor, booking_id, [1], {"product_id": "bridge-eur"})
    assert set(refused.value.field_errors) == {"currency", "amount", "term_months"}

    changed = world.bookings.revise(
        actor,
        booking_id,
        [1],
        {"product_id": "bridge-eur", "currency": "EUR", "amount": Decimal("5000000.00"), "term_months": 18},
    )

    assert changed.product_name == "Bridge (EUR)"
    assert (changed.terms.amount, changed.terms.currency, changed.terms.term_months) == (
        Decimal("5000000.00"),
        "EUR",
        18,
    )
    assert changed.terms.customer_name == "Harbourline Logistics Ltd"
    assert (changed.version, changed.updated_by, changed.updated_at) == (2, "officer-1", at(1))
    assert changed.created_at == at(0)
    assert world.store.bookings[booking_id] == changed
    assert world.store.audit[-1] == ("booking", booking_id, "UPDATE", "officer-1", "req-officer-1")


def test_a_revision_that_loses_a_race_asks_the_caller_to_read_again(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    world.store.interference.append(
        lambda: world.bookings.revise(actor, booking_id, [1], {"notes": "the other request"})
    )
    with pytest.raises(PreconditionFailed, match=whole("The booking changed since you read it; read it again")):
        world.bookings.revise(actor, booking_id, [1], {"notes": "this request"})
    assert world.store.bookings[booking_id].terms.notes == "the other request"


def test_only_the_owner_can_revise_and_only_a_draft(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    with pytest.raises(NotFound):
        world.bookings.revise(officer("officer-2"), booking_id, [1], {"notes": "x"})
    world.bookings.cancel(actor, booking_id)
    with pytest.raises(Conflict, match="CANCELLED"):
        world.bookings.revise(actor, booking_id, [2], {"notes": "x"})


def test_cancelling_marks_the_booking_deleted_by_its_owner_at_one_moment(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    world.bookings.cancel(actor, booking_id)

    cancelled = world.store.bookings[booking_id]
    assert cancelled.status == BookingStatus.CANCELLED
    assert (cancelled.deleted_at, cancelled.updated_at) == (at(1), at(1))
    assert (cancelled.deleted_by, cancelled.updated_by, cancelled.version) == ("officer-1", "officer-1", 2)
    assert world.store.audit[-1] == ("booking", booking_id, "DELETE", "officer-1", "req-officer-1")
    with pytest.raises(Conflict):
        world.bookings.cancel(actor, booking_id)
    with pytest.raises(NotFound):
        world.bookings.cancel(officer("officer-2"), world.draft(actor))


def complete_sheet(world: World, actor: Actor, booking_id: str) -> int:
    return world.bookings.correct(actor, booking_id, [0], COMPLETE).version


def test_booking_needs_a_complete_sheet_and_names_what_is_missing(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    with pytest.raises(Conflict) as empty:
        world.bookings.book(actor, booking_id, [1])
    assert empty.value.details == {"sheet_status": "EMPTY", "missing_fields": sorted_required()}
    assert empty.value.message == "The booking sheet is not COMPLETE"

    world.bookings.correct(actor, booking_id, [0], {"borrower_legal_name": "Harbourline Logistics Ltd"})
    with pytest.raises(Conflict) as partial:
        world.bookings.book(actor, booking_id, [1])
    details = partial.value.details
    assert details is not None
    assert details["sheet_status"] == "PARTIAL"
    assert "borrower_legal_name" not in details["missing_fields"]
    assert world.store.bookings[booking_id].status == BookingStatus.DRAFT


def sorted_required() -> list[str]:
    from lendbridge.domain.booking_sheet import SHEET_FIELDS

    return [name for name in SHEET_FIELDS if name in REQUIRED_FIELDS]


def test_a_booking_with_a_complete_sheet_is_booked_and_read_only(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    complete_sheet(world, actor, booking_id)
    with pytest.raises(PreconditionRequired, match=whole("Send If-Match with the booking version you read (its ETag)")):
        world.bookings.book(actor, booking_id, None)
    with pytest.raises(PreconditionFailed):
        world.bookings.book(actor, booking_id, [7])
    with pytest.raises(NotFound):
        world.bookings.book(officer("officer-2"), booking_id, [1])

    booked = world.bookings.book(actor, booking_id, [1])

    assert booked.status == BookingStatus.BOOKED
    assert booked.booked_at == booked.updated_at == at(2)
    assert (booked.version, booked.updated_by) == (2, "officer-1")
    assert world.store.bookings[booking_id] == booked
    with pytest.raises(Conflict, match="BOOKED"):
        world.bookings.book(actor, booking_id, [2])
    with pytest.raises(Conflict, match="BOOKED"):
        world.bookings.correct(actor, booking_id, [1], {"borrower_address": "elsewhere"})


def test_a_sheet_corrected_while_booking_keeps_the_booking_a_draft(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    sheet_version = complete_sheet(world, actor, booking_id)
    world.store.interference.append(
        lambda: world.bookings.correct(actor, booking_id, [sheet_version], {"reference_rate": "EURIBOR"})
    )
    with pytest.raises(PreconditionFailed, match=whole("The booking changed since you read it; read it again")):
        world.bookings.book(actor, booking_id, [1])
    assert world.store.bookings[booking_id].status == BookingStatus.DRAFT


# ---- documents ------------------------------------------------------------------------------


def test_adding_a_document_declares_it_and_hands_out_an_upload_url_bound_to_it(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    added = world.bookings.add_document(actor, booking_id, "agreement.pdf", "application/pdf", 1234)

    document = added.document
    assert (document.booking_id, document.document_id) == (booking_id, "id-002")
    assert (document.file_name, document.content_type) == ("agreement.pdf", "application/pdf")
    assert document.size_bytes == 1234
    assert (document.status, document.version, document.active_extraction) == (DocumentStatus.AWAITING_UPLOAD, 1, None)
    assert document.created_at == document.updated_at == at(1)
    assert document.created_by == document.updated_by == "officer-1"
    key = f"documents/{booking_id}/id-002"
    assert world.storage.presigned == [(key, "application/pdf", 1234, UPLOAD_URL_SECONDS)]
    assert added.upload.url.startswith(f"https://bucket.example/{key}")
    assert world.store.bookings[booking_id].document_count == 1
    assert world.store.documents_by_key[(booking_id, "id-002")] == document


def test_a_document_of_another_type_or_size_is_refused_before_it_is_declared(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    with pytest.raises(ValidationFailed) as refused:
        world.bookings.add_document(actor, booking_id, "x.exe", "application/octet-stream", 0)
    assert set(refused.value.field_errors) == {"content_type", "size_bytes"}
    assert world.store.documents(booking_id) == []
    assert world.storage.presigned == []
    with pytest.raises(NotFound):
        world.bookings.add_document(officer("officer-2"), booking_id, "a.pdf", "application/pdf", 10)


def test_a_booking_holds_at_most_twenty_documents_and_only_a_draft_takes_one(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    for _ in range(MAX_DOCUMENTS):
        world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10)
    with pytest.raises(TooManyDocuments):
        world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10)
    assert len(world.storage.presigned) == MAX_DOCUMENTS

    other = world.draft(actor)
    world.bookings.cancel(actor, other)
    with pytest.raises(Conflict, match="CANCELLED"):
        world.bookings.add_document(actor, other, "a.pdf", "application/pdf", 10)


def test_documents_are_listed_newest_first_a_page_at_a_time(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    added = [
        world.bookings.add_document(actor, booking_id, f"{n}.pdf", "application/pdf", 10).document.document_id
        for n in range(5)
    ]
    removed = added.pop(2)
    world.bookings.remove_document(actor, booking_id, removed)

    first = world.bookings.documents_page("officer-1", booking_id, 2, None)
    assert [document.document_id for document in first.items] == added[:1:-1]
    assert first.next_position is not None
    second = world.bookings.documents_page("officer-1", booking_id, 2, first.next_position)
    assert [document.document_id for document in second.items] == added[1::-1]
    assert second.next_position is None
    whole = world.bookings.documents_page("officer-1", booking_id, 4, None)
    assert (len(whole.items), whole.next_position) == (4, None)
    with pytest.raises(NotFound):
        world.bookings.documents_page("officer-2", booking_id, 2, None)


def test_an_empty_booking_has_an_empty_last_page_of_documents(world: World) -> None:
    page = world.bookings.documents_page("officer-1", world.draft(officer()), 3, None)
    assert (page.items, page.next_position) == ([], None)


def test_documents_created_at_one_moment_are_ordered_by_id_and_paged_without_loss(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    ids = [world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10) for _ in range(3)]
    same_moment = {(booking_id, new.document.document_id): replace(new.document, created_at=START) for new in ids}
    world.store.documents_by_key.update(same_moment)

    seen: list[str] = []
    position = None
    for _ in range(3):
        page = world.bookings.documents_page("officer-1", booking_id, 1, position)
        seen += [document.document_id for document in page.items]
        position = page.next_position
    assert seen == sorted((new.document.document_id for new in ids), reverse=True)
    assert position is None


def test_a_document_can_be_downloaded_only_once_its_upload_was_accepted(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    waiting = world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10).document.document_id
    document_id = world.uploaded(actor, booking_id)

    assert world.bookings.document("officer-1", booking_id, waiting).download_url is None
    view = world.bookings.document("officer-1", booking_id, document_id)
    assert view.document.status == DocumentStatus.UPLOADED
    assert view.download_url == (
        f"https://bucket.example/documents/{booking_id}/{document_id}?get&expires={DOWNLOAD_URL_SECONDS}"
    )
    with pytest.raises(NotFound, match="Document not found"):
        world.bookings.document("officer-1", booking_id, "no-such-document")
    with pytest.raises(NotFound, match="Booking not found"):
        world.bookings.document("officer-2", booking_id, document_id)


def test_removing_a_document_frees_its_place_then_deletes_its_object(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    key = f"documents/{booking_id}/{document_id}"

    world.bookings.remove_document(actor, booking_id, document_id)

    assert world.storage.deleted == [key]
    assert key not in world.storage.objects
    assert world.store.documents(booking_id) == []
    assert world.store.bookings[booking_id].document_count == 0
    assert world.store.deleted[(booking_id, document_id)] == at(3)  # the moment of the removal
    assert world.store.audit[-1][:4] == ("document", document_id, "DELETE", "officer-1")
    with pytest.raises(NotFound, match="Document not found"):
        world.bookings.remove_document(actor, booking_id, document_id)


def test_a_document_under_extraction_or_of_a_closed_booking_stays(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    world.bookings.request_extraction(actor, booking_id, document_id)
    with pytest.raises(Conflict, match=whole(BUSY + "; wait for it to finish")):
        world.bookings.remove_document(actor, booking_id, document_id)

    other = world.draft(actor)
    kept = world.uploaded(actor, other)
    world.bookings.cancel(actor, other)
    with pytest.raises(Conflict, match="CANCELLED"):
        world.bookings.remove_document(actor, other, kept)
    with pytest.raises(NotFound):
        world.bookings.remove_document(officer("officer-2"), booking_id, document_id)
    assert world.storage.deleted == []


def test_an_accepted_upload_makes_the_document_uploaded_with_its_digest(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document = world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10).document

    after = world.bookings.record_upload(booking_id, document.document_id, UploadVerdict(True), SHA, 10, at(30))

    assert (after.status, after.sha256, after.uploaded_at, after.rejection_reason) == (
        DocumentStatus.UPLOADED,
        SHA,
        at(30),
        None,
    )
    assert (after.updated_by, after.updated_at, after.version) == (UPLOAD_WORKER, at(2), 2)
    assert world.store.documents_by_key[(booking_id, document.document_id)] == after
    assert world.store.audit[-1] == (
        "document",
        document.document_id,
        "UPDATE",
        "system:upload-events",
        f"upload:{document.document_id}:10",
    )


def test_a_rejected_upload_keeps_the_reason_and_no_digest(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document = world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10).document
    verdict = UploadVerdict(False, "The file is not a application/pdf file")

    after = world.bookings.record_upload(booking_id, document.document_id, verdict, SHA, 10, at(30))

    assert (after.status, after.sha256, after.uploaded_at) == (DocumentStatus.REJECTED, None, None)
    assert after.rejection_reason == "The file is not a application/pdf file"
    assert after.version == 2


def test_a_repeated_upload_report_changes_nothing(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    before = world.store.documents_by_key[(booking_id, document_id)]
    audited = len(world.store.audit)

    again = world.bookings.record_upload(booking_id, document_id, UploadVerdict(False, "late"), None, 1, at(60))

    assert again == before
    assert world.store.documents_by_key[(booking_id, document_id)] == before
    assert len(world.store.audit) == audited
    with pytest.raises(NotFound, match="Document not found"):
        world.bookings.record_upload(booking_id, "no-such-document", UploadVerdict(True), SHA, 1, at(60))


# ---- extraction -----------------------------------------------------------------------------


def test_requesting_an_extraction_queues_it_and_locks_the_document(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)

    extraction = world.bookings.request_extraction(actor, booking_id, document_id)

    assert (extraction.booking_id, extraction.document_id, extraction.owner_id) == (
        booking_id,
        document_id,
        "officer-1",
    )
    assert (extraction.status, extraction.version, extraction.fields_found) == (ExtractionStatus.QUEUED, 1, 0)
    assert extraction.created_at == extraction.updated_at == at(3)
    assert (extraction.started_at, extraction.finished_at, extraction.error) == (None, None, None)
    assert world.queue is not None
    assert world.queue.messages == [(booking_id, document_id, extraction.extraction_id)]
    document = world.store.documents_by_key[(booking_id, document_id)]
    assert document.active_extraction == extraction.extraction_id
    assert world.bookings.extraction("officer-1", booking_id, extraction.extraction_id) == extraction

    with pytest.raises(Conflict) as busy:
        world.bookings.request_extraction(actor, booking_id, document_id)
    assert busy.value.details == {"extraction_id": extraction.extraction_id}
    assert busy.value.message == "An extraction of this document is already queued or running"
    assert len(world.queue.messages) == 1


def test_only_an_uploaded_document_of_a_draft_can_be_extracted(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    waiting = world.bookings.add_document(actor, booking_id, "a.pdf", "application/pdf", 10).document.document_id
    with pytest.raises(Conflict) as not_uploaded:
        world.bookings.request_extraction(actor, booking_id, waiting)
    assert not_uploaded.value.details == {"document_status": "AWAITING_UPLOAD"}
    assert not_uploaded.value.message == ("The document is AWAITING_UPLOAD; only an UPLOADED document can be extracted")

    document_id = world.uploaded(actor, booking_id)
    with pytest.raises(NotFound):
        world.bookings.request_extraction(officer("officer-2"), booking_id, document_id)
    world.bookings.cancel(actor, booking_id)
    with pytest.raises(Conflict, match="CANCELLED"):
        world.bookings.request_extraction(actor, booking_id, document_id)
    assert world.queue is not None
    assert world.queue.messages == []


def test_without_a_queue_extraction_is_unavailable_and_nothing_is_locked() -> None:
    world = World(queue=None)
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    with pytest.raises(DependencyUnavailable) as unavailable:
        world.bookings.request_extraction(actor, booking_id, document_id)
    assert unavailable.value.retry_after == 60
    assert unavailable.value.message == "Extraction is not configured"
    assert world.store.documents_by_key[(booking_id, document_id)].active_extraction is None
    assert world.store.extractions == {}


def test_an_extraction_that_cannot_be_queued_fails_and_frees_the_document(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    assert world.queue is not None
    world.queue.broken = True

    with pytest.raises(RuntimeError, match="queue down"):
        world.bookings.request_extraction(actor, booking_id, document_id)

    (extraction,) = world.store.extractions.values()
    assert (extraction.status, extraction.error) == (ExtractionStatus.FAILED, "The extraction could not be queued")
    assert world.store.documents_by_key[(booking_id, document_id)].active_extraction is None
    world.queue.broken = False
    assert world.bookings.request_extraction(actor, booking_id, document_id).status == ExtractionStatus.QUEUED


def test_an_extraction_is_read_only_by_the_owner_of_its_booking(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    extraction = world.bookings.request_extraction(actor, booking_id, world.uploaded(actor, booking_id))
    with pytest.raises(NotFound, match="Booking not found"):
        world.bookings.extraction("officer-2", booking_id, extraction.extraction_id)
    with pytest.raises(NotFound, match="Extraction not found"):
        world.bookings.extraction("officer-1", booking_id, "no-such-extraction")


def queued(world: World, actor: Actor) -> tuple[str, str, str]:
    booking_id = world.draft(actor)
    document_id = world.uploaded(actor, booking_id)
    extraction = world.bookings.request_extraction(actor, booking_id, document_id)
    return booking_id, document_id, extraction.extraction_id


def test_a_run_merges_what_the_reader_found_into_the_sheet_and_frees_the_document(world: World) -> None:
    actor = officer()
    booking_id, document_id, extraction_id = queued(world, actor)
    reader = FakeReader({"borrower_legal_name": "Harbourline Logistics Ltd", "currency": "GBP", "nonsense": "x"})

    done = world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage)

    assert reader.read_calls == [(PDF, "application/pdf")]
    assert done.status == ExtractionStatus.SUCCEEDED
    assert done.fields_found == 2  # the unknown field is dropped
    assert done.version == 3  # QUEUED -> RUNNING -> SUCCEEDED
    assert done.finished_at == done.updated_at
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.started_at < done.finished_at
    assert world.store.extractions[(booking_id, extraction_id)] == done
    assert world.store.documents_by_key[(booking_id, document_id)].active_extraction is None

    sheet = world.bookings.sheet("officer-1", booking_id)
    assert (sheet.version, sheet.updated_by, sheet.updated_at) == (1, EXTRACTOR, done.finished_at)
    assert sheet.booking_id == booking_id
    assert sheet.fields["currency"].extracted_at == done.finished_at
    assert sheet.fields["borrower_legal_name"].value == "Harbourline Logistics Ltd"
    source = sheet.fields["currency"].source
    assert source is not None
    assert source.document_id == document_id
    assert sheet.status == SheetStatus.PARTIAL
    assert [entry[3:] for entry in world.store.audit[-3:]] == [
        (EXTRACTOR, f"extraction:{extraction_id}"),
        (EXTRACTOR, f"extraction:{extraction_id}"),
        (EXTRACTOR, f"extraction:{extraction_id}"),
    ]


def test_a_redelivered_message_for_a_finished_extraction_changes_nothing(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    done = world.bookings.run_extraction(booking_id, extraction_id, FakeReader({"currency": "GBP"}), world.storage)
    reader = FakeReader({"currency": "EUR"})

    assert world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage) == done
    assert reader.read_calls == []
    assert world.bookings.sheet("officer-1", booking_id).fields["currency"].value == "GBP"


def test_a_run_retried_after_it_started_reads_again_without_starting_again(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    with pytest.raises(ExtractionThrottled):
        world.bookings.run_extraction(booking_id, extraction_id, FakeReader(ExtractionThrottled()), world.storage)
    running = world.store.extractions[(booking_id, extraction_id)]
    assert (running.status, running.version) == (ExtractionStatus.RUNNING, 2)
    assert running.started_at == running.updated_at == at(4)

    done = world.bookings.run_extraction(booking_id, extraction_id, FakeReader({"currency": "GBP"}), world.storage)

    assert (done.status, done.version, done.started_at) == (ExtractionStatus.SUCCEEDED, 3, running.started_at)


def test_an_unreadable_document_ends_the_extraction_failed_with_the_readers_reason(world: World) -> None:
    actor = officer()
    booking_id, document_id, extraction_id = queued(world, actor)
    reason = "The document has no readable text " + "x" * 600

    reader = FakeReader(ExtractionFailed(reason))
    failed = world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage)

    assert failed.status == ExtractionStatus.FAILED
    assert failed.error == reason[:500]
    assert failed.finished_at == failed.updated_at == at(5)
    assert failed.version == 3
    assert world.store.documents_by_key[(booking_id, document_id)].active_extraction is None
    assert booking_id not in world.store.sheets


def test_an_extraction_whose_booking_closed_meanwhile_fails_without_touching_the_sheet(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    world.bookings.cancel(actor, booking_id)

    failed = world.bookings.run_extraction(booking_id, extraction_id, FakeReader({"currency": "GBP"}), world.storage)

    assert (failed.status, failed.error) == (ExtractionStatus.FAILED, "The booking is no longer a DRAFT")
    assert booking_id not in world.store.sheets


def test_an_extraction_whose_document_was_deleted_fails(world: World) -> None:
    actor = officer()
    booking_id, document_id, extraction_id = queued(world, actor)
    # The document item went away (a deleted one reads as absent): nothing is left to free.
    world.store.deleted[(booking_id, document_id)] = START
    reader = FakeReader({"currency": "GBP"})

    failed = world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage)

    assert (failed.status, failed.error) == (ExtractionStatus.FAILED, "The document was deleted")
    assert reader.read_calls == []


def test_a_run_for_an_unknown_extraction_or_booking_is_not_found(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    reader = FakeReader({})
    with pytest.raises(NotFound, match="Extraction not found"):
        world.bookings.run_extraction(booking_id, "no-such-extraction", reader, world.storage)
    del world.store.bookings[booking_id]
    with pytest.raises(NotFound, match="Extraction not found"):
        world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage)


def correction_of(world: World, actor: Actor, booking_id: str, name: str, value: str) -> Callable[[], None]:
    def correct() -> None:
        current = world.bookings.sheet(actor.user_id, booking_id).version
        world.bookings.correct(actor, booking_id, [current], {name: value})

    return correct


def test_a_correction_landing_during_the_merge_is_kept_and_the_merge_redone_on_top(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    # RUNNING is written first; the correction lands just before the sheet is written.
    world.store.interference += [lambda: None, correction_of(world, actor, booking_id, "currency", "EUR")]
    reader = FakeReader({"currency": "GBP", "reference_rate": "SONIA"})

    done = world.bookings.run_extraction(booking_id, extraction_id, reader, world.storage)

    assert done.status == ExtractionStatus.SUCCEEDED
    sheet = world.bookings.sheet("officer-1", booking_id)
    assert sheet.fields["currency"].value == "EUR"
    assert sheet.fields["currency"].corrected_by == "officer-1"
    assert sheet.fields["reference_rate"].value == "SONIA"
    assert sheet.version == 2


def test_a_sheet_that_keeps_changing_gives_up_after_three_merges(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    corrections = [correction_of(world, actor, booking_id, "borrower_address", f"{n} Quay Street") for n in range(3)]
    world.store.interference += [lambda: None, *corrections]

    with pytest.raises(BookingChanged, match=whole("The booking sheet kept changing during the extraction")):
        world.bookings.run_extraction(booking_id, extraction_id, FakeReader({"currency": "GBP"}), world.storage)
    assert world.store.extractions[(booking_id, extraction_id)].status == ExtractionStatus.RUNNING


def test_two_lost_races_still_end_in_a_merge(world: World) -> None:
    actor = officer()
    booking_id, _, extraction_id = queued(world, actor)
    corrections = [correction_of(world, actor, booking_id, "borrower_address", f"{n} Quay Street") for n in range(2)]
    world.store.interference += [lambda: None, *corrections]

    done = world.bookings.run_extraction(booking_id, extraction_id, FakeReader({"currency": "GBP"}), world.storage)

    assert done.status == ExtractionStatus.SUCCEEDED
    assert world.bookings.sheet("officer-1", booking_id).fields["borrower_address"].value == "1 Quay Street"


def test_failing_an_extraction_after_the_last_retry_frees_the_document_once(world: World) -> None:
    actor = officer()
    booking_id, document_id, extraction_id = queued(world, actor)

    failed = world.bookings.fail_extraction(booking_id, extraction_id, "The extraction service kept throttling")

    assert (failed.status, failed.error, failed.version) == (
        ExtractionStatus.FAILED,
        "The extraction service kept throttling",
        2,
    )
    assert failed.finished_at == failed.updated_at == at(4)
    assert world.store.documents_by_key[(booking_id, document_id)].active_extraction is None
    assert world.store.audit[-1][3:] == (EXTRACTOR, f"extraction:{extraction_id}")
    assert world.bookings.fail_extraction(booking_id, extraction_id, "again") == failed
    with pytest.raises(NotFound, match="Extraction not found"):
        world.bookings.fail_extraction(booking_id, "no-such-extraction", "x")


# ---- booking sheet --------------------------------------------------------------------------


def test_a_booking_without_a_sheet_reads_an_empty_one_at_version_0(world: World) -> None:
    booking_id = world.draft(officer())
    sheet = world.bookings.sheet("officer-1", booking_id)
    assert (sheet.booking_id, sheet.version, dict(sheet.fields), sheet.status) == (
        booking_id,
        0,
        {},
        SheetStatus.EMPTY,
    )
    with pytest.raises(NotFound):
        world.bookings.sheet("officer-2", booking_id)


def test_corrections_need_the_sheet_version_read_and_are_stored_as_the_officers(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    with pytest.raises(
        PreconditionRequired, match=whole("Send If-Match with the booking sheet version you read (its ETag)")
    ):
        world.bookings.correct(actor, booking_id, None, {"currency": "GBP"})
    with pytest.raises(PreconditionFailed):
        world.bookings.correct(actor, booking_id, [1], {"currency": "GBP"})
    with pytest.raises(NotFound):
        world.bookings.correct(officer("officer-2"), booking_id, [0], {"currency": "GBP"})

    sheet = world.bookings.correct(actor, booking_id, [0], {"currency": "gbp"})

    assert (sheet.version, sheet.updated_by, sheet.updated_at) == (1, "officer-1", at(1))
    assert sheet.fields["currency"].value == "GBP"
    assert sheet.fields["currency"].corrected_by == "officer-1"
    assert sheet.fields["currency"].extracted_at == at(1)
    assert world.store.sheets[booking_id] == sheet
    assert world.store.audit[-1] == ("booking_sheet", booking_id, "CREATE", "officer-1", "req-officer-1")
    again = world.bookings.correct(actor, booking_id, [1], {"reference_rate": "SONIA"})
    assert (again.version, set(again.fields)) == (2, {"currency", "reference_rate"})


def test_a_correction_that_loses_a_race_asks_the_caller_to_read_again(world: World) -> None:
    actor = officer()
    booking_id = world.draft(actor)
    world.store.interference.append(lambda: world.bookings.correct(actor, booking_id, [0], {"currency": "EUR"}))
    with pytest.raises(PreconditionFailed, match=whole("The booking sheet changed since you read it; read it again")):
        world.bookings.correct(actor, booking_id, [0], {"currency": "GBP"})
    assert world.store.sheets[booking_id].fields["currency"].value == "EUR"
