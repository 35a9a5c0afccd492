"""The bookings function's reads through its Lambda entry point, on stand-in services: each
versioned resource answers with its version as ETag and 304 when the caller's copy is current,
shown by the booking presenters (the sheet's tax id masked). Over DynamoDB Local and HTTP:
tests/integration/test_bookings.py and tests/e2e/test_bookings.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.domain.booking_service import DocumentView
from lendbridge.domain.booking_sheet import FieldSource, SheetField
from lendbridge.domain.bookings import (
    Booking,
    BookingStatus,
    BookingTerms,
    DocumentRecord,
    DocumentStatus,
    ExtractionRecord,
    ExtractionStatus,
    Sheet,
)
from lendbridge.handlers import bookings as bookings_handler
from tests.events import FakeContext, api_event, body_of, header_of

OWNER = "officer-1"
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
BOOKING = Booking(
    booking_id="b-1",
    owner_id=OWNER,
    terms=BookingTerms("Northwind Traders Ltd.", "term-loan-eur", Decimal("250000"), "EUR", 36, None),
    product_name="Term loan (EUR)",
    status=BookingStatus.DRAFT,
    document_count=1,
    version=4,
    created_at=AT,
    updated_at=AT,
    updated_by=OWNER,
)
DOCUMENT = DocumentRecord(
    booking_id="b-1",
    document_id="d-1",
    file_name="statement.pdf",
    content_type="application/pdf",
    size_bytes=1024,
    status=DocumentStatus.UPLOADED,
    created_at=AT,
    created_by=OWNER,
    updated_at=AT,
    updated_by=OWNER,
    version=2,
    sha256="ab" * 32,
    uploaded_at=AT,
)
EXTRACTION = ExtractionRecord(
    booking_id="b-1",
    extraction_id="x-1",
    document_id="d-1",
    owner_id=OWNER,
    status=ExtractionStatus.SUCCEEDED,
    created_at=AT,
    updated_at=AT,
    version=3,
    started_at=AT,
    finished_at=AT,
    fields_found=1,
)
SHEET = Sheet(
    booking_id="b-1",
    fields={"borrower_tax_id": SheetField("12-3456789", 0.9, FieldSource("d-1", 1, "EIN on page 1"), AT)},
    version=5,
)


@dataclass
class FakeBookings:
    asked: list[tuple[str, ...]] = field(default_factory=list)

    def get(self, caller: str, booking_id: str) -> Booking:
        self.asked.append(("get", caller, booking_id))
        return BOOKING

    def document(self, caller: str, booking_id: str, document_id: str) -> DocumentView:
        self.asked.append(("document", caller, booking_id, document_id))
        return DocumentView(DOCUMENT, "https://s3.example/download")

    def extraction(self, caller: str, booking_id: str, extraction_id: str) -> ExtractionRecord:
        self.asked.append(("extraction", caller, booking_id, extraction_id))
        return EXTRACTION

    def sheet(self, caller: str, booking_id: str) -> Sheet:
        self.asked.append(("sheet", caller, booking_id))
        return SHEET


@dataclass
class FakeServices:
    bookings: FakeBookings = field(default_factory=FakeBookings)


@pytest.fixture
def services() -> Iterator[FakeServices]:
    fake = FakeServices()
    bookings_handler.services.override(fake)  # type: ignore[arg-type]
    yield fake
    bookings_handler.services.reset()


READS = [
    ("/v1/loan-bookings/b-1", "/v1/loan-bookings/{booking_id}", {"booking_id": "b-1"}, '"4"'),
    (
        "/v1/loan-bookings/b-1/documents/d-1",
        "/v1/loan-bookings/{booking_id}/documents/{document_id}",
        {"booking_id": "b-1", "document_id": "d-1"},
        '"2"',
    ),
    (
        "/v1/loan-bookings/b-1/extractions/x-1",
        "/v1/loan-bookings/{booking_id}/extractions/{extraction_id}",
        {"booking_id": "b-1", "extraction_id": "x-1"},
        '"3"',
    ),
    (
        "/v1/loan-bookings/b-1/booking-sheet",
        "/v1/loan-bookings/{booking_id}/booking-sheet",
        {"booking_id": "b-1"},
        '"5"',
    ),
]


def read(path: str, resource: str, parameters: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    event = api_event("GET", path, resource=resource, path_parameters=parameters, headers=headers, user_id=OWNER)
    return bookings_handler.handler(event, FakeContext())


@pytest.mark.parametrize(("path", "resource", "parameters", "tag"), READS)
def test_a_read_answers_the_version_as_etag_and_304_for_the_current_copy(
    services: FakeServices, path: str, resource: str, parameters: dict[str, str], tag: str
) -> None:
    shown = read(path, resource, parameters)
    assert (shown["statusCode"], header_of(shown, "ETag")) == (200, tag)
    assert body_of(shown)["data"]["booking_id"] == "b-1"
    current = read(path, resource, parameters, {"If-None-Match": tag})
    assert (current["statusCode"], current["body"], header_of(current, "ETag")) == (304, "", tag)
    stale = read(path, resource, parameters, {"If-None-Match": '"1"'})
    assert stale["statusCode"] == 200
    assert {asked[1] for asked in services.bookings.asked} == {OWNER}


def test_each_record_is_shown_by_its_presenter(services: FakeServices) -> None:
    booking, document, extraction, sheet = (body_of(read(*case[:3]))["data"] for case in READS)
    assert (booking["amount"], booking["created_at"], booking["booked_at"]) == (
        "250000.00",
        "2026-03-01T09:30:00.000000Z",
        None,
    )
    assert (document["download_url"], document["status"]) == ("https://s3.example/download", "UPLOADED")
    assert (extraction["status"], extraction["fields_found"]) == ("SUCCEEDED", 1)
    tax_id = sheet["fields"]["borrower_tax_id"]
    assert tax_id["value"] == "****6789"
    assert "12-3456789" not in str(sheet)
    assert "borrower_tax_id" not in sheet["missing_fields"]


def with_query(path: str, resource: str, parameters: dict[str, str], fields: str) -> Any:
    event = api_event(
        "GET", path, resource=resource, path_parameters=parameters, query={"fields": fields}, user_id=OWNER
    )
    return bookings_handler.handler(event, FakeContext())


@pytest.mark.parametrize(("path", "resource", "parameters", "tag"), READS)
def test_fields_returns_only_the_named_top_level_fields_with_the_same_etag(
    services: FakeServices, path: str, resource: str, parameters: dict[str, str], tag: str
) -> None:
    # The contract's `fields=a,b` on single-resource GETs was honoured by loans only.
    whole = body_of(read(path, resource, parameters))["data"]
    shown = with_query(path, resource, parameters, "booking_id, status")
    assert (shown["statusCode"], header_of(shown, "ETag")) == (200, tag)
    assert body_of(shown)["data"] == {"booking_id": "b-1", "status": whole["status"]}


@pytest.mark.parametrize(("path", "resource", "parameters", "tag"), READS)
def test_an_unknown_field_is_a_400_naming_it(
    services: FakeServices, path: str, resource: str, parameters: dict[str, str], tag: str
) -> None:
    refused = with_query(path, resource, parameters, "booking_id,owner_secret")
    assert refused["statusCode"] == 400
    assert body_of(refused)["field_errors"] == {"fields": ["Unknown field(s): owner_secret"]}
