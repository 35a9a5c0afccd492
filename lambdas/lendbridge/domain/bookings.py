"""Commercial loan bookings: the records and the rules of a booking, its documents, its
extractions and its booking sheet. The use cases are in ``lendbridge.domain.booking_service``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from lendbridge.domain.booking_sheet import SheetField, SheetStatus, sheet_status
from lendbridge.domain.products import Product
from lendbridge.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed

MAX_DOCUMENTS = 20
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
CONTENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/tiff")
# Long enough for a large file on a slow line; the URL is useless once the object exists.
UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 5 * 60


class BookingStatus(StrEnum):
    DRAFT = "DRAFT"
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"


class DocumentStatus(StrEnum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    UPLOADED = "UPLOADED"
    REJECTED = "REJECTED"


class ExtractionStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


ACTIVE_EXTRACTION = frozenset({ExtractionStatus.QUEUED, ExtractionStatus.RUNNING})


@dataclass(frozen=True)
class BookingTerms:
    """What the loan officer states about the facility; checked against the product."""

    customer_name: str
    product_id: str
    amount: Decimal
    currency: str
    term_months: int | None
    notes: str | None


@dataclass(frozen=True)
class Booking:
    booking_id: str
    owner_id: str
    terms: BookingTerms
    product_name: str
    status: BookingStatus
    document_count: int
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    booked_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None


@dataclass(frozen=True)
class DocumentRecord:
    booking_id: str
    document_id: str
    file_name: str
    content_type: str
    size_bytes: int
    status: DocumentStatus
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int
    sha256: str | None = None
    uploaded_at: datetime | None = None
    rejection_reason: str | None = None
    # The extraction QUEUED or RUNNING on it: at most one at a time.
    active_extraction: str | None = None

    @property
    def object_key(self) -> str:
        """Server-made ids only: nothing the client sent reaches the key."""
        return document_key(self.booking_id, self.document_id)


def document_key(booking_id: str, document_id: str) -> str:
    return f"documents/{booking_id}/{document_id}"


@dataclass(frozen=True)
class ExtractionRecord:
    booking_id: str
    extraction_id: str
    document_id: str
    owner_id: str
    status: ExtractionStatus
    created_at: datetime
    updated_at: datetime
    version: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    fields_found: int = 0


@dataclass(frozen=True)
class Sheet:
    """The booking sheet; version 0 until its first write (no item yet)."""

    booking_id: str
    fields: Mapping[str, SheetField] = field(default_factory=dict)
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def status(self) -> SheetStatus:
        return sheet_status(self.fields)


# ---- rules ----------------------------------------------------------------------------------


class BookingChanged(Conflict):
    """Another write changed the booking (or its part) since it was read."""


class TooManyDocuments(ValidationFailed):
    def __init__(self) -> None:
        message = f"A booking holds at most {MAX_DOCUMENTS} documents; delete one first"
        super().__init__(message, field_errors={"booking_id": [message]}, details={"max_documents": MAX_DOCUMENTS})


def not_found(what: str = "Booking") -> NotFound:
    return NotFound(f"{what} not found")


def owned(booking: Booking | None, caller_id: str) -> Booking:
    """Another user's booking does not exist, as far as the caller can tell."""
    if booking is None or booking.owner_id != caller_id:
        raise not_found()
    return booking


def editable(booking: Booking) -> Booking:
    if booking.status == BookingStatus.BOOKED:
        raise Conflict("The booking is BOOKED: it and its sheet are read-only")
    if booking.status == BookingStatus.CANCELLED:
        raise Conflict("The booking is CANCELLED")
    return booking


def at_version(current: int, expected: Iterable[int] | None, what: str) -> None:
    """If-Match: required, and naming the current version."""
    if expected is None:
        raise PreconditionRequired(f"Send If-Match with the {what} version you read (its ETag)")
    if current not in set(expected):
        raise PreconditionFailed(
            f"The {what} is at version {current}, not the one named in If-Match", details={"current_version": current}
        )


def check_terms(terms: BookingTerms, product: Product | None) -> Product:
    """The amount, currency and term must fit the product; every broken rule is named."""
    if product is None:
        raise ValidationFailed(
            "Unknown product", field_errors={"product_id": ["No such product; see GET /v1/products"]}
        )
    errors: dict[str, list[str]] = {}
    if terms.currency != product.currency:
        errors["currency"] = [f"Must be {product.currency}, the currency of product {product.product_id}"]
    if not product.min_amount <= terms.amount <= product.max_amount:
        errors["amount"] = [f"Must be between {product.min_amount} and {product.max_amount} for this product"]
    if terms.term_months is not None and not product.min_term_months <= terms.term_months <= product.max_term_months:
        errors["term_months"] = [
            f"Must be between {product.min_term_months} and {product.max_term_months} months for this product"
        ]
    if errors:
        raise ValidationFailed("The booking does not fit the product", field_errors=errors)
    return product


def check_document(content_type: str, size_bytes: int) -> None:
    errors: dict[str, list[str]] = {}
    if content_type not in CONTENT_TYPES:
        errors["content_type"] = [f"Must be one of {', '.join(CONTENT_TYPES)}"]
    if not 1 <= size_bytes <= MAX_DOCUMENT_BYTES:
        errors["size_bytes"] = [f"Must be between 1 and {MAX_DOCUMENT_BYTES} bytes (20 MB)"]
    if errors:
        raise ValidationFailed("The document cannot be accepted", field_errors=errors)
