"""One contract for every loan store: the same tests run on the in-memory store and on the
DynamoDB store (DynamoDB Local), so the store the domain tests use cannot drift from the one
that ships. Only the port is used here, never a table."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import (
    AchDetails,
    Change,
    InsufficientRoom,
    Invitee,
    InviteeAlreadyOnLoan,
    Lender,
    Loan,
    LoanStatus,
    ParticipantStatus,
    VersionConflict,
    invite,
)
from lendbridge.domain.ports import LoanStore
from lendbridge.errors import Conflict, ValidationFailed
from tests.memory_world import MemoryWorld

ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")
TERMS = LoanTerms(Decimal("1000.00"), Decimal("5"), 12, "Tools")


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryWorld()
    return request.getfixturevalue("world")


def email() -> str:
    return f"contract-{uuid.uuid4().hex[:10]}@example.com"


def stored(store: LoanStore, loan_id: str) -> Loan:
    loan = store.get(loan_id)
    assert loan is not None
    return loan


def test_a_created_loan_reads_back_with_its_participants_newest_first(backend: Any) -> None:
    (_, actor), (lender, _) = backend.user("borrower"), backend.user("lender")
    outsider = email()
    loan = backend.lending.create_loan(
        actor, TERMS, [Invitee(lender.email, Decimal("100")), Invitee(outsider, Decimal("200"))]
    )
    read = stored(backend.store, loan.loan_id)
    assert read == replace(loan, participants=())
    assert {p.participant_id for p in read.participants} == {p.participant_id for p in loan.participants}
    assert [p.invited_at for p in read.participants] == sorted((p.invited_at for p in read.participants), reverse=True)
    header = backend.store.header(loan.loan_id)
    assert header == read
    assert header.participants == ()
    assert backend.store.get("no-such-loan") is None
    assert backend.store.header("no-such-loan") is None


def test_invitation_context_names_the_loan_its_emails_the_users_and_the_profile(backend: Any) -> None:
    (borrower, actor), (lender, _) = backend.user("borrower"), backend.user("lender")
    invited, fresh = email(), email()
    loan = backend.lending.create_loan(actor, TERMS, [Invitee(invited, Decimal("10"))])
    context = backend.store.invitation_context(
        [invited, fresh, lender.email.lower()], loan_id=loan.loan_id, profile_of=borrower.user_id
    )
    assert context.loan == replace(loan, participants=())
    assert context.emails_on_loan == frozenset({invited})
    assert context.users_by_email == {lender.email.lower(): Lender(lender.user_id, lender.full_name)}
    assert context.profile is not None
    assert (context.profile.user_id, context.profile.full_name, context.profile.email) == (
        borrower.user_id,
        borrower.full_name,
        borrower.email.lower(),
    )
    assert backend.store.invitation_context([fresh], profile_of="nobody").profile is None


def test_a_write_from_a_stale_read_changes_nothing(backend: Any) -> None:
    _, actor = backend.user("borrower")
    loan = backend.lending.create_loan(actor, TERMS, [])
    stale = replace(loan, version=loan.version - 1)
    with pytest.raises(VersionConflict):
        backend.store.apply(Change(before=stale, after=replace(loan, purpose="changed", version=2)), actor)
    assert stored(backend.store, loan.loan_id).purpose == "Tools"
    with pytest.raises(VersionConflict):  # a loan cannot be created twice
        backend.store.apply(Change(before=None, after=loan), actor)


def test_the_write_itself_refuses_more_money_than_remains(backend: Any) -> None:
    _, actor = backend.user("borrower")
    loan = backend.lending.create_loan(actor, TERMS, [])
    greedy = replace(loan, total_invited=loan.amount + 1, version=loan.version + 1)
    with pytest.raises(VersionConflict):
        backend.store.apply(Change(before=loan, after=greedy), actor)
    assert stored(backend.store, loan.loan_id).total_invited == 0


def test_one_live_invitation_per_email_and_loan(backend: Any) -> None:
    _, actor = backend.user("borrower")
    invited = email()
    loan = backend.lending.create_loan(actor, TERMS, [Invitee(invited, Decimal("10"))])
    header = backend.store.header(loan.loan_id)
    _, again = invite(
        header, [Invitee(invited, Decimal("5"))], {}, new_ids=["p-again"], now=loan.created_at, actor_id=actor.user_id
    )
    with pytest.raises(InviteeAlreadyOnLoan) as refused:
        backend.store.add_participants(header, again, actor, header.updated_at)
    assert refused.value.details == {"email": invited}
    assert stored(backend.store, loan.loan_id).pending_count == 1


@pytest.mark.parametrize(
    ("taken", "contribution", "count", "error", "details"),
    [
        (0, "1000.01", 1, InsufficientRoom, {"remaining": "1000.00"}),
        (95, "1", 6, ValidationFailed, {"open_slots": 5}),
    ],
)
def test_new_invitations_are_refused_by_the_write_when_money_or_slots_run_out(
    backend: Any, taken: int, contribution: str, count: int, error: type[Exception], details: dict[str, Any]
) -> None:
    """The invitations are checked against a stale read (the loan header from before the
    slots were taken), so only the store's own condition can refuse them."""
    _, actor = backend.user("borrower")
    loan = backend.lending.create_loan(actor, TERMS, [])
    header = backend.store.header(loan.loan_id)
    for start in range(0, taken, 19):
        batch = [Invitee(email(), Decimal("1")) for _ in range(min(19, taken - start))]
        backend.lending.add_lenders(actor, loan.loan_id, batch)
    before = stored(backend.store, loan.loan_id)
    invitees = [Invitee(email(), Decimal(contribution)) for _ in range(count)]
    ids = [f"p-{uuid.uuid4().hex}" for _ in invitees]
    _, created = invite(header, invitees, {}, new_ids=ids, now=loan.created_at, actor_id=actor.user_id)
    with pytest.raises(error) as refused:
        backend.store.add_participants(header, created, actor, header.updated_at)
    assert refused.value.details == details  # type: ignore[attr-defined]
    after = stored(backend.store, loan.loan_id)
    assert (after.version, after.pending_count) == (before.version, taken)


