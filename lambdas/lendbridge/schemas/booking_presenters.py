"""How bookings, their documents, extractions and sheets, and the product catalogue are shown:
every response model of the bookings routes is filled here (the lending ones in ``presenters``).
Money is text with two places, times are ISO 8601 UTC, a borrower's tax id only masked."""

from __future__ import annotations

from typing import Any

from lendbridge.domain.booking_sheet import SHEET_FIELDS, SheetField, masked, missing_fields
from lendbridge.domain.bookings import Booking, DocumentRecord, ExtractionRecord, Sheet
from lendbridge.domain.money import as_text
from lendbridge.domain.products import Product
from lendbridge.schemas.bookings import (
    BookingOut,
    DocumentOut,
    ExtractionOut,
    ProductOut,
    SheetFieldOut,
    SheetOut,
    SourceOut,
)
from lendbridge.timestamps import iso


def product(shown: Product) -> ProductOut:
    return ProductOut(
        product_id=shown.product_id,
        name=shown.name,
        description=shown.description,
        currency=shown.currency,
        min_amount=as_text(shown.min_amount),
        max_amount=as_text(shown.max_amount),
        min_term_months=shown.min_term_months,
        max_term_months=shown.max_term_months,
        rate_type=shown.rate_type,  # type: ignore[arg-type]  # checked at synth (RATE_TYPES)
    )


def _optional_time(value: Any) -> str | None:
    return None if value is None else iso(value)


def booking(shown: Booking) -> BookingOut:
    terms = shown.terms
    return BookingOut(
        booking_id=shown.booking_id,
        customer_name=terms.customer_name,
        product_id=terms.product_id,
        product_name=shown.product_name,
        amount=as_text(terms.amount),
        currency=terms.currency,
        term_months=terms.term_months,
        notes=terms.notes,
        status=shown.status.value,
        document_count=shown.document_count,
        version=shown.version,
        created_at=iso(shown.created_at),
        created_by=shown.owner_id,
        updated_at=iso(shown.updated_at),
        updated_by=shown.updated_by,
        booked_at=_optional_time(shown.booked_at),
        deleted_at=_optional_time(shown.deleted_at),
        deleted_by=shown.deleted_by,
    )


def document(shown: DocumentRecord, download_url: str | None = None) -> DocumentOut:
    return DocumentOut(
        document_id=shown.document_id,
        booking_id=shown.booking_id,
        file_name=shown.file_name,
        content_type=shown.content_type,
        size_bytes=shown.size_bytes,
        status=shown.status.value,
        sha256=shown.sha256,
        uploaded_at=_optional_time(shown.uploaded_at),
        rejection_reason=shown.rejection_reason,
        created_at=iso(shown.created_at),
        download_url=download_url,
    )


def extraction(shown: ExtractionRecord) -> ExtractionOut:
    return ExtractionOut(
        extraction_id=shown.extraction_id,
        booking_id=shown.booking_id,
        document_id=shown.document_id,
        status=shown.status.value,
        error=shown.error,
        started_at=_optional_time(shown.started_at),
        finished_at=_optional_time(shown.finished_at),
        fields_found=shown.fields_found,
    )


def _sheet_field(value: SheetField) -> SheetFieldOut:
    source = value.source
    return SheetFieldOut(
        value=value.value,
        confidence=value.confidence,
        source=None
        if source is None
        else SourceOut(document_id=source.document_id, page=source.page, quote=source.quote),
        extracted_at=iso(value.extracted_at),
        corrected_by=value.corrected_by,
    )


def sheet(shown: Sheet) -> SheetOut:
    """The tax id only ever leaves masked."""
    fields = masked(shown.fields)
    return SheetOut(
        booking_id=shown.booking_id,
        status=shown.status.value,
        fields={name: _sheet_field(fields[name]) for name in SHEET_FIELDS if name in fields},
        missing_fields=missing_fields(shown.fields),
        version=shown.version,
    )
