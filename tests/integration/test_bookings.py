"""Commercial bookings on DynamoDB Local: the store's transactions and conditions, the audit
entries written with each change, the owner's lists, the document limit under concurrency,
and the asynchronous side (record_upload, run_extraction, fail_extraction) with fake storage,
queue and readers."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data.bookings import DynamoBookingStore
from lendbridge.data.dynamo import from_item, to_values
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.booking_sheet import SheetStatus
from lendbridge.domain.bookings import (
    MAX_DOCUMENTS,
    BookingChanged,
    BookingStatus,
    BookingTerms,
    DocumentRecord,
    DocumentStatus,
    ExtractionStatus,
    TooManyDocuments,
)
from lendbridge.domain.extraction import ExtractionFailed, ExtractionThrottled
from lendbridge.domain.ports import Actor
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from lendbridge.handlers import upload_events
from lendbridge.wiring.upload_events import BookingsUploadLedger, UploadServices
from tests.booking_fakes import COMPLETE, PRODUCTS, TAX_ID, FakeQueue, FakeReader, FakeStorage


def quoting_reader(found: dict[str, str] | Exception) -> FakeReader:
    """Each field quoted from the document, so what the sheet keeps of a quote is checked too."""
    return FakeReader(found, quoted=True)


class World:
    def __init__(self, dynamodb: Any, tables: dict[str, str]) -> None:
        self.dynamodb = dynamodb
        self.audit_table = tables["AuditTable"]
        self.storage = FakeStorage()
        self.queue = FakeQueue()
        ticks = itertools.count()
        start = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
        self.store = DynamoBookingStore(dynamodb, tables["MainTable"], tables["AuditTable"], lambda: str(uuid.uuid4()))
        self.bookings = Bookings(
            store=self.store,
            products=PRODUCTS,
            storage=self.storage,
            queue=self.queue,
            clock=lambda: start + timedelta(seconds=next(ticks)),
            new_id=lambda: str(uuid.uuid4()),
        )

    def audit(self, booking_id: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.audit_table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=to_values({":pk": f"BOOKING#{booking_id}"}),
        )
        return [from_item(item) for item in response["Items"]]


@pytest.fixture
def world(dynamodb: Any, tables: dict[str, str]) -> World:
    return World(dynamodb, tables)


def officer() -> Actor:
    return Actor(user_id=f"officer-{uuid.uuid4().hex[:8]}", request_id="req-1", ip_address="203.0.113.9")


def terms(**changes: Any) -> BookingTerms:
    base = BookingTerms("Harbourline Logistics Ltd", "term-loan-gbp", Decimal("25000000.00"), "GBP", 60, None)
    return replace(base, **changes)


def uploaded(world: World, actor: Actor, booking_id: str, content: bytes = b"%PDF-1.7 facility") -> str:
    added = world.bookings.add_document(actor, booking_id, "agreement.pdf", "application/pdf", len(content))
    document = added.document
    world.storage.objects[document.object_key] = content
    world.bookings.record_upload(
        booking_id, document.document_id, UploadVerdict(True), "ab" * 32, len(content), document.created_at
    )
    return document.document_id


def extracted(world: World, booking_id: str, document_id: str, actor: Actor, found: dict[str, str]) -> Any:
    extraction = world.bookings.request_extraction(actor, booking_id, document_id)
    return world.bookings.run_extraction(booking_id, extraction.extraction_id, quoting_reader(found), world.storage)


# ---- bookings -------------------------------------------------------------------------------


def test_a_booking_is_created_read_changed_and_cancelled_each_with_its_audit_entry(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms(notes="Warehouse refinancing"))
    assert world.bookings.get(actor.user_id, booking.booking_id) == booking
    assert booking.product_name == "Term loan (GBP)"
    assert (booking.status, booking.version, booking.document_count) == (BookingStatus.DRAFT, 1, 0)

    changed = world.bookings.revise(actor, booking.booking_id, [1], {"amount": Decimal("26000000.00")})
    assert (changed.terms.amount, changed.version) == (Decimal("26000000.00"), 2)
    assert world.bookings.get(actor.user_id, booking.booking_id) == changed

    world.bookings.cancel(actor, booking.booking_id)
    cancelled = world.bookings.get(actor.user_id, booking.booking_id)
    assert (cancelled.status, cancelled.deleted_by) == (BookingStatus.CANCELLED, actor.user_id)
    with pytest.raises(Conflict, match="CANCELLED"):
        world.bookings.revise(actor, booking.booking_id, [cancelled.version], {"notes": "revived"})

    entries = sorted(world.audit(booking.booking_id), key=lambda entry: entry["SK"])
    assert [(e["entity"], e["action"]) for e in entries] == [
        ("booking", "CREATE"),
        ("booking", "UPDATE"),
        ("booking", "DELETE"),
    ]
    assert entries[1]["changes"]["before"]["amount"] == Decimal("25000000.00")
    assert entries[1]["changes"]["after"]["amount"] == Decimal("26000000.00")
    assert {(e["user_id"], e["ip_address"]) for e in entries} == {(actor.user_id, "203.0.113.9")}


def test_another_users_booking_does_not_exist_for_them(world: World) -> None:
    owner, stranger = officer(), officer()
    booking = world.bookings.create(owner, terms())
    for attempt in (
        lambda: world.bookings.get(stranger.user_id, booking.booking_id),
        lambda: world.bookings.revise(stranger, booking.booking_id, [1], {"notes": "mine now"}),
        lambda: world.bookings.cancel(stranger, booking.booking_id),
        lambda: world.bookings.book(stranger, booking.booking_id, [1]),
        lambda: world.bookings.sheet(stranger.user_id, booking.booking_id),
        lambda: world.bookings.add_document(stranger, booking.booking_id, "a.pdf", "application/pdf", 10),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert world.bookings.get(owner.user_id, booking.booking_id).version == 1


def test_changes_need_the_current_version_and_must_fit_the_product(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    with pytest.raises(PreconditionRequired):
        world.bookings.revise(actor, booking.booking_id, None, {"notes": "x"})
    with pytest.raises(PreconditionFailed):
        world.bookings.revise(actor, booking.booking_id, [7], {"notes": "x"})
    with pytest.raises(ValidationFailed) as refused:
        world.bookings.revise(actor, booking.booking_id, [1], {"product_id": "bridge-eur"})
    # The bridge loan is in EUR, from 250,000 to 10,000,000, for 3 to 24 months.
    assert set(refused.value.field_errors) == {"currency", "amount", "term_months"}
    moved = world.bookings.revise(
        actor,
        booking.booking_id,
        [1],
        {"product_id": "bridge-eur", "currency": "EUR", "amount": Decimal("500000"), "term_months": 12},
    )
    assert (moved.product_name, moved.terms.currency) == ("Bridge (EUR)", "EUR")


def test_a_booking_outside_its_product_or_of_an_unknown_product_is_refused(world: World) -> None:
    actor = officer()
    with pytest.raises(ValidationFailed) as unknown:
        world.bookings.create(actor, terms(product_id="no-such-product"))
    assert set(unknown.value.field_errors) == {"product_id"}
    with pytest.raises(ValidationFailed) as outside:
        world.bookings.create(actor, terms(amount=Decimal("49999.99"), currency="USD", term_months=121))
    assert set(outside.value.field_errors) == {"amount", "currency", "term_months"}
    assert world.bookings.create(actor, terms(amount=Decimal("50000.00"), term_months=None)).terms.term_months is None


def test_a_stale_write_loses_to_the_one_that_got_there_first(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    world.bookings.revise(actor, booking.booking_id, [1], {"notes": "first"})
    # A write prepared from version 1 after the first change went in: the store's condition refuses it.
    stale = replace(booking, version=2, terms=replace(booking.terms, notes="second"))
    with pytest.raises(Conflict):
        world.store.save_booking(booking, stale, actor)
    assert world.bookings.get(actor.user_id, booking.booking_id).terms.notes == "first"


def test_the_owners_list_is_newest_first_pages_without_repeats_and_filters_by_status(world: World) -> None:
    actor, other = officer(), officer()
    created = [world.bookings.create(actor, terms(notes=f"n{i}")) for i in range(5)]
    world.bookings.create(other, terms())
    world.bookings.cancel(actor, created[1].booking_id)

    seen: list[str] = []
    position = None
    while True:
        page = world.bookings.page(actor.user_id, None, 2, position)
        seen += [booking.booking_id for booking in page.items]
        position = page.next_position
        if position is None:
            break
    live = [b.booking_id for b in reversed(created) if b.booking_id != created[1].booking_id]
    assert seen == live

    cancelled = world.bookings.page(actor.user_id, BookingStatus.CANCELLED, 10, None)
    assert [b.booking_id for b in cancelled.items] == [created[1].booking_id]
    drafts = world.bookings.page(actor.user_id, BookingStatus.DRAFT, 3, None)
    assert [b.booking_id for b in drafts.items] == live[:3]
    assert drafts.has_more
    rest = world.bookings.page(actor.user_id, BookingStatus.DRAFT, 3, drafts.next_position)
    assert [b.booking_id for b in rest.items] == live[3:]
    assert not rest.has_more


# ---- documents ------------------------------------------------------------------------------


def test_a_document_gets_a_presigned_put_under_a_key_of_server_ids_only(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    added = world.bookings.add_document(actor, booking.booking_id, "../../etc/passwd.pdf", "application/pdf", 1234)
    key = f"documents/{booking.booking_id}/{added.document.document_id}"
    assert world.storage.presigned == [(key, "application/pdf", 1234, 900)]
    assert added.upload.url.startswith("https://bucket.example/")
    assert added.document.status == DocumentStatus.AWAITING_UPLOAD
    assert world.bookings.get(actor.user_id, booking.booking_id).document_count == 1
    entries = [e for e in world.audit(booking.booking_id) if e["entity"] == "document"]
    assert [(e["action"], e["changes"]["after"]["file_name"]) for e in entries] == [("CREATE", "../../etc/passwd.pdf")]


def test_at_most_20_documents_even_when_requested_at_once(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())

    def add(index: int) -> str:
        try:
            world.bookings.add_document(actor, booking.booking_id, f"d{index}.pdf", "application/pdf", 10)
        except TooManyDocuments:
            return "full"
        except Conflict:
            return "raced"
        return "added"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(add, range(MAX_DOCUMENTS + 6)))
    added = outcomes.count("added")
    assert added <= MAX_DOCUMENTS
    while world.bookings.get(actor.user_id, booking.booking_id).document_count < MAX_DOCUMENTS:
        assert add(99) == "added"
    assert add(100) == "full"
    assert len(world.store.documents(booking.booking_id)) == MAX_DOCUMENTS
    assert world.bookings.get(actor.user_id, booking.booking_id).document_count == MAX_DOCUMENTS


def test_documents_are_listed_newest_first_and_deleting_one_frees_its_place(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    ids = [
        world.bookings.add_document(actor, booking.booking_id, f"d{i}.pdf", "image/png", 5).document.document_id
        for i in range(3)
    ]
    first = world.bookings.documents_page(actor.user_id, booking.booking_id, 2, None)
    rest = world.bookings.documents_page(actor.user_id, booking.booking_id, 2, first.next_position)
    assert [d.document_id for d in [*first.items, *rest.items]] == ids[::-1]
    assert rest.next_position is None

    world.bookings.remove_document(actor, booking.booking_id, ids[0])
    assert world.storage.deleted == [f"documents/{booking.booking_id}/{ids[0]}"]
    assert world.bookings.get(actor.user_id, booking.booking_id).document_count == 2
    with pytest.raises(NotFound):
        world.bookings.document(actor.user_id, booking.booking_id, ids[0])
    entries = world.audit(booking.booking_id)
    actions = sorted((e["action"], e["entity_id"]) for e in entries if e["entity"] == "document")
    assert ("DELETE", ids[0]) in actions


def raw_document(world: World, booking_id: str, document_id: str) -> dict[str, Any] | None:
    found = world.dynamodb.get_item(
        TableName=world.store._table,
        Key={"PK": {"S": f"BOOKING#{booking_id}"}, "SK": {"S": f"DOC#{document_id}"}},
        ConsistentRead=True,
    ).get("Item")
    return from_item(found) if found else None


def test_a_deleted_document_is_kept_marked_and_hidden_from_every_read(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    ids = [uploaded(world, actor, booking.booking_id) for _ in range(3)]
    world.bookings.remove_document(actor, booking.booking_id, ids[1])

    kept = raw_document(world, booking.booking_id, ids[1])
    assert kept is not None  # soft-deleted: the record stays for the audit trail
    assert (kept["deleted_by"], kept["version"], kept["status"]) == (actor.user_id, 3, "UPLOADED")
    assert kept["deleted_at"] == kept["updated_at"]
    assert world.storage.deleted == [f"documents/{booking.booking_id}/{ids[1]}"]  # the file itself goes

    # One row a page: each live document once, the deleted one never, and no empty last page.
    listed, position = [], None
    for _ in range(3):
        page = world.bookings.documents_page(actor.user_id, booking.booking_id, 1, position)
        listed += [d.document_id for d in page.items]
        position = page.next_position
        if position is None:
            break
    assert listed == [ids[2], ids[0]]
    assert position is None
    for read in (
        lambda: world.bookings.document(actor.user_id, booking.booking_id, ids[1]),
        lambda: world.bookings.request_extraction(actor, booking.booking_id, ids[1]),
        lambda: world.bookings.remove_document(actor, booking.booking_id, ids[1]),
    ):
        with pytest.raises(NotFound):
            read()
    assert world.queue.messages == []
    assert world.bookings.get(actor.user_id, booking.booking_id).document_count == 2
    deletes = [e for e in world.audit(booking.booking_id) if (e["entity"], e["action"]) == ("document", "DELETE")]
    assert [e["entity_id"] for e in deletes] == [ids[1]]


def test_the_documents_list_reads_on_past_a_page_of_deleted_documents(world: World) -> None:
    """DynamoDB filters after it reads: a page can end on deleted items with live ones after it.
    A one-item page limit stands in for the 1 MB that many deleted documents would fill."""
    actor = officer()
    booking = world.bookings.create(actor, terms())
    ids = [
        world.bookings.add_document(actor, booking.booking_id, f"d{i}.pdf", "image/png", 5).document.document_id
        for i in range(4)
    ]
    for document_id in ids[:3]:
        world.bookings.remove_document(actor, booking.booking_id, document_id)
    queries: list[dict[str, Any]] = []

    class OneItemPages:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.dynamodb, name)

        def query(self, **request: Any) -> Any:
            queries.append(request)
            return world.dynamodb.query(**request, Limit=1)

    store = DynamoBookingStore(OneItemPages(), world.store._table, world.audit_table, lambda: str(uuid.uuid4()))
    assert [d.document_id for d in store.documents(booking.booking_id)] == [ids[3]]
    assert len(queries) >= 4
    assert [d.document_id for d in world.store.documents(booking.booking_id)] == [ids[3]]


def test_a_deleted_document_frees_its_place_under_the_limit(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    ids = [
        world.bookings.add_document(actor, booking.booking_id, f"d{i}.pdf", "application/pdf", 10).document.document_id
        for i in range(MAX_DOCUMENTS)
    ]
    with pytest.raises(TooManyDocuments):
        world.bookings.add_document(actor, booking.booking_id, "extra.pdf", "application/pdf", 10)
    world.bookings.remove_document(actor, booking.booking_id, ids[0])
    replacement = world.bookings.add_document(actor, booking.booking_id, "again.pdf", "application/pdf", 10)
    with pytest.raises(TooManyDocuments):
        world.bookings.add_document(actor, booking.booking_id, "extra.pdf", "application/pdf", 10)
    listed = {d.document_id for d in world.store.documents(booking.booking_id)}
    assert listed == {*ids[1:], replacement.document.document_id}
    assert world.bookings.get(actor.user_id, booking.booking_id).document_count == MAX_DOCUMENTS


def test_an_upload_arriving_after_the_delete_does_not_bring_the_document_back(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document = world.bookings.add_document(actor, booking.booking_id, "late.pdf", "application/pdf", 9).document
    world.bookings.remove_document(actor, booking.booking_id, document.document_id)
    world.storage.objects[document.object_key] = b"%PDF-1.7 "  # the PUT lands after the delete

    upload_events.services.override(
        UploadServices(
            storage=world.storage,  # type: ignore[arg-type]
            ledger=BookingsUploadLedger(world.bookings),
            knowledge_base=None,
            clock=lambda: datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        )
    )
    try:
        upload_events.check_object(document.object_key)
    finally:
        upload_events.services.reset()
    assert document.object_key not in world.storage.objects
    with pytest.raises(NotFound):
        world.bookings.record_upload(
            booking.booking_id, document.document_id, UploadVerdict(True), "f" * 64, 9, document.created_at
        )
    kept = raw_document(world, booking.booking_id, document.document_id)
    assert kept is not None
    assert (kept["status"], kept["version"], kept.get("sha256")) == ("AWAITING_UPLOAD", 2, None)
    assert kept["deleted_by"] == actor.user_id
    with pytest.raises(NotFound):
        world.bookings.document(actor.user_id, booking.booking_id, document.document_id)


def test_an_upload_recorded_while_the_document_is_deleted_loses_the_race(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document = world.bookings.add_document(actor, booking.booking_id, "late.pdf", "application/pdf", 9).document
    race_once(
        world, "save_document", lambda: world.bookings.remove_document(actor, booking.booking_id, document.document_id)
    )
    with pytest.raises(BookingChanged):
        world.bookings.record_upload(
            booking.booking_id, document.document_id, UploadVerdict(True), "f" * 64, 9, document.created_at
        )
    kept = raw_document(world, booking.booking_id, document.document_id)
    assert kept is not None
    assert (kept["status"], kept["deleted_by"]) == ("AWAITING_UPLOAD", actor.user_id)


def test_an_upload_report_marks_the_document_once_and_a_download_url_appears_only_when_uploaded(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    good = world.bookings.add_document(actor, booking.booking_id, "a.pdf", "application/pdf", 9).document
    bad = world.bookings.add_document(actor, booking.booking_id, "b.pdf", "application/pdf", 9).document
    assert world.bookings.document(actor.user_id, booking.booking_id, good.document_id).download_url is None

    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    record = world.bookings.record_upload
    marked = record(booking.booking_id, good.document_id, UploadVerdict(True), "f" * 64, 9, at)
    again = record(booking.booking_id, good.document_id, UploadVerdict(False, "late"), None, 9, at)
    assert (marked.status, marked.sha256, marked.uploaded_at) == (DocumentStatus.UPLOADED, "f" * 64, at)
    assert again == marked  # a repeated report changes nothing
    rejected = world.bookings.record_upload(
        booking.booking_id, bad.document_id, UploadVerdict(False, "Not a PDF"), None, 9, at
    )
    assert (rejected.status, rejected.rejection_reason, rejected.sha256) == (DocumentStatus.REJECTED, "Not a PDF", None)

    view = world.bookings.document(actor.user_id, booking.booking_id, good.document_id)
    assert view.download_url == f"https://bucket.example/{good.object_key}?get&expires=300"
    with pytest.raises(NotFound):
        world.bookings.record_upload(booking.booking_id, "no-such-document", UploadVerdict(True), None, 1, at)


# ---- extraction and the sheet -----------------------------------------------------------------


def test_only_an_uploaded_document_with_no_extraction_running_can_be_extracted(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    waiting = world.bookings.add_document(actor, booking.booking_id, "a.pdf", "application/pdf", 9).document
    with pytest.raises(Conflict, match="AWAITING_UPLOAD"):
        world.bookings.request_extraction(actor, booking.booking_id, waiting.document_id)

    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    assert extraction.status == ExtractionStatus.QUEUED
    assert world.queue.messages == [(booking.booking_id, document_id, extraction.extraction_id)]
    with pytest.raises(Conflict, match="already queued or running"):
        world.bookings.request_extraction(actor, booking.booking_id, document_id)
    with pytest.raises(Conflict):
        world.bookings.remove_document(actor, booking.booking_id, document_id)


def test_an_extraction_fills_the_sheet_with_sources_and_audits_it_without_the_tax_id(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    found = {**COMPLETE, "maturity_date": "not a date", "signing_date": "2026-06-30"}
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    reader = quoting_reader(found)
    done = world.bookings.run_extraction(booking.booking_id, extraction.extraction_id, reader, world.storage)

    assert reader.read_calls == [(b"%PDF-1.7 facility", "application/pdf")]
    assert done.status == ExtractionStatus.SUCCEEDED
    assert done.fields_found == len(COMPLETE) - 1  # the bad date was dropped
    assert done.started_at is not None
    assert done.finished_at is not None
    assert world.bookings.extraction(actor.user_id, booking.booking_id, extraction.extraction_id) == done

    sheet = world.bookings.sheet(actor.user_id, booking.booking_id)
    assert sheet.status == SheetStatus.PARTIAL
    assert "maturity_date" not in sheet.fields
    held = sheet.fields["facility_amount"]
    assert (held.value, held.confidence, held.source.document_id, held.source.page) == (  # type: ignore[union-attr]
        "25000000.00",
        0.8,
        document_id,
        1,
    )
    # The document is free for the next extraction.
    again = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    assert again.status == ExtractionStatus.QUEUED

    entries = world.audit(booking.booking_id)
    sheet_entries = [e for e in entries if e["entity"] == "booking_sheet"]
    assert len(sheet_entries) == 1
    assert sheet_entries[0]["user_id"] == "system:extractor"
    assert TAX_ID not in json.dumps(entries, default=str)
    assert sheet_entries[0]["changes"]["after"]["fields"]["borrower_tax_id"]["value"].endswith("6789")


def test_a_correction_survives_a_later_extraction_and_a_complete_sheet_books_the_booking(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extracted(world, booking.booking_id, document_id, actor, {**COMPLETE, "maturity_date": "garbage"})
    sheet = world.bookings.sheet(actor.user_id, booking.booking_id)
    with pytest.raises(Conflict, match="not COMPLETE") as incomplete:
        world.bookings.book(actor, booking.booking_id, [world.bookings.get(actor.user_id, booking.booking_id).version])
    assert incomplete.value.details == {"sheet_status": "PARTIAL", "missing_fields": ["maturity_date"]}

    with pytest.raises(PreconditionRequired):
        world.bookings.correct(actor, booking.booking_id, None, {"maturity_date": "2031-06-30"})
    with pytest.raises(PreconditionFailed):
        world.bookings.correct(actor, booking.booking_id, [sheet.version + 5], {"maturity_date": "2031-06-30"})
    with pytest.raises(ValidationFailed) as unknown:
        world.bookings.correct(actor, booking.booking_id, [sheet.version], {"customer_pin": "1234"})
    assert list(unknown.value.field_errors) == ["fields.customer_pin"]
    with pytest.raises(ValidationFailed):
        world.bookings.correct(actor, booking.booking_id, [sheet.version], {"facility_amount": "12,5 Mio"})
    corrected = world.bookings.correct(
        actor, booking.booking_id, [sheet.version], {"maturity_date": "2031-06-30", "facility_amount": "24000000"}
    )
    assert corrected.status == SheetStatus.COMPLETE
    assert corrected.fields["facility_amount"].corrected_by == actor.user_id
    assert corrected.fields["facility_amount"].confidence == 1.0

    extracted(world, booking.booking_id, document_id, actor, COMPLETE)
    after = world.bookings.sheet(actor.user_id, booking.booking_id)
    assert after.fields["facility_amount"].value == "24000000.00"  # the person's value stays

    current = world.bookings.get(actor.user_id, booking.booking_id)
    with pytest.raises(PreconditionFailed):
        world.bookings.book(actor, booking.booking_id, [current.version - 1])
    booked = world.bookings.book(actor, booking.booking_id, [current.version])
    assert (booked.status, booked.booked_at is not None) == (BookingStatus.BOOKED, True)

    read_only: list[Callable[[], object]] = [
        lambda: world.bookings.revise(actor, booking.booking_id, [booked.version], {"notes": "late"}),
        lambda: world.bookings.correct(actor, booking.booking_id, [after.version], {"reference_rate": "EURIBOR"}),
        lambda: world.bookings.add_document(actor, booking.booking_id, "late.pdf", "application/pdf", 5),
        lambda: world.bookings.remove_document(actor, booking.booking_id, document_id),
        lambda: world.bookings.request_extraction(actor, booking.booking_id, document_id),
        lambda: world.bookings.cancel(actor, booking.booking_id),
        lambda: world.bookings.book(actor, booking.booking_id, [booked.version]),
    ]
    for attempt in read_only:
        with pytest.raises(Conflict):
            attempt()


def test_booking_refuses_when_the_sheet_changed_after_it_was_read(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extracted(world, booking.booking_id, document_id, actor, COMPLETE)
    current = world.bookings.get(actor.user_id, booking.booking_id)
    _, _, _, sheet = world.store.booking_parts(booking.booking_id, sheet=True)
    assert sheet is not None
    booked = replace(current, status=BookingStatus.BOOKED, version=current.version + 1)
    with pytest.raises(Conflict):
        world.store.save_booking(current, booked, actor, sheet_version=sheet.version - 1)
    assert world.bookings.get(actor.user_id, booking.booking_id).status == BookingStatus.DRAFT


def test_throttling_leaves_the_extraction_running_for_a_retry_and_the_last_retry_fails_it(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    with pytest.raises(ExtractionThrottled):
        world.bookings.run_extraction(
            booking.booking_id, extraction.extraction_id, quoting_reader(ExtractionThrottled()), world.storage
        )
    running = world.bookings.extraction(actor.user_id, booking.booking_id, extraction.extraction_id)
    assert running.status == ExtractionStatus.RUNNING

    failed = world.bookings.fail_extraction(booking.booking_id, extraction.extraction_id, "Throttled after 5 attempts")
    assert (failed.status, failed.error) == (ExtractionStatus.FAILED, "Throttled after 5 attempts")
    # A redelivered message for a finished extraction changes nothing.
    reader = quoting_reader(COMPLETE)
    assert world.bookings.run_extraction(booking.booking_id, extraction.extraction_id, reader, world.storage) == failed
    assert reader.read_calls == []
    assert world.bookings.fail_extraction(booking.booking_id, extraction.extraction_id, "again") == failed
    assert world.bookings.request_extraction(actor, booking.booking_id, document_id).status == ExtractionStatus.QUEUED


def test_an_unreadable_document_fails_its_extraction_with_the_reason(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    failed = world.bookings.run_extraction(
        booking.booking_id, extraction.extraction_id, quoting_reader(ExtractionFailed("No text layer")), world.storage
    )
    assert (failed.status, failed.error) == (ExtractionStatus.FAILED, "No text layer")
    assert world.bookings.sheet(actor.user_id, booking.booking_id).status == SheetStatus.EMPTY


def test_a_queue_that_cannot_take_the_message_frees_the_document(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    world.queue.broken = True
    with pytest.raises(RuntimeError):
        world.bookings.request_extraction(actor, booking.booking_id, document_id)
    world.queue.broken = False
    assert world.bookings.request_extraction(actor, booking.booking_id, document_id).status == ExtractionStatus.QUEUED


def test_an_extraction_of_a_booking_booked_meanwhile_fails_instead_of_changing_the_sheet(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extracted(world, booking.booking_id, document_id, actor, COMPLETE)
    # Queued before booking (the store allows it while DRAFT), run after.
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    world.bookings.book(actor, booking.booking_id, [world.bookings.get(actor.user_id, booking.booking_id).version])
    outcome = world.bookings.run_extraction(
        booking.booking_id, extraction.extraction_id, quoting_reader({"reference_rate": "EURIBOR"}), world.storage
    )
    assert outcome.status == ExtractionStatus.FAILED
    assert world.bookings.sheet(actor.user_id, booking.booking_id).fields["reference_rate"].value == "SONIA"


# ---- races: another write lands between the read and the write ---------------------------------


def race_once(world: World, method: str, race: Callable[[], object], times: int = 1) -> None:
    """Run ``race`` (another request's write) right before the store's next ``times`` calls of ``method``."""
    original = getattr(world.store, method)
    left = [times]

    def racing(*args: Any, **kwargs: Any) -> Any:
        if left[0]:
            left[0] -= 1
            race()
        return original(*args, **kwargs)

    setattr(world.store, method, racing)


def test_a_change_that_loses_a_race_is_a_412_and_changes_nothing(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    race_once(world, "save_booking", lambda: world.store.add_document(booking, _document(world, booking), 20, actor))
    with pytest.raises(PreconditionFailed):
        world.bookings.revise(actor, booking.booking_id, [1], {"notes": "mine"})
    assert world.bookings.get(actor.user_id, booking.booking_id).terms.notes is None


def _document(world: World, booking: Any) -> DocumentRecord:
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    return DocumentRecord(
        booking_id=booking.booking_id,
        document_id=str(uuid.uuid4()),
        file_name="race.pdf",
        content_type="application/pdf",
        size_bytes=5,
        status=DocumentStatus.AWAITING_UPLOAD,
        created_at=now,
        created_by=booking.owner_id,
        updated_at=now,
        updated_by=booking.owner_id,
        version=1,
    )


def test_a_correction_that_loses_a_race_is_a_412(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    race_once(
        world,
        "save_sheet",
        lambda: world.bookings.correct(actor, booking.booking_id, [0], {"reference_rate": "SONIA"}),
    )
    with pytest.raises(PreconditionFailed):
        world.bookings.correct(actor, booking.booking_id, [0], {"reference_rate": "EURIBOR"})
    assert world.bookings.sheet(actor.user_id, booking.booking_id).fields["reference_rate"].value == "SONIA"


def test_an_extraction_merges_again_on_top_of_a_correction_that_landed_meanwhile(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    correction = {"facility_amount": "24000000"}

    def correct_meanwhile() -> None:
        current = world.bookings.sheet(actor.user_id, booking.booking_id)
        world.bookings.correct(actor, booking.booking_id, [current.version], correction)

    # The first finish marks it RUNNING; the correction lands before the second (the sheet's write).
    original = world.store.finish_extraction
    calls = [0]

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            correct_meanwhile()
        return original(*args, **kwargs)

    world.store.finish_extraction = racing  # type: ignore[method-assign]
    done = world.bookings.run_extraction(
        booking.booking_id, extraction.extraction_id, quoting_reader(COMPLETE), world.storage
    )
    assert done.status == ExtractionStatus.SUCCEEDED
    assert calls[0] == 3  # RUNNING, the refused write, the write merged on top of the correction
    sheet = world.bookings.sheet(actor.user_id, booking.booking_id)
    assert sheet.fields["facility_amount"].value == "24000000.00"
    assert sheet.fields["facility_amount"].corrected_by == actor.user_id
    assert sheet.fields["reference_rate"].value == "SONIA"


def test_an_extraction_whose_sheet_keeps_changing_gives_up_for_a_retry(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    original = world.store.finish_extraction
    rates = iter(["SONIA", "EURIBOR", "SOFR", "ESTR"])

    def racing(*args: Any, sheet: Any = None, **kwargs: Any) -> Any:
        if sheet is not None:
            current = world.bookings.sheet(actor.user_id, booking.booking_id)
            world.bookings.correct(actor, booking.booking_id, [current.version], {"reference_rate": next(rates)})
        return original(*args, sheet=sheet, **kwargs)

    world.store.finish_extraction = racing  # type: ignore[method-assign]
    with pytest.raises(Conflict, match="kept changing"):
        world.bookings.run_extraction(
            booking.booking_id, extraction.extraction_id, quoting_reader(COMPLETE), world.storage
        )
    assert world.bookings.extraction(actor.user_id, booking.booking_id, extraction.extraction_id).status == (
        ExtractionStatus.RUNNING
    )


def test_an_extraction_of_a_vanished_document_fails_and_unknown_extractions_are_not_found(world: World) -> None:
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    extraction = world.bookings.request_extraction(actor, booking.booking_id, document_id)
    world.dynamodb.delete_item(
        TableName=world.store._table,  # damaged data: the document item is gone under a running extraction
        Key={"PK": {"S": f"BOOKING#{booking.booking_id}"}, "SK": {"S": f"DOC#{document_id}"}},
    )
    reader = quoting_reader(COMPLETE)
    failed = world.bookings.run_extraction(booking.booking_id, extraction.extraction_id, reader, world.storage)
    assert (failed.status, failed.error) == (ExtractionStatus.FAILED, "The document was deleted")
    assert reader.read_calls == []
    for attempt in (
        lambda: world.bookings.run_extraction(booking.booking_id, "no-such-extraction", reader, world.storage),
        lambda: world.bookings.fail_extraction(booking.booking_id, "no-such-extraction", "x"),
        lambda: world.bookings.extraction(actor.user_id, booking.booking_id, "no-such-extraction"),
    ):
        with pytest.raises(NotFound):
            attempt()


def test_a_stage_without_an_extraction_queue_answers_503_and_frees_the_document(
    dynamodb: Any, tables: dict[str, str]
) -> None:
    from lendbridge.errors import DependencyUnavailable

    world = World(dynamodb, tables)
    world.bookings.queue = None
    actor = officer()
    booking = world.bookings.create(actor, terms())
    document_id = uploaded(world, actor, booking.booking_id)
    with pytest.raises(DependencyUnavailable):
        world.bookings.request_extraction(actor, booking.booking_id, document_id)
    _, document, _, _ = world.store.booking_parts(booking.booking_id, document_id=document_id)
    assert document is not None
    assert document.active_extraction is None
