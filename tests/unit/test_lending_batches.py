"""Batch invitations (``Lending.add_each``) item by item on the in-memory store: each item is
checked against what the items before it changed (room, slots, emails on the loan)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from lendbridge.domain.lending import ItemOutcome
from lendbridge.domain.loans import MAX_LENDERS_PER_REQUEST, MAX_LIVE_PARTICIPANTS, Invitee
from lendbridge.errors import NotFound
from tests.memory_world import MemoryWorld
from tests.unit.test_lending_rules import TERMS, stranger_email


@pytest.fixture
def world() -> MemoryWorld:
    return MemoryWorld()


def test_each_item_is_checked_against_the_room_the_items_before_it_left(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(stranger_email(), Decimal("9900"))])
    first, second = stranger_email(), stranger_email()
    outcomes = world.lending.add_each(
        actor, loan.loan_id, [Invitee(first, Decimal("60")), Invitee(second, Decimal("60"))]
    )
    assert outcomes[1] == ItemOutcome(
        email=second, error="Contributions total 60.00, above the 40.00 still open on this loan"
    )
    (added,) = [p for p in world.store.get(loan.loan_id).participants if p.lender_email == first]  # type: ignore[union-attr]
    assert outcomes[0] == ItemOutcome(email=first, participant_id=added.participant_id)
    assert added.created_by == actor.user_id


def test_each_item_is_checked_against_the_slots_the_items_before_it_took(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, TERMS, [])
    for _ in range((MAX_LIVE_PARTICIPANTS - 1) // MAX_LENDERS_PER_REQUEST + 1):
        live = world.store.get(loan.loan_id).live_count  # type: ignore[union-attr]
        count = min(MAX_LENDERS_PER_REQUEST, MAX_LIVE_PARTICIPANTS - 2 - live)
        if count > 0:
            world.lending.add_lenders(
                actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(count)]
            )
    assert world.store.get(loan.loan_id).open_slots == 2  # type: ignore[union-attr]
    emails = [stranger_email() for _ in range(3)]
    outcomes = world.lending.add_each(actor, loan.loan_id, [Invitee(e, Decimal("1")) for e in emails])
    assert [o.error is None for o in outcomes] == [True, True, False]
    assert outcomes[2].error == world_message_of_full_loan(world, actor, loan.loan_id)


def world_message_of_full_loan(world: MemoryWorld, actor: object, loan_id: str) -> str | None:
    """The refusal a full loan gives any further invitation, as the single-item rule words it."""
    (outcome,) = world.lending.add_each(actor, loan_id, [Invitee(stranger_email(), Decimal("1"))])  # type: ignore[arg-type]
    return outcome.error


def test_emails_are_compared_in_any_case(world: MemoryWorld) -> None:
    borrower, actor = world.user("borrower")
    lender, _ = world.user("lender")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("100"))])
    shouted = lender.email.upper()
    fresh = f"New-{uuid.uuid4().hex[:8]}@Example.com"
    outcomes = world.lending.add_each(
        actor,
        loan.loan_id,
        [Invitee(shouted, Decimal("1")), Invitee(borrower.email.upper(), Decimal("1")), Invitee(fresh, Decimal("1"))],
    )
    assert outcomes[0] == ItemOutcome(
        email=lender.email.lower(), error=f"Lender {lender.email.lower()} is already invited to this loan"
    )
    assert outcomes[1].error == f"You cannot invite yourself ({borrower.email.lower()})"
    assert (outcomes[2].email, outcomes[2].error) == (fresh.lower(), None)


def test_a_batch_on_another_borrowers_or_no_loan_is_refused(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    with pytest.raises(NotFound):
        world.lending.add_each(actor, str(uuid.uuid4()), [Invitee(stranger_email(), Decimal("1"))])


def test_withdrawing_an_invitation_records_who_and_when_on_the_loan_and_the_invitation(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    email = stranger_email()
    loan = world.lending.create_loan(actor, TERMS, [Invitee(email, Decimal("100"))])
    (invited,) = world.store.get(loan.loan_id).participants  # type: ignore[union-attr]
    after = world.lending.remove_participant(actor, loan.loan_id, invited.participant_id)
    # A withdrawn participant leaves the loan's roster; its own record keeps who and when.
    assert world.store.get(loan.loan_id).participants == ()  # type: ignore[union-attr]
    removed = world.store.participants[invited.participant_id]
    assert (after.updated_by, after.version) == (actor.user_id, loan.version + 1)
    assert (removed.updated_by, removed.updated_at) == (actor.user_id, after.updated_at)
    assert removed.updated_at > invited.updated_at
