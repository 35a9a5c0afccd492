"""The bookings' request rules as the OpenAPI document states them are the rules the server
applies: the amount's text pattern, the customer name's pattern (after trimming)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lendbridge.schemas.bookings import BOOKING_AMOUNT_PATTERN, CUSTOMER_NAME_PATTERN, CreateBookingRequest

BASE = {"customer_name": "Northwind", "product_id": "term-loan-eur", "amount": "1", "currency": "EUR"}
_AMOUNT_TEXT = st.one_of(
    st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,4})?\Z"),
    st.sampled_from(["0", "0.00", "0.01", "0.001", "9999999999.99", "10000000000", "0005.50", "5.000", "1.010"]),
)


def _accepted(**changes: object) -> bool:
    try:
        CreateBookingRequest.model_validate({**BASE, **changes})
    except ValidationError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(_AMOUNT_TEXT)
def test_the_documented_amount_pattern_is_the_rule_the_server_checks(text: str) -> None:
    assert _accepted(amount=text) is (re.search(BOOKING_AMOUNT_PATTERN, text) is not None), text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZé0 .-_'\u00d7\u0141&"), min_size=1, max_size=12))
def test_the_documented_name_pattern_is_the_rule_the_server_checks_after_trimming(text: str) -> None:
    trimmed = text.strip()
    expected = 1 <= len(trimmed) <= 100 and re.search(CUSTOMER_NAME_PATTERN, trimmed) is not None
    assert _accepted(customer_name=text) is expected, text
