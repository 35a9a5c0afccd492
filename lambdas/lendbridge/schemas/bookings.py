"""Bodies of the commercial booking routes (their presenters are in ``lendbridge.schemas.presenters``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from lendbridge.domain.booking_sheet import SHEET_FIELDS
from lendbridge.domain.bookings import (
    MAX_DOCUMENT_BYTES,
)
from lendbridge.domain.products import PRODUCT_ID_PATTERN
from lendbridge.schemas.common import ASCII_DECIMAL, Omittable, PlainText, Strict, TermMonths, selection_of

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


# What a GET with ``fields=a,b`` answers, and the names it takes.
BookingSelection = selection_of(BookingOut)
BOOKING_FIELDS = frozenset(BookingOut.model_fields)
DocumentSelection = selection_of(DocumentOut)
DOCUMENT_FIELDS = frozenset(DocumentOut.model_fields)
ExtractionSelection = selection_of(ExtractionOut)
EXTRACTION_FIELDS = frozenset(ExtractionOut.model_fields)
SheetSelection = selection_of(SheetOut)
# Not SHEET_FIELDS: that name is the sheet's own field names (booking_sheet.SHEET_FIELDS).
SHEET_TOP_FIELDS = frozenset(SheetOut.model_fields)
