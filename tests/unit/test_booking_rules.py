"""The booking rules that need no store: documents' type and size, ownership, If-Match."""

from __future__ import annotations

import pytest

from lendbridge.domain.bookings import MAX_DOCUMENT_BYTES, at_version, check_document, document_key, owned
from lendbridge.errors import NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed


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
