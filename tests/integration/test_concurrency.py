"""Money never over-commits and a key never applies twice, under real concurrent requests."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.errors import LendbridgeError, ValidationFailed
from tests.integration.conftest import World

REQUESTS = 50
ROOM_FOR = 10
REPETITIONS = 20


def test_fifty_concurrent_invitations_fill_exactly_ten_slots_every_time(world: World) -> None:
    borrower, actor = world.user("borrower")
    contribution = Decimal("100.00")
    for repetition in range(REPETITIONS):
        loan = world.lending.create_loan(actor, LoanTerms(contribution * ROOM_FOR, Decimal("5"), 12, None), [])
        start = threading.Barrier(REQUESTS)

        def invite(
            index: int, loan_id: str = loan.loan_id, run: int = repetition, start: threading.Barrier = start
        ) -> str:
            start.wait()
            try:
                world.lending.add_lenders(
                    actor, loan_id, [Invitee(f"lender-{run}-{index}-{uuid.uuid4().hex[:6]}@example.com", contribution)]
                )
            except ValidationFailed:
                return "refused"
            except LendbridgeError as error:
                return f"error:{error.code}"
            return "added"

        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            outcomes = list(pool.map(invite, range(REQUESTS)))
        stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
        assert outcomes.count("added") == ROOM_FOR, (repetition, sorted(set(outcomes)))
        assert outcomes.count("refused") == REQUESTS - ROOM_FOR
        assert stored.total_invited == stored.amount
        assert stored.remaining == Decimal("0.00")
        assert len(stored.participants) == ROOM_FOR
        assert stored.version == 1 + ROOM_FOR


@pytest.mark.parametrize("email_case", ["same", "upper"])
def test_the_same_email_raced_twice_is_invited_once(world: World, email_case: str) -> None:
    borrower, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, LoanTerms(Decimal("1000"), Decimal("5"), 12, None), [])
    email = f"racer-{uuid.uuid4().hex[:8]}@example.com"
    start = threading.Barrier(8)

    def invite(index: int) -> str:
        start.wait()
        address = email.upper() if email_case == "upper" and index % 2 else email
        try:
            world.lending.add_lenders(actor, loan.loan_id, [Invitee(address, Decimal("10"))])
        except ValidationFailed:
            return "refused"
        return "added"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(invite, range(8)))
    assert outcomes.count("added") == 1
    assert len(world.lending.get_loan(borrower.user_id, loan.loan_id).participants) == 1
