"""The loan's history, funding and audit lists page on from the position they are given
(in-memory store), so that a client following ``next_token`` sees every entry once."""

from __future__ import annotations

from decimal import Decimal

from tests.memory_world import MemoryWorld
from tests.unit.test_lending_rules import ACH, invitation_of, loan_with


def test_each_loan_list_continues_after_the_position_of_the_page_before() -> None:
    world = MemoryWorld()
    loan, (borrower, actor), [(_, first), (_, second)] = loan_with(world, "3000", "2000")
    for rate in ("8", "9"):
        current = world.store.get(loan.loan_id)
        world.lending.revise(actor, loan.loan_id, [current.version], {"interest_rate": Decimal(rate)}, "rate")  # type: ignore[union-attr]
    for lender in (first, second):
        world.lending.accept(lender, invitation_of(world, loan.loan_id, lender.user_id).participant_id, ACH)
    reads = {
        "versions": world.lending.versions,
        "funding": world.lending.funding_points,
        "audit": world.lending.audit_log,
    }
    for name, read in reads.items():
        page_one = read(borrower.user_id, loan.loan_id, 1, None)
        assert page_one.next_position is not None, name
        page_two = read(borrower.user_id, loan.loan_id, 1, page_one.next_position)
        everything = read(borrower.user_id, loan.loan_id, 100, None)
        assert [*page_one.items, *page_two.items] == list(everything.items[:2]), name
        assert page_one.items != page_two.items, name
