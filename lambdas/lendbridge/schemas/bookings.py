"""Bodies of the commercial booking routes, and how bookings, documents, extractions, the
booking sheet and products are presented."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from lendbridge.domain.booking_sheet import SHEET_FIELDS, SheetField, masked, missing_fields
from lendbridge.domain.bookings import (
    MAX_DOCUMENT_BYTES,
    Booking,
    DocumentRecord,
    ExtractionRecord,
    Sheet,
)
from lendbridge.domain.money import as_text
from lendbridge.domain.products import PRODUCT_ID_PATTERN, Product
from lendbridge.schemas.common import ASCII_DECIMAL, Omittable, PlainText, Strict, TermMonths
from lendbridge.timestamps import iso

# Letters (Latin, accented included), digits, spaces, '-' and '.', with a letter or digit
# somewhere; surrounding spaces are trimmed before the rule and the length are checked.
_NAME_CHARACTERS = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
CUSTOMER_NAME_PATTERN = rf"^[{_NAME_CHARACTERS} .-]*[{_NAME_CHARACTERS}][{_NAME_CHARACTERS} .-]*$"
# More than 0, at most 9,999,999,999.99, at most two significant decimal places, as text.
BOOKING_AMOUNT_PATTERN = r"^(?:0*[1-9][0-9]{0,9}(?:\.[0-9]{1,2}0*)?|0+\.(?:0[1-9]|[1-9][0-9]?)0*)$"
MAX_BOOKING_AMOUNT = Decimal("9999999999.99")
# A file name is kept for people to read; it never reaches an object key.
_NOT_IN_FILE_NAMES = r"\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069/\\"
FILE_NAME_PATTERN = rf"^[^{_NOT_IN_FILE_NAMES}]*[^{_NOT_IN_FILE_NAMES} .][^{_NOT_IN_FILE_NAMES}]*$"

CustomerName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=CUSTOMER_NAME_PATTERN,
        examples=["Northwind Traders Ltd."],
        description="1-100 characters: letters, digits, spaces, '-' and '.'; trimmed",
    ),
]
ProductId = Annotated[str, Field(pattern=PRODUCT_ID_PATTERN, examples=["term-loan-eur"])]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"], description="ISO 4217 code; must be the product's currency")
]
BookingAmount = Annotated[
    Decimal,
    Field(
        gt=0,
        le=MAX_BOOKING_AMOUNT,
        max_digits=12,
        decimal_places=2,
        examples=["2500000.00"],
        description="More than 0 with at most two decimal places, within the product's bounds",
    ),
    ASCII_DECIMAL.documenting(BOOKING_AMOUNT_PATTERN, "0.01"),
]
Notes = Annotated[PlainText, Field(max_length=2000, description="Free text for the booking's file")]
BookingStatusName = Literal["DRAFT", "BOOKED", "CANCELLED"]


class CreateBookingRequest(Strict):
    EXAMPLE = {
        "customer_name": "Northwind Traders Ltd.",
        "product_id": "term-loan-eur",
        "amount": "2500000.00",
        "currency": "EUR",
        "term_months": 60,
        "notes": "Refinancing of the Rotterdam warehouse",
    }

    customer_name: CustomerName
    product_id: ProductId
    amount: BookingAmount
    currency: Currency
    term_months: Omittable[TermMonths] = None
    notes: Omittable[Notes] = None


class PatchBookingRequest(Strict):
    EXAMPLE = {"amount": "2750000.00", "notes": "Amount raised after the credit committee"}
    AT_LEAST_ONE_OF = ("customer_name", "product_id", "amount", "currency", "term_months", "notes")

    customer_name: Omittable[CustomerName] = None
    product_id: Omittable[ProductId] = None
    amount: Omittable[BookingAmount] = None
    currency: Omittable[Currency] = None
    term_months: Omittable[TermMonths] = None
    notes: Omittable[Notes] = None

    @model_validator(mode="after")
    def _names_a_field(self) -> PatchBookingRequest:
        if not self.model_fields_set:
            raise ValueError(f"Name at least one of {', '.join(self.AT_LEAST_ONE_OF)}")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class CreateDocumentRequest(Strict):
    EXAMPLE = {"file_name": "facility-agreement.pdf", "content_type": "application/pdf", "size_bytes": 482133}

    file_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            pattern=FILE_NAME_PATTERN,
            description="Shown back as sent; never used to store the file",
        ),
    ]
    content_type: Annotated[Literal["application/pdf", "image/png", "image/jpeg", "image/tiff"], Field()]
    size_bytes: Annotated[int, Field(ge=1, le=MAX_DOCUMENT_BYTES, strict=True, description="1 B to 20 MB")]


_FIELD_NAMES = ", ".join(SHEET_FIELDS)
# Strict: a boolean is neither an amount nor a count (lax validation would read false as 0).
SheetValue = (
    Annotated[PlainText, Field(min_length=1, max_length=1000)]
    | Annotated[Decimal, Field(strict=True)]
    | Annotated[int, Field(strict=True)]
)


class PatchSheetRequest(Strict):
    EXAMPLE = {"fields": {"facility_amount": "2500000.00", "maturity_date": "2031-06-30"}}

    fields: Annotated[
        dict[str, SheetValue],
        Field(
            min_length=1,
            max_length=len(SHEET_FIELDS),
            description=f"Corrections by field name ({_FIELD_NAMES}); amounts as decimals, dates as YYYY-MM-DD",
            json_schema_extra={"propertyNames": {"enum": list(SHEET_FIELDS)}},
        ),
    ]


# ---- responses ------------------------------------------------------------------------------


class ProductOut(BaseModel):
    product_id: str
    name: str
    description: str
    currency: str
    min_amount: str
    max_amount: str
    min_term_months: int
    max_term_months: int
    rate_type: Literal["FIXED", "FLOATING"]


class ProductList(BaseModel):
    products: list[ProductOut]
    count: int
    has_more: bool
    next_token: str | None


class BookingOut(BaseModel):
    booking_id: str
    customer_name: str
    product_id: str
    product_name: str
    amount: str
    currency: str
    term_months: int | None
    notes: str | None
    status: BookingStatusName
    document_count: int
    version: int
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    booked_at: str | None = Field(None, description="Set once the booking is BOOKED")
    deleted_at: str | None = Field(None, description="Set once the booking is CANCELLED")
    deleted_by: str | None = Field(None, description="Set once the booking is CANCELLED")


class BookingList(BaseModel):
    bookings: list[BookingOut]
    count: int
    has_more: bool
    next_token: str | None


class DocumentOut(BaseModel):
    document_id: str
    booking_id: str
    file_name: str
    content_type: str
    size_bytes: int
    status: Literal["AWAITING_UPLOAD", "UPLOADED", "REJECTED"]
    sha256: str | None = None
    uploaded_at: str | None = None
    rejection_reason: str | None = None
    created_at: str
    download_url: str | None = Field(None, description="Presigned GET, valid 5 minutes; only once UPLOADED")


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    count: int
    has_more: bool
    next_token: str | None


class UploadOut(BaseModel):
    document_id: str
    upload_url: str = Field(description="Presigned S3 URL: PUT the file there, with exactly upload_headers")
    upload_method: Literal["PUT"]
    upload_headers: dict[str, str] = Field(description="Headers the signature binds (Content-Type, Content-Length)")
    expires_in: int = Field(description="Seconds the URL stays valid")
    document: DocumentOut


class ExtractionOut(BaseModel):
    extraction_id: str
    booking_id: str
    document_id: str
    status: Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    fields_found: int


class SourceOut(BaseModel):
    document_id: str
    page: int | None = None
    quote: str | None = None


class SheetFieldOut(BaseModel):
    value: str
    confidence: float = Field(ge=0, le=1)
    source: SourceOut | None
    extracted_at: str
    corrected_by: str | None = None


class SheetOut(BaseModel):
    booking_id: str
    status: Literal["EMPTY", "PARTIAL", "COMPLETE"]
    fields: dict[str, SheetFieldOut]
    missing_fields: list[str]
    version: int


def present_product(product: Product) -> ProductOut:
    return ProductOut(
        product_id=product.product_id,
        name=product.name,
        description=product.description,
        currency=product.currency,
        min_amount=as_text(product.min_amount),
        max_amount=as_text(product.max_amount),
        min_term_months=product.min_term_months,
        max_term_months=product.max_term_months,
        rate_type=product.rate_type,  # type: ignore[arg-type]  # checked at synth (RATE_TYPES)
    )


def _optional_time(value: Any) -> str | None:
    return None if value is None else iso(value)


def present_booking(booking: Booking) -> BookingOut:
    terms = booking.terms
    return BookingOut(
        booking_id=booking.booking_id,
        customer_name=terms.customer_name,
        product_id=terms.product_id,
        product_name=booking.product_name,
        amount=as_text(terms.amount),
        currency=terms.currency,
        term_months=terms.term_months,
        notes=terms.notes,
        status=booking.status.value,
        document_count=booking.document_count,
        version=booking.version,
        created_at=iso(booking.created_at),
        created_by=booking.owner_id,
        updated_at=iso(booking.updated_at),
        updated_by=booking.updated_by,
        booked_at=_optional_time(booking.booked_at),
        deleted_at=_optional_time(booking.deleted_at),
        deleted_by=booking.deleted_by,
    )


def present_document(document: DocumentRecord, download_url: str | None = None) -> DocumentOut:
    return DocumentOut(
        document_id=document.document_id,
        booking_id=document.booking_id,
        file_name=document.file_name,
        content_type=document.content_type,
        size_bytes=document.size_bytes,
        status=document.status.value,
        sha256=document.sha256,
        uploaded_at=_optional_time(document.uploaded_at),
        rejection_reason=document.rejection_reason,
        created_at=iso(document.created_at),
        download_url=download_url,
    )


def present_extraction(extraction: ExtractionRecord) -> ExtractionOut:
    return ExtractionOut(
        extraction_id=extraction.extraction_id,
        booking_id=extraction.booking_id,
        document_id=extraction.document_id,
        status=extraction.status.value,
        error=extraction.error,
        started_at=_optional_time(extraction.started_at),
        finished_at=_optional_time(extraction.finished_at),
        fields_found=extraction.fields_found,
    )


def _present_field(value: SheetField) -> SheetFieldOut:
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


def present_sheet(sheet: Sheet) -> SheetOut:
    """The tax id only ever leaves masked."""
    shown = masked(sheet.fields)
    return SheetOut(
        booking_id=sheet.booking_id,
        status=sheet.status.value,
        fields={name: _present_field(shown[name]) for name in SHEET_FIELDS if name in shown},
        missing_fields=missing_fields(sheet.fields),
        version=sheet.version,
    )