def test_a_loan_no_longer_funding_takes_no_invitations(backend: Any) -> None:
    _, actor = backend.user("borrower")
    loan = backend.lending.create_loan(actor, TERMS, [])
    backend.lending.cancel(actor, loan.loan_id, None)
    header = backend.store.header(loan.loan_id)
    _, created = invite(
        header, [Invitee(email(), Decimal("1"))], {}, new_ids=["p-late"], now=loan.created_at, actor_id=actor.user_id
    )
    with pytest.raises(Conflict, match="CANCELLED"):
        backend.store.add_participants(header, created, actor, header.updated_at)


def test_add_participants_moves_the_totals_in_the_store(backend: Any) -> None:
    _, actor = backend.user("borrower")
    loan = backend.lending.create_loan(actor, TERMS, [])
    header = backend.store.header(loan.loan_id)
    invitees = [Invitee(email(), Decimal("100")), Invitee(email(), Decimal("50.50"))]
    _, created = invite(header, invitees, {}, new_ids=["p-1", "p-2"], now=loan.created_at, actor_id=actor.user_id)
    backend.store.add_participants(header, created, actor, header.updated_at)
    after = stored(backend.store, loan.loan_id)
    assert (after.total_invited, after.remaining, after.pending_count, after.open_slots, after.version) == (
        Decimal("150.50"),
        Decimal("849.50"),
        2,
        98,
        2,
    )


def test_a_participant_change_from_a_stale_read_is_refused(backend: Any) -> None:
    (_, actor), (_, lender) = backend.user("borrower"), backend.user("lender")
    loan = backend.lending.create_loan(actor, TERMS, [])
    loan, _ = backend.lending.add_lenders(
        actor, loan.loan_id, [Invitee(backend.users.get(lender.user_id).email, Decimal("10"))]
    )
    found = backend.store.find_participant(stored(backend.store, loan.loan_id).participants[0].participant_id)
    assert found is not None
    header, participant = found
    assert header == backend.store.header(loan.loan_id)
    backend.lending.decline(lender, participant.participant_id, None)
    current = backend.store.header(loan.loan_id)
    accepted = replace(participant, status=ParticipantStatus.ACCEPTED, version=participant.version + 1)
    change = Change(
        before=current, after=replace(current, version=current.version + 1), updated=((participant, accepted),)
    )
    with pytest.raises(VersionConflict):
        backend.store.apply(change, actor)
    assert backend.store.find_participant("no-such-participant") is None


