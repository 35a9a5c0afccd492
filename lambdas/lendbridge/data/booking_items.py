"""The items of a booking's collection in the main table, and what their audit entries show.

One partition per booking: ``BOOKING#<id>`` holds the booking (``BOOKING``), its sheet
(``SHEET``), its documents (``DOC#<id>``) and its extractions (``EXTRACTION#<id>``); see
docs/data-model.md. The owner's lists read the booking items through GSI1 (all but cancelled,
newest first) and GSI2 (one status, newest first)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lendbridge.domain.booking_sheet import FieldSource, SheetField, masked
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
from lendbridge.timestamps import iso, parse_time

BOOKING = "BOOKING"
SHEET = "SHEET"
DOCUMENT_PREFIX = "DOC#"
EXTRACTION_PREFIX = "EXTRACTION#"


def booking_pk(booking_id: str) -> str:
    return f"BOOKING#{booking_id}"


def owner_key(owner_id: str) -> str:
    return f"BOOKER#{owner_id}"


def document_sk(document_id: str) -> str:
    return f"{DOCUMENT_PREFIX}{document_id}"


def extraction_sk(extraction_id: str) -> str:
    return f"{EXTRACTION_PREFIX}{extraction_id}"


def _time(value: Any) -> Any:
    return None if value is None else iso(value)


def _required_time(value: Any) -> Any:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed


# ---- booking --------------------------------------------------------------------------------


def booking_item(booking: Booking) -> dict[str, Any]:
    created = iso(booking.created_at)
    terms = booking.terms
    item: dict[str, Any] = {
        "PK": booking_pk(booking.booking_id),
        "SK": BOOKING,
        "entity": "booking",
        "booking_id": booking.booking_id,
        "customer_name": terms.customer_name,
        "product_id": terms.product_id,
        "product_name": booking.product_name,
        "amount": terms.amount,
        "currency": terms.currency,
        "term_months": terms.term_months,
        "notes": terms.notes,
        "status": booking.status.value,
        "document_count": booking.document_count,
        "version": booking.version,
        "created_at": created,
        "created_by": booking.owner_id,
        "updated_at": iso(booking.updated_at),
        "updated_by": booking.updated_by,
        "booked_at": _time(booking.booked_at),
        "deleted_at": _time(booking.deleted_at),
        "deleted_by": booking.deleted_by,
        # GSI2: the owner's bookings in one status; GSI1: all but the cancelled ones.
        "GSI2PK": owner_key(booking.owner_id),
        "GSI2SK": f"{booking.status.value}#{created}#{booking.booking_id}",
    }
    if booking.status != BookingStatus.CANCELLED:
        item["GSI1PK"] = owner_key(booking.owner_id)
        item["GSI1SK"] = f"{created}#{booking.booking_id}"
    return item


def booking_of(item: Mapping[str, Any]) -> Booking:
    term = item.get("term_months")
    return Booking(
        booking_id=str(item["booking_id"]),
        owner_id=str(item["created_by"]),
        terms=BookingTerms(
            customer_name=str(item["customer_name"]),
            product_id=str(item["product_id"]),
            amount=Decimal(item["amount"]),
            currency=str(item["currency"]),
            term_months=None if term is None else int(term),
            notes=item.get("notes"),
        ),
        product_name=str(item["product_name"]),
        status=BookingStatus(item["status"]),
        document_count=int(item.get("document_count", 0)),
        version=int(item["version"]),
        created_at=_required_time(item["created_at"]),
        updated_at=_required_time(item["updated_at"]),
        updated_by=str(item["updated_by"]),
        booked_at=parse_time(item.get("booked_at")),
        deleted_at=parse_time(item.get("deleted_at")),
        deleted_by=item.get("deleted_by"),
    )


def audited_booking(booking: Booking | None) -> dict[str, Any] | None:
    if booking is None:
        return None
    terms = booking.terms
    return {
        "customer_name": terms.customer_name,
        "product_id": terms.product_id,
        "amount": terms.amount,
        "currency": terms.currency,
        "term_months": terms.term_months,
        "notes": terms.notes,
        "status": booking.status.value,
        "version": booking.version,
    }


# ---- documents ------------------------------------------------------------------------------


def document_item(document: DocumentRecord) -> dict[str, Any]:
    return {
        "PK": booking_pk(document.booking_id),
        "SK": document_sk(document.document_id),
        "entity": "document",
        "booking_id": document.booking_id,
        "document_id": document.document_id,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "status": document.status.value,
        "object_key": document.object_key,
        "sha256": document.sha256,
        "uploaded_at": _time(document.uploaded_at),
        "rejection_reason": document.rejection_reason,
        "active_extraction": document.active_extraction,
        "version": document.version,
        "created_at": iso(document.created_at),
        "created_by": document.created_by,
        "updated_at": iso(document.updated_at),
        "updated_by": document.updated_by,
    }


def document_of(item: Mapping[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        booking_id=str(item["booking_id"]),
        document_id=str(item["document_id"]),
        file_name=str(item["file_name"]),
        content_type=str(item["content_type"]),
        size_bytes=int(item["size_bytes"]),
        status=DocumentStatus(item["status"]),
        created_at=_required_time(item["created_at"]),
        created_by=str(item["created_by"]),
        updated_at=_required_time(item["updated_at"]),
        updated_by=str(item["updated_by"]),
        version=int(item["version"]),
        sha256=item.get("sha256"),
        uploaded_at=parse_time(item.get("uploaded_at")),
        rejection_reason=item.get("rejection_reason"),
        active_extraction=item.get("active_extraction"),
    )


def audited_document(document: DocumentRecord | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {
        "document_id": document.document_id,
        "file_name": document.file_name,
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "status": document.status.value,
        "sha256": document.sha256,
        "rejection_reason": document.rejection_reason,
    }


# ---- extractions ----------------------------------------------------------------------------


def extraction_item(extraction: ExtractionRecord) -> dict[str, Any]:
    return {
        "PK": booking_pk(extraction.booking_id),
        "SK": extraction_sk(extraction.extraction_id),
        "entity": "extraction",
        "booking_id": extraction.booking_id,
        "extraction_id": extraction.extraction_id,
        "document_id": extraction.document_id,
        "status": extraction.status.value,
        "error": extraction.error,
        "fields_found": extraction.fields_found,
        "started_at": _time(extraction.started_at),
        "finished_at": _time(extraction.finished_at),
        "version": extraction.version,
        "created_at": iso(extraction.created_at),
        "created_by": extraction.owner_id,
        "updated_at": iso(extraction.updated_at),
    }


def extraction_of(item: Mapping[str, Any]) -> ExtractionRecord:
    return ExtractionRecord(
        booking_id=str(item["booking_id"]),
        extraction_id=str(item["extraction_id"]),
        document_id=str(item["document_id"]),
        owner_id=str(item["created_by"]),
        status=ExtractionStatus(item["status"]),
        created_at=_required_time(item["created_at"]),
        updated_at=_required_time(item["updated_at"]),
        version=int(item["version"]),
        started_at=parse_time(item.get("started_at")),
        finished_at=parse_time(item.get("finished_at")),
        error=item.get("error"),
        fields_found=int(item.get("fields_found", 0)),
    )


def audited_extraction(extraction: ExtractionRecord | None) -> dict[str, Any] | None:
    if extraction is None:
        return None
    return {
        "document_id": extraction.document_id,
        "status": extraction.status.value,
        "error": extraction.error,
        "fields_found": extraction.fields_found,
    }


# ---- booking sheet --------------------------------------------------------------------------


def sheet_item(sheet: Sheet) -> dict[str, Any]:
    return {
        "PK": booking_pk(sheet.booking_id),
        "SK": SHEET,
        "entity": "booking_sheet",
        "booking_id": sheet.booking_id,
        "fields": {name: _field_value(value) for name, value in sheet.fields.items()},
        "status": sheet.status.value,
        "version": sheet.version,
        "updated_at": _time(sheet.updated_at),
        "updated_by": sheet.updated_by,
    }


def _field_value(field: SheetField) -> dict[str, Any]:
    source = field.source
    return {
        "value": field.value,
        # DynamoDB numbers are exact decimals; a float goes through its shortest text form.
        "confidence": Decimal(str(field.confidence)),
        "source": None
        if source is None
        else {"document_id": source.document_id, "page": source.page, "quote": source.quote},
        "extracted_at": iso(field.extracted_at),
        "corrected_by": field.corrected_by,
    }


def sheet_of(item: Mapping[str, Any]) -> Sheet:
    return Sheet(
        booking_id=str(item["booking_id"]),
        fields={str(name): _field_of(value) for name, value in dict(item.get("fields") or {}).items()},
        version=int(item["version"]),
        updated_at=parse_time(item.get("updated_at")),
        updated_by=item.get("updated_by"),
    )


def _field_of(value: Mapping[str, Any]) -> SheetField:
    source = value.get("source")
    page = source.get("page") if source else None
    return SheetField(
        value=str(value["value"]),
        confidence=float(value["confidence"]),
        source=None
        if not source
        else FieldSource(
            document_id=str(source["document_id"]), page=None if page is None else int(page), quote=source.get("quote")
        ),
        extracted_at=_required_time(value["extracted_at"]),
        corrected_by=value.get("corrected_by"),
    )


def audited_sheet_change(before: Sheet, after: Sheet) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, with the tax id masked: an audit entry never holds it."""
    old, new = masked(before.fields), masked(after.fields)
    changed = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))

    def shown(fields: Mapping[str, SheetField]) -> dict[str, Any]:
        return {
            name: {"value": fields[name].value, "corrected_by": fields[name].corrected_by}
            for name in changed
            if name in fields
        }

    return (
        {"fields": shown(old), "version": before.version},
        {"fields": shown(new), "version": after.version},
    )
