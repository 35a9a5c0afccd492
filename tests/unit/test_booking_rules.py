"""The booking rules that need no store: terms against the product, documents' type and size,
ownership, editability, If-Match, with the messages the API answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lendbridge.domain.bookings import (
    MAX_DOCUMENT_BYTES,
    Booking,
    BookingStatus,
    BookingTerms,
    TooManyDocuments,
    at_version,
    check_document,
    check_terms,
    document_key,
    editable,
    owned,
)
from lendbridge.domain.products import Product
from lendbridge.errors import Conflict, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "image/jpeg", "image/tiff"])
@pytest.mark.parametrize("size", [1, MAX_DOCUMENT_BYTES])
def test_the_four_types_from_1_byte_to_20_mb_are_accepted(content_type: str, size: int) -> None:
    check_document(content_type, size)


def test_another_type_or_size_is_refused_naming_each_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_document("application/zip", MAX_DOCUMENT_BYTES + 1)
    assert set(refused.value.field_errors) == {"content_type", "size_bytes"}
    with pytest.raises(ValidationFailed) as empty:
        check_document("image/png", 0)
    assert set(empty.value.field_errors) == {"size_bytes"}


def test_if_match_is_required_and_must_name_the_current_version() -> None:
    at_version(3, [2, 3], "booking")
    with pytest.raises(PreconditionRequired):
        at_version(3, None, "booking")
    with pytest.raises(PreconditionFailed) as stale:
        at_version(3, [2], "booking sheet")
    assert stale.value.details == {"current_version": 3}


def test_a_missing_booking_is_not_found_and_object_keys_hold_server_ids_only() -> None:
    with pytest.raises(NotFound):
        owned(None, "someone")
    assert document_key("b-1", "d-2") == "documents/b-1/d-2"


def product(**changes: object) -> Product:
    base = Product(
        "term-loan-gbp",
        "Term loan (GBP)",
        "Amortising",
        "GBP",
        Decimal("50000.00"),
        Decimal("500000.00"),
        12,
        120,
        "FIXED",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def terms(**changes: object) -> BookingTerms:
    base = BookingTerms("Harbourline Logistics Ltd", "term-loan-gbp", Decimal("100000.00"), "GBP", 60, None)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_terms_at_the_products_limits_fit_it() -> None:
    for amount in ("50000.00", "500000.00"):
        for months in (12, 120, None):
            assert check_terms(terms(amount=Decimal(amount), term_months=months), product()) == product()


def test_terms_outside_the_product_are_refused_with_every_broken_rule_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_terms(terms(currency="EUR", amount=Decimal("49999.99"), term_months=121), product())
    assert refused.value.message == "The booking does not fit the product"
    assert refused.value.field_errors == {
        "currency": ["Must be GBP, the currency of product term-loan-gbp"],
        "amount": ["Must be between 50000.00 and 500000.00 for this product"],
        "term_months": ["Must be between 12 and 120 months for this product"],
    }
    with pytest.raises(ValidationFailed) as above:
        check_terms(terms(amount=Decimal("500000.01"), term_months=11), product())
    assert set(above.value.field_errors) == {"amount", "term_months"}


def test_an_unknown_product_is_refused_pointing_at_the_catalogue() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_terms(terms(), None)
    assert refused.value.message == "Unknown product"
    assert refused.value.field_errors == {"product_id": ["No such product; see GET /v1/products"]}


def test_the_document_rules_are_named_in_full() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_document("application/zip", 0)
    assert refused.value.message == "The document cannot be accepted"
    assert refused.value.field_errors == {
        "content_type": ["Must be one of application/pdf, image/png, image/jpeg, image/tiff"],
        "size_bytes": [f"Must be between 1 and {MAX_DOCUMENT_BYTES} bytes (20 MB)"],
    }


def test_a_full_booking_names_its_limit() -> None:
    full = TooManyDocuments()
    assert full.message == "A booking holds at most 20 documents; delete one first"
    assert full.field_errors == {"booking_id": [full.message]}
    assert full.details == {"max_documents": 20}


def test_if_match_answers_name_the_part_and_its_version() -> None:
    with pytest.raises(PreconditionRequired) as missing:
        at_version(3, None, "booking sheet")
    assert missing.value.message == "Send If-Match with the booking sheet version you read (its ETag)"
    with pytest.raises(PreconditionFailed) as stale:
        at_version(3, (version for version in [1, 2]), "booking")
    assert stale.value.message == "The booking is at version 3, not the one named in If-Match"


def test_only_a_draft_is_editable_and_only_the_owner_sees_a_booking() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    draft = Booking("b-1", "owner", terms(), "Term loan (GBP)", BookingStatus.DRAFT, 0, 1, now, now, "owner")
    assert editable(draft) is draft
    assert owned(draft, "owner") is draft
    with pytest.raises(NotFound) as hidden:
        owned(draft, "someone else")
    assert hidden.value.message == "Booking not found"
    with pytest.raises(Conflict) as booked:
        editable(replace(draft, status=BookingStatus.BOOKED))
    assert booked.value.message == "The booking is BOOKED: it and its sheet are read-only"
    with pytest.raises(Conflict) as cancelled:
        editable(replace(draft, status=BookingStatus.CANCELLED))
    assert cancelled.value.message == "The booking is CANCELLED"
