"""Walking every page of my-loans returns every loan exactly once, newest first."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.errors import ValidationFailed
from tests.integration.conftest import World

LOANS = 1050
CURSORS = SignedCursors(lambda: b"pagination-test-key", lambda: datetime.now(UTC))


@pytest.fixture(scope="module")
def borrower_with_many_loans(dynamodb_local: Any, tables: dict[str, str]) -> tuple[str, list[str]]:
    import boto3

    from lendbridge.aws import BOTO_CONFIG

    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=BOTO_CONFIG,
    )
    world = World(client, tables)
    borrower, actor = world.user("prolific")
    lender, _ = world.user("lender")

    def create(index: int) -> tuple[datetime, str]:
        invitees = [Invitee(lender.email, Decimal("1"))] if index % 7 == 0 else []
        loan = world.lending.create_loan(actor, LoanTerms(Decimal("100"), Decimal("1"), 12, None), invitees)
        return loan.created_at, loan.loan_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = list(pool.map(create, range(LOANS)))
    newest_first = [loan_id for _, loan_id in sorted(created, reverse=True)]
    return borrower.user_id, newest_first


def walk(world: World, borrower_id: str, limits: Any) -> list[str]:
    seen: list[str] = []
    token: str | None = None
    while True:
        limit = limits()
        position = CURSORS.decode("my-loans", borrower_id, token)
        page = world.lending.my_loans(borrower_id, limit, position)
        assert len(page.items) <= limit
        assert page.items or not seen, "only the first page of an empty list may be empty"
        seen += [loan.loan_id for loan in page.items]
        token = CURSORS.encode("my-loans", borrower_id, page.next_position)
        if token is None:
            return seen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_loan_exactly_once_newest_first(
    world: World, borrower_with_many_loans: tuple[str, list[str]], data: st.DataObject
) -> None:
    borrower_id, expected = borrower_with_many_loans
    seen = walk(world, borrower_id, lambda: data.draw(st.integers(min_value=1, max_value=100), label="limit"))
    assert len(seen) == len(set(seen)) == LOANS
    assert seen == expected


def test_pages_carry_each_loans_participants(world: World, borrower_with_many_loans: tuple[str, list[str]]) -> None:
    borrower_id, expected = borrower_with_many_loans
    page = world.lending.my_loans(borrower_id, 100, None)
    with_lender = [loan for loan in page.items if loan.participants]
    assert with_lender
    assert all(len(loan.participants) == 1 and loan.participants[0].loan_id == loan.loan_id for loan in with_lender)
    assert [loan.loan_id for loan in page.items] == expected[:100]


def test_a_token_is_only_good_for_its_owner(world: World, borrower_with_many_loans: tuple[str, list[str]]) -> None:
    borrower_id, _ = borrower_with_many_loans
    page = world.lending.my_loans(borrower_id, 5, None)
    token = CURSORS.encode("my-loans", borrower_id, page.next_position)
    with pytest.raises(ValidationFailed, match="Invalid pagination token"):
        CURSORS.decode("my-loans", "someone-else", token)
    with pytest.raises(ValidationFailed, match="Invalid pagination token"):
        CURSORS.decode("pending", borrower_id, token)


def test_an_empty_list_is_one_empty_page(world: World) -> None:
    borrower, _ = world.user("newcomer")
    page = world.lending.my_loans(borrower.user_id, 20, None)
    assert (list(page.items), page.next_position) == ([], None)
