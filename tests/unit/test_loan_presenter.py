"""How a loan's numbers are shown: the same text in the answer that made it and in every read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lendbridge.domain.lending import LoanTerms
from lendbridge.schemas import presenters
from tests.memory_world import MemoryWorld


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Decimal("-0.0"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("0.00"), "0"),
        (Decimal("1E+1"), "10"),
        (Decimal("7.50"), "7.5"),
    ],
)
def test_a_rate_is_shown_as_plain_text_and_a_zero_without_a_sign(rate: Decimal, shown: str) -> None:
    world = MemoryWorld()
    _, actor = world.user("borrower")
    made = world.lending.create_loan(actor, LoanTerms(Decimal("100"), rate, 12, None), [])
    assert presenters.loan(made).interest_rate == shown
    read = world.lending.get_loan(actor.user_id, made.loan_id)
    assert presenters.loan(read).interest_rate == shown
