"""Stand-ins for the bookings module's outside parts (object storage, the extraction queue and
the document reader), a product catalogue and a complete booking sheet, shared by the unit tests of the use cases and
the DynamoDB Local tests of the booking store."""

from __future__ import annotations

from dataclasses import dataclass, field

from lendbridge.domain.extraction import ExtractedField
from lendbridge.domain.ports import PresignedUpload, StoredObject
from lendbridge.domain.products import parse_catalogue

# Two products: the GBP term loan most tests book, and a EUR bridge for currency and term rules.
PRODUCTS = parse_catalogue(
    [
        {
            "product_id": "term-loan-gbp",
            "name": "Term loan (GBP)",
            "description": "Amortising term loan",
            "currency": "GBP",
            "min_amount": "50000.00",
            "max_amount": "50000000.00",
            "min_term_months": 12,
            "max_term_months": 120,
            "rate_type": "FLOATING",
        },
        {
            "product_id": "bridge-eur",
            "name": "Bridge (EUR)",
            "description": "Bullet bridge loan",
            "currency": "EUR",
            "min_amount": "250000.00",
            "max_amount": "10000000.00",
            "min_term_months": 3,
            "max_term_months": 24,
            "rate_type": "FIXED",
        },
    ]
)

TAX_ID = "GB123456789"
# Every field a booking sheet can hold, each valid: a sheet made of these is COMPLETE.
COMPLETE = {
    "borrower_legal_name": "Harbourline Logistics Ltd",
    "borrower_address": "14 Quay Street, Bristol BS1 4DJ, United Kingdom",
    "borrower_tax_id": TAX_ID,
    "facility_amount": "25000000.00",
    "currency": "GBP",
    "interest_rate_type": "FLOATING",
    "interest_rate_or_margin": "2.75",
    "reference_rate": "SONIA",
    "maturity_date": "2031-06-30",
    "repayment_type": "AMORTIZING",
    "collateral_description": "First-ranking charge over the warehouse at Avonmouth",
    "signing_date": "2026-06-30",
}


@dataclass
class FakeStorage:
    objects: dict[str, bytes] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    presigned: list[tuple[str, str, int, int]] = field(default_factory=list)

    def presign_put(self, key: str, content_type: str, size_bytes: int, expires_in: int) -> PresignedUpload:
        self.presigned.append((key, content_type, size_bytes, expires_in))
        return PresignedUpload(f"https://bucket.example/{key}?sig", {"Content-Type": content_type}, expires_in)

    def presign_get(self, key: str, expires_in: int) -> str:
        return f"https://bucket.example/{key}?get&expires={expires_in}"

    def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.objects.pop(key, None)

    def head(self, key: str) -> StoredObject | None:
        return StoredObject(len(self.objects[key])) if key in self.objects else None

    def read(self, key: str) -> bytes:
        return self.objects[key]


@dataclass
class FakeQueue:
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    broken: bool = False

    def enqueue(self, booking_id: str, document_id: str, extraction_id: str) -> None:
        if self.broken:
            raise RuntimeError("queue down")
        self.messages.append((booking_id, document_id, extraction_id))


class FakeReader:
    """Finds ``found`` (or raises it) in any document; ``quoted`` gives each field the source
    quote ``"<name>: <value>"``, as a reader quoting the document would."""

    name = "fake"

    def __init__(self, found: dict[str, str] | Exception, confidence: float = 0.8, *, quoted: bool = False) -> None:
        self.found = found
        self.confidence = confidence
        self.quoted = quoted
        self.read_calls: list[tuple[bytes, str]] = []

    def read(self, content: bytes, content_type: str) -> list[ExtractedField]:
        self.read_calls.append((content, content_type))
        if isinstance(self.found, Exception):
            raise self.found
        return [
            ExtractedField(name, value, self.confidence, 1, f"{name}: {value}" if self.quoted else None)
            for name, value in self.found.items()
        ]