def test_a_declined_email_can_be_invited_again(backend: Any) -> None:
    (_, actor), (lender, lender_actor) = backend.user("borrower"), backend.user("lender")
    loan = backend.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("10"))])
    backend.lending.decline(lender_actor, loan.participants[0].participant_id, None)
    context = backend.store.invitation_context([lender.email.lower()], loan_id=loan.loan_id)
    assert context.emails_on_loan == frozenset()
    _, again = backend.lending.add_lenders(actor, loan.loan_id, [Invitee(lender.email, Decimal("10"))])
    assert again[0].lender_id == lender.user_id


def test_a_claim_succeeds_once_per_read(backend: Any) -> None:
    _, actor = backend.user("borrower")
    invited = email()
    loan = backend.lending.create_loan(actor, TERMS, [Invitee(invited, Decimal("10"))])
    newcomer, newcomer_actor = backend.user("newcomer")
    page = backend.store.invitations_page(keys.email_digest(invited), 10, None)
    assert [p.participant_id for p in page.items] == [loan.participants[0].participant_id]
    lender = Lender(newcomer.user_id, newcomer.full_name)
    now = loan.created_at
    assert backend.store.claim(page.items[0], lender, newcomer_actor, now) is True
    assert backend.store.claim(page.items[0], lender, newcomer_actor, now) is False
    claimed = stored(backend.store, loan.loan_id).participants[0]
    assert (claimed.lender_id, claimed.lender_name, claimed.version) == (newcomer.user_id, newcomer.full_name, 2)


def test_lists_page_by_position_and_leave_cancelled_loans_out(backend: Any) -> None:
    (borrower, actor), (lender, lender_actor) = backend.user("borrower"), backend.user("lender")
    loans = [backend.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("10"))]) for _ in range(3)]
    backend.lending.cancel(actor, loans[1].loan_id, None)
    first = backend.store.borrower_page(borrower.user_id, 1, None)
    second = backend.store.borrower_page(borrower.user_id, 1, first.next_position)
    assert [loan.loan_id for loan in [*first.items, *second.items]] == [loans[2].loan_id, loans[0].loan_id]
    assert second.next_position is None
    assert len(first.items[0].participants) == 1
    pending = backend.store.lender_page(lender.user_id, ParticipantStatus.PENDING, 1, None)
    rest = backend.store.lender_page(lender.user_id, ParticipantStatus.PENDING, 5, pending.next_position)
    assert [loan.loan_id for _, loan in [*pending.items, *rest.items]] == [loans[2].loan_id, loans[0].loan_id]
    assert backend.store.lender_page(lender_actor.user_id, ParticipantStatus.ACCEPTED, 5, None).items == []


def test_history_and_audit_read_as_typed_records(backend: Any) -> None:
    (borrower, actor), (lender, lender_actor) = backend.user("borrower"), backend.user("lender")
    loan = backend.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("250"))])
    backend.lending.accept(lender_actor, loan.participants[0].participant_id, ACH)
    backend.process_stream()
    versions = backend.store.versions_page(loan.loan_id, 1, None)
    older = backend.store.versions_page(loan.loan_id, 5, versions.next_position)
    assert [v.version for v in [*versions.items, *older.items]] == [2, 1]
    latest = versions.items[0]
    assert latest.changed_by == lender.user_id
    assert latest.changed_at == stored(backend.store, loan.loan_id).updated_at
    assert {"accepted_count", "total_funded", "pending_count"} <= set(latest.changed_fields)
    assert latest.snapshot["status"] == LoanStatus.FUNDING.value
    points = backend.store.funding_page(loan.loan_id, 5, None).items
    assert [(p.version, p.total_funded, p.funding_percentage) for p in points] == [
        (1, 0, 0),
        (2, Decimal("250.00"), Decimal("25.00")),
    ]
    entries = backend.store.audit_page(loan.loan_id, 50, None).items
    assert sorted((e.entity, e.action) for e in entries) == [
        ("loan", "CREATE"),
        ("loan", "UPDATE"),
        ("participant", "CREATE"),
        ("participant", "UPDATE"),
    ]
    assert [e.timestamp for e in entries] == sorted((e.timestamp for e in entries), reverse=True)
    update = next(e for e in entries if (e.entity, e.action) == ("participant", "UPDATE"))
    assert (update.user_id, update.request_id, update.ip_address) == (
        lender.user_id,
        lender_actor.request_id,
        lender_actor.ip_address,
    )
    assert update.changes["before"]["status"] == "PENDING"
    assert update.changes["after"]["status"] == "ACCEPTED"
    assert "account_number" not in str(entries)
    assert borrower.user_id == loan.borrower_id
