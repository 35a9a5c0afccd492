"""Defence in depth for issue 8 item 1 on DynamoDB Local: whatever reaches the store, a loan
update never removes an attribute every loan must have (a removed ``interest_rate`` used to
leave a loan no read could load)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Change
from tests.integration.conftest import World

TERMS = LoanTerms(Decimal("1000.00"), Decimal("6.5"), 24, "Van")


@pytest.mark.parametrize("field", ["interest_rate", "term_months", "borrower_name", "updated_by"])
def test_the_store_refuses_to_remove_a_required_loan_attribute(world: World, field: str) -> None:
    _, actor = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [])
    broken = replace(loan, version=loan.version + 1, **{field: None})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=field):
        world.store.apply(Change(before=loan, after=broken), actor)
    stored = world.store.get(loan.loan_id)
    assert stored is not None
    assert (stored.version, stored.amount, stored.interest_rate, stored.term_months) == (
        1,
        Decimal("1000.00"),
        Decimal("6.5"),
        24,
    )


def test_a_revision_with_a_null_term_writes_nothing(world: World) -> None:
    """The domain path a PATCH with ``"interest_rate": null`` used to take before the schema
    refused it: the write is refused and the loan still reads whole."""
    borrower, actor = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [])
    with pytest.raises(ValueError, match="interest_rate"):
        world.lending.revise(actor, loan.loan_id, [1], {"interest_rate": None}, "x")
    again = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (again.version, again.interest_rate) == (1, Decimal("6.5"))
    assert [item.loan_id for item in world.lending.my_loans(borrower.user_id, 10, None).items] == [loan.loan_id]


def test_optional_attributes_may_still_be_removed(world: World) -> None:
    borrower, actor = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [])
    revised = world.lending.revise(actor, loan.loan_id, [1], {"purpose": None}, "no purpose")
    assert revised.purpose is None
    assert world.lending.get_loan(borrower.user_id, loan.loan_id).purpose is None
