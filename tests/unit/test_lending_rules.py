"""Every lending rule of ``domain/lending.py`` and ``domain/loans.py``, on the in-memory store:
the money rule, the lender rules, the cap, who may do what, the state machine, cancellation in
batches, claims, history, and the optimistic retry loop under concurrent writers."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.domain.claims import ClaimRequest
from lendbridge.domain.history import funding_point, snapshot, version_entry
from lendbridge.domain.lending import MAX_WITHDRAWALS_PER_WRITE, ClaimsPending, LoanTerms
from lendbridge.domain.loans import (
    MAX_LENDERS_PER_REQUEST,
    MAX_LIVE_PARTICIPANTS,
    AchDetails,
    InsufficientRoom,
    Invitee,
    Lender,
    LoanStatus,
    ParticipantStatus,
    cancel,
    check_invitees,
)
from lendbridge.domain.ports import Actor
from lendbridge.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from tests.memory_world import MemoryWorld

ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")
TERMS = LoanTerms(Decimal("10000.00"), Decimal("7.5"), 36, "Bakery equipment")


@pytest.fixture
def world() -> MemoryWorld:
    return MemoryWorld()


def stranger_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


def loan_with(world: MemoryWorld, *amounts: str) -> tuple[Any, Any, list[tuple[Any, Any]]]:
    """A borrower's loan with one registered lender per amount."""
    borrower, actor = world.user("borrower")
    lenders = [world.user(f"lender{n}") for n in range(len(amounts))]
    invitees = [Invitee(profile.email, Decimal(amount)) for (profile, _), amount in zip(lenders, amounts, strict=True)]
    loan = world.lending.create_loan(actor, TERMS, invitees)
    return loan, (borrower, actor), lenders


def invitation_of(world: MemoryWorld, loan_id: str, lender_id: str) -> Any:
    loan = world.store.get(loan_id)
    assert loan is not None
    return next(p for p in loan.participants if p.lender_id == lender_id)


# ---- creating loans and the lender rules ---------------------------------------------------


def test_a_loan_needs_a_registered_borrower(world: MemoryWorld) -> None:
    with pytest.raises(NotFound):
        world.lending.create_loan(Actor(user_id="no-profile", request_id="req"), TERMS, [])


def test_create_loan_names_registered_lenders_and_keeps_unregistered_emails(world: MemoryWorld) -> None:
    (borrower, actor), (lender, _) = world.user("borrower"), world.user("lender")
    outsider = stranger_email()
    loan = world.lending.create_loan(
        actor, TERMS, [Invitee(lender.email.upper(), Decimal("2500.00")), Invitee(outsider, Decimal("1000.50"))]
    )
    stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (stored.total_invited, stored.remaining, stored.pending_count) == (
        Decimal("3500.50"),
        Decimal("6499.50"),
        2,
    )
    assert stored.borrower_name == "Borrower"
    by_email = {p.lender_email: p for p in stored.participants}
    assert by_email[lender.email.lower()].lender_id == lender.user_id
    assert by_email[outsider].lender_id is None
    entries = world.lending.audit_log(borrower.user_id, loan.loan_id, 50, None).items
    assert sorted((e.entity, e.action) for e in entries) == [
        ("loan", "CREATE"),
        ("participant", "CREATE"),
        ("participant", "CREATE"),
    ]


@pytest.mark.parametrize(
    ("emails", "amounts", "message"),
    [
        (["a@example.com", "A@example.com"], ["1", "1"], "Duplicate lender email"),
        (["self"], ["1"], "cannot invite yourself"),
        (["a@example.com", "b@example.com"], ["6000", "4000.01"], "above the 10000.00 still open"),
    ],
)
def test_the_lender_rules_name_the_offence_and_write_nothing(
    world: MemoryWorld, emails: list[str], amounts: list[str], message: str
) -> None:
    borrower, actor = world.user("borrower")
    invitees = [
        Invitee(borrower.email if email == "self" else email, Decimal(amount))
        for email, amount in zip(emails, amounts, strict=True)
    ]
    with pytest.raises(ValidationFailed) as refused:
        world.lending.create_loan(actor, TERMS, invitees)
    assert message in refused.value.message
    assert world.store.loans == {}
    assert world.store.audit == {}


def test_at_most_twenty_lenders_per_request(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    invitees = [Invitee(stranger_email(), Decimal("1")) for _ in range(MAX_LENDERS_PER_REQUEST + 1)]
    with pytest.raises(ValidationFailed) as refused:
        world.lending.create_loan(actor, TERMS, invitees)
    assert list(refused.value.field_errors) == ["lenders"]


def test_an_email_already_on_the_loan_is_refused(world: MemoryWorld) -> None:
    loan, (_, actor), [(lender, _)] = loan_with(world, "100")
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(lender.email, Decimal("1"))])
    assert refused.value.details == {"email": lender.email.lower()}


def test_only_the_borrower_may_add_lenders(world: MemoryWorld) -> None:
    loan, _, [(_, lender_actor)] = loan_with(world, "100")
    _, stranger = world.user("stranger")
    with pytest.raises(Forbidden):
        world.lending.add_lenders(lender_actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])
    with pytest.raises(NotFound):
        world.lending.add_lenders(stranger, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])
    with pytest.raises(NotFound):
        world.lending.add_lenders(stranger, "no-such-loan", [Invitee(stranger_email(), Decimal("1"))])


def test_add_lenders_moves_the_totals_and_bumps_the_version(world: MemoryWorld) -> None:
    loan, (_, actor), _ = loan_with(world, "100")
    after, created = world.lending.add_lenders(
        actor, loan.loan_id, [Invitee(stranger_email(), Decimal("400")), Invitee(stranger_email(), Decimal("500"))]
    )
    assert len(created) == 2
    assert (after.total_invited, after.remaining, after.pending_count, after.version) == (
        Decimal("1000.00"),
        Decimal("9000.00"),
        3,
        loan.version + 1,
    )


def test_the_store_refuses_money_a_concurrent_invitation_took(world: MemoryWorld) -> None:
    """The rules pass on what was read; the write itself re-checks ``remaining``."""
    loan, (_, actor), _ = loan_with(world, "100")
    world.store.before_next_write = lambda: world.lending.add_lenders(
        actor, loan.loan_id, [Invitee(stranger_email(), Decimal("9000"))]
    )
    with pytest.raises(InsufficientRoom) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("901"))])
    assert refused.value.details == {"remaining": "900.00"}
    assert world.store.get(loan.loan_id).total_invited == Decimal("9100.00")  # type: ignore[union-attr]


def test_the_participant_cap_holds_and_frees_on_decline(world: MemoryWorld) -> None:
    loan, (_, actor), [(_, lender_actor)] = loan_with(world, "1")
    for _ in range((MAX_LIVE_PARTICIPANTS - 1) // MAX_LENDERS_PER_REQUEST):
        world.lending.add_lenders(
            actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(MAX_LENDERS_PER_REQUEST)]
        )
    world.lending.add_lenders(
        actor,
        loan.loan_id,
        [Invitee(stranger_email(), Decimal("1")) for _ in range((MAX_LIVE_PARTICIPANTS - 1) % MAX_LENDERS_PER_REQUEST)],
    )
    assert world.store.header(loan.loan_id).open_slots == 0  # type: ignore[union-attr]
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])
    assert refused.value.details == {"open_slots": 0}
    invitation = invitation_of(world, loan.loan_id, lender_actor.user_id)
    world.lending.decline(lender_actor, invitation.participant_id, None)
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])


def test_the_store_refuses_slots_a_concurrent_invitation_took(world: MemoryWorld) -> None:
    loan, (_, actor), _ = loan_with(world)
    for _ in range(4):
        world.lending.add_lenders(
            actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(MAX_LENDERS_PER_REQUEST)]
        )
    world.store.before_next_write = lambda: world.lending.add_lenders(
        actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(15)]
    )
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(10)])
    assert refused.value.details == {"open_slots": 5}


def test_each_batch_item_stands_alone(world: MemoryWorld) -> None:
    loan, (_, actor), [(lender, _)] = loan_with(world, "100")
    first, second = stranger_email(), stranger_email()
    outcomes = world.lending.add_each(
        actor,
        loan.loan_id,
        [
            Invitee(first, Decimal("100")),
            Invitee(lender.email, Decimal("1")),
            Invitee(first, Decimal("1")),
            Invitee(second, Decimal("99999")),
            Invitee(second, Decimal("200")),
        ],
    )
    assert [(o.email, o.error is None) for o in outcomes] == [
        (first, True),
        (lender.email.lower(), False),
        (first, False),
        (second, False),
        (second, True),
    ]
    assert world.store.header(loan.loan_id).total_invited == Decimal("400.00")  # type: ignore[union-attr]


# ---- responding to invitations -------------------------------------------------------------


def test_accepting_funds_the_loan_in_the_same_write(world: MemoryWorld) -> None:
    loan, (borrower, _), [(_, first), (_, second)] = loan_with(world, "6000", "4000")
    world.lending.accept(first, invitation_of(world, loan.loan_id, first.user_id).participant_id, ACH)
    participant, after = world.lending.accept(
        second, invitation_of(world, loan.loan_id, second.user_id).participant_id, ACH
    )
    assert participant.status == ParticipantStatus.ACCEPTED
    assert participant.bank is not None
    assert participant.bank.account_number_last4 == "6789"
    assert (after.status, after.total_funded, after.is_fully_funded) == (LoanStatus.FUNDED, Decimal("10000.00"), True)
    stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (stored.accepted_count, stored.largest_contribution, stored.smallest_contribution) == (
        2,
        Decimal("6000.00"),
        Decimal("4000.00"),
    )
    assert len(world.store.banks) == 2
    with pytest.raises(Conflict):
        world.lending.add_lenders(
            Actor(user_id=loan.borrower_id, request_id="req"), loan.loan_id, [Invitee(stranger_email(), Decimal("1"))]
        )


def test_accept_is_for_the_invitations_own_lender_and_only_while_pending(world: MemoryWorld) -> None:
    loan, _, [(_, lender)] = loan_with(world, "100")
    _, stranger = world.user("stranger")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)
    with pytest.raises(NotFound):
        world.lending.accept(stranger, invitation.participant_id, ACH)
    with pytest.raises(NotFound):
        world.lending.accept(lender, "no-such-invitation", ACH)
    world.lending.decline(lender, invitation.participant_id, "not now")
    with pytest.raises(Conflict):
        world.lending.accept(lender, invitation.participant_id, ACH)


def test_declining_frees_the_amount_and_the_email_can_be_invited_again(world: MemoryWorld) -> None:
    loan, (_, actor), [(lender, lender_actor)] = loan_with(world, "9000")
    world.lending.decline(lender_actor, invitation_of(world, loan.loan_id, lender.user_id).participant_id, None)
    header = world.store.header(loan.loan_id)
    assert header is not None
    assert (header.total_invited, header.declined_count, header.pending_count) == (Decimal("0.00"), 1, 0)
    _, again = world.lending.add_lenders(actor, loan.loan_id, [Invitee(lender.email, Decimal("10000"))])
    assert again[0].lender_id == lender.user_id


def test_a_concurrent_change_is_retried_and_the_bank_account_sealed_once(world: MemoryWorld) -> None:
    loan, _, [(_, first), (_, second)] = loan_with(world, "100", "200")
    other = invitation_of(world, loan.loan_id, second.user_id)
    world.store.before_next_write = lambda: world.lending.decline(second, other.participant_id, None)
    participant, after = world.lending.accept(
        first, invitation_of(world, loan.loan_id, first.user_id).participant_id, ACH
    )
    assert participant.status == ParticipantStatus.ACCEPTED
    assert (after.accepted_count, after.declined_count, after.total_funded) == (1, 1, Decimal("100.00"))
    assert len(world.sleeps) == 1  # one lost race, one backoff
    assert len(world.vault.sealed) == 1


def test_a_decline_racing_a_concurrent_accept_is_retried(world: MemoryWorld) -> None:
    loan, _, [(_, first), (_, second)] = loan_with(world, "100", "200")
    other = invitation_of(world, loan.loan_id, second.user_id)
    world.store.before_next_write = lambda: world.lending.accept(second, other.participant_id, ACH)
    _, after = world.lending.decline(first, invitation_of(world, loan.loan_id, first.user_id).participant_id, None)
    assert (after.accepted_count, after.declined_count, after.version) == (1, 1, loan.version + 2)
    assert len(world.sleeps) == 1


def test_a_loan_that_keeps_changing_gives_up_within_the_budget() -> None:
    world = MemoryWorld(retry_budget_s=0.05)
    loan, (_, actor), [(_, lender)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)

    terms = itertools.count(13)

    def keep_changing() -> None:
        current = world.store.header(loan.loan_id)
        assert current is not None
        world.lending.revise(actor, loan.loan_id, [current.version], {"term_months": next(terms)}, "busy")
        world.store.before_next_write = keep_changing

    world.store.before_next_write = keep_changing
    with pytest.raises(Conflict) as gave_up:
        world.lending.decline(lender, invitation.participant_id, None)
    assert "being changed by other requests" in gave_up.value.message
    assert len(world.sleeps) >= 1
    assert invitation_of(world, loan.loan_id, lender.user_id).status == ParticipantStatus.PENDING


# ---- revising, cancelling, removing --------------------------------------------------------


def test_revise_needs_the_current_version_and_no_acceptance(world: MemoryWorld) -> None:
    loan, (borrower, actor), [(_, lender)] = loan_with(world, "100")
    with pytest.raises(PreconditionRequired):
        world.lending.revise(actor, loan.loan_id, None, {"term_months": 12}, "shorter")
    with pytest.raises(PreconditionFailed):
        world.lending.revise(actor, loan.loan_id, [loan.version + 5], {"term_months": 12}, "shorter")
    with pytest.raises(ValidationFailed):
        world.lending.revise(actor, loan.loan_id, [loan.version], {"amount": Decimal("1")}, "more")
    revised = world.lending.revise(actor, loan.loan_id, [loan.version], {"term_months": 12}, "shorter")
    assert (revised.term_months, revised.version, revised.change_reason) == (12, loan.version + 1, "shorter")
    world.lending.accept(lender, invitation_of(world, loan.loan_id, lender.user_id).participant_id, ACH)
    current = world.store.header(loan.loan_id)
    assert current is not None
    with pytest.raises(Conflict):
        world.lending.revise(actor, loan.loan_id, [current.version], {"term_months": 24}, "longer")
    assert world.lending.get_loan(borrower.user_id, loan.loan_id).term_months == 12


def test_a_revision_that_changes_nothing_writes_nothing(world: MemoryWorld) -> None:
    loan, (_, actor), _ = loan_with(world, "100")
    before = world.store.get(loan.loan_id)
    audited = len(world.store.audit.get(loan.loan_id, []))
    same = world.lending.revise(actor, loan.loan_id, [loan.version], {"term_months": loan.term_months}, "again")
    assert (same.version, same.term_months) == (loan.version, loan.term_months)
    assert world.store.get(loan.loan_id) == before
    assert len(world.store.audit.get(loan.loan_id, [])) == audited
    with pytest.raises(PreconditionFailed):  # the preconditions hold all the same
        world.lending.revise(actor, loan.loan_id, [loan.version + 1], {"term_months": loan.term_months}, "again")


def test_a_revision_that_loses_a_race_is_a_failed_precondition(world: MemoryWorld) -> None:
    loan, (_, actor), [(lender, lender_actor)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)
    world.store.before_next_write = lambda: world.lending.decline(lender_actor, invitation.participant_id, None)
    with pytest.raises(PreconditionFailed):
        world.lending.revise(actor, loan.loan_id, [loan.version], {"term_months": 12}, "shorter")


def test_cancel_withdraws_pending_invitations_in_batches(world: MemoryWorld) -> None:
    loan, (borrower, actor), [(_, accepted)] = loan_with(world, "100")
    world.lending.accept(accepted, invitation_of(world, loan.loan_id, accepted.user_id).participant_id, ACH)
    for _ in range(2):
        world.lending.add_lenders(
            actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(MAX_LENDERS_PER_REQUEST)]
        )
    before = world.store.header(loan.loan_id)
    assert before is not None
    world.lending.cancel(actor, loan.loan_id, "no longer needed")
    after = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (after.status, after.pending_count, after.deletion_reason) == (LoanStatus.CANCELLED, 0, "no longer needed")
    assert after.version == before.version + 2  # 40 withdrawals in writes of at most 30
    assert MAX_WITHDRAWALS_PER_WRITE == 30
    assert after.deleted_by == borrower.user_id
    assert world.lending.my_loans(borrower.user_id, 10, None).items == []
    portfolio = world.lending.lender_participations(accepted.user_id, ParticipantStatus.ACCEPTED, 10, None)
    assert portfolio.items == []
    with pytest.raises(Conflict):
        world.lending.cancel(actor, loan.loan_id, None)


def test_an_interrupted_cancel_continues_and_keeps_who_when_and_why_of_the_first(world: MemoryWorld) -> None:
    loan, (borrower, _), _ = loan_with(world, "100", "250")
    stored = world.store.get(loan.loan_id)
    assert stored is not None
    first_at, later_at = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)

    half, withdrawn = cancel(stored, borrower.user_id, now=first_at, reason="changed plans", max_withdrawals=1)
    [(old, new)] = withdrawn
    assert (new.status, new.version, new.updated_at, new.updated_by) == (
        ParticipantStatus.REMOVED,
        old.version + 1,
        first_at,
        borrower.user_id,
    )
    assert half.total_invited == stored.total_invited - old.contribution_amount
    assert half.pending_count == stored.pending_count - 1
    assert (half.status, half.deleted_at, half.deleted_by, half.deletion_reason) == (
        LoanStatus.CANCELLED,
        first_at,
        borrower.user_id,
        "changed plans",
    )

    pending = replace(half, participants=tuple(new if p == old else p for p in half.participants))
    done, rest = cancel(pending, borrower.user_id, now=later_at, reason="another reason", max_withdrawals=1)
    assert len(rest) == 1
    assert (done.total_invited, done.pending_count) == (Decimal("0.00"), 0)
    assert (done.deleted_at, done.deleted_by, done.deletion_reason) == (first_at, borrower.user_id, "changed plans")


def test_a_funded_loan_cannot_be_cancelled(world: MemoryWorld) -> None:
    loan, (_, actor), [(_, lender)] = loan_with(world, "10000")
    world.lending.accept(lender, invitation_of(world, loan.loan_id, lender.user_id).participant_id, ACH)
    with pytest.raises(Conflict):
        world.lending.cancel(actor, loan.loan_id, None)


def test_only_pending_invitations_can_be_removed(world: MemoryWorld) -> None:
    loan, (borrower, actor), [(_, pending), (_, accepted)] = loan_with(world, "100", "200")
    removable = invitation_of(world, loan.loan_id, pending.user_id)
    kept = invitation_of(world, loan.loan_id, accepted.user_id)
    world.lending.accept(accepted, kept.participant_id, ACH)
    with pytest.raises(Conflict):
        world.lending.remove_participant(actor, loan.loan_id, kept.participant_id)
    with pytest.raises(Forbidden):
        world.lending.remove_participant(pending, loan.loan_id, removable.participant_id)
    after = world.lending.remove_participant(actor, loan.loan_id, removable.participant_id)
    assert (after.total_invited, after.pending_count) == (Decimal("200.00"), 0)
    with pytest.raises(NotFound):
        world.lending.remove_participant(actor, loan.loan_id, removable.participant_id)
    shown = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert [p.participant_id for p in shown.participants] == [kept.participant_id]
    with pytest.raises(NotFound):  # a removed invitee no longer sees the loan
        world.lending.get_loan(pending.user_id, loan.loan_id)


# ---- reading ------------------------------------------------------------------------------


def test_a_loan_is_visible_to_its_borrower_and_participants_only(world: MemoryWorld) -> None:
    loan, (borrower, _), [(lender, _)] = loan_with(world, "100")
    stranger, _ = world.user("stranger")
    assert world.lending.get_loan(lender.user_id, loan.loan_id).loan_id == loan.loan_id
    with pytest.raises(NotFound):
        world.lending.get_loan(stranger.user_id, loan.loan_id)
    with pytest.raises(NotFound):
        world.lending.audit_log(lender.user_id, loan.loan_id, 10, None)
    with pytest.raises(NotFound):
        world.lending.versions(stranger.user_id, loan.loan_id, 10, None)
    assert world.lending.versions(borrower.user_id, loan.loan_id, 10, None).items


def test_my_loans_pages_newest_first(world: MemoryWorld) -> None:
    _, actor = world.user("borrower")
    made = [world.lending.create_loan(actor, TERMS, []).loan_id for _ in range(3)]
    first = world.lending.my_loans(actor.user_id, 2, None)
    assert [loan.loan_id for loan in first.items] == made[::-1][:2]
    rest = world.lending.my_loans(actor.user_id, 2, first.next_position)
    assert ([loan.loan_id for loan in rest.items], rest.has_more) == ([made[0]], False)


def test_history_records_every_version_and_the_funding_series(world: MemoryWorld) -> None:
    loan, (borrower, actor), [(_, lender)] = loan_with(world, "2500")
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("500"))])
    world.lending.accept(lender, invitation_of(world, loan.loan_id, lender.user_id).participant_id, ACH)
    versions = world.lending.versions(borrower.user_id, loan.loan_id, 10, None).items
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[1].changed_fields == ("participant_count", "pending_count", "remaining", "total_invited")
    assert versions[0].snapshot["total_funded"] == Decimal("2500.00")
    points = world.lending.funding_points(borrower.user_id, loan.loan_id, 10, None).items
    assert [(p.version, p.total_funded, p.accepted_count) for p in points] == [
        (1, Decimal("0"), 0),
        (2, Decimal("0"), 0),
        (3, Decimal("2500.00"), 1),
    ]
    assert points[-1].funding_percentage == Decimal("25.00")


# ---- claims -------------------------------------------------------------------------------


def test_invitations_to_a_new_email_become_the_new_users_in_place(world: MemoryWorld) -> None:
    email = stranger_email()
    loan, (borrower, actor), _ = loan_with(world)
    _, created = world.lending.add_lenders(actor, loan.loan_id, [Invitee(email, Decimal("100"))])
    newcomer, _ = world.user("newcomer")
    request = ClaimRequest(newcomer.user_id, keys.email_digest(email), "Newcomer", "req")
    assert world.claims.claim(request) == 1
    assert world.claims.claim(request) == 0
    claimed = world.store.get(loan.loan_id).participants[0]  # type: ignore[union-attr]
    assert (claimed.participant_id, claimed.lender_id, claimed.lender_name) == (
        created[0].participant_id,
        newcomer.user_id,
        "Newcomer",
    )
    pending = world.lending.lender_participations(newcomer.user_id, ParticipantStatus.PENDING, 10, None)
    assert [p.participant_id for p, _ in pending.items] == [created[0].participant_id]
    assert borrower.user_id == loan.borrower_id


def test_an_invitation_changed_since_it_was_listed_is_claimed_later(world: MemoryWorld) -> None:
    email = stranger_email()
    loan, (_, actor), _ = loan_with(world)
    _, [invited] = world.lending.add_lenders(actor, loan.loan_id, [Invitee(email, Decimal("100"))])
    newcomer, _ = world.user("newcomer")
    stale = replace(invited, version=invited.version - 1)
    assert not world.store.claim(stale, Lender(newcomer.user_id, newcomer.full_name), actor, world.clock())
    # The invitation changes between the listing and the claim: refused now, claimed next time.
    world.store.before_next_write = lambda: world.store.participants.update(
        {invited.participant_id: replace(invited, version=invited.version + 1)}
    )
    with pytest.raises(ClaimsPending):
        world.claims.claim(ClaimRequest(newcomer.user_id, keys.email_digest(email), "Newcomer", "req"))
    assert world.claims.claim(ClaimRequest(newcomer.user_id, keys.email_digest(email), "Newcomer", "req")) == 1


def test_a_funding_point_is_taken_only_when_the_funding_moved() -> None:
    created = {"version": 1, "amount": "1000", "updated_at": "2026-01-01T00:00:00Z"}
    assert funding_point(None, created) == {
        "timestamp": "2026-01-01T00:00:00Z",
        "version": 1,
        "total_funded": Decimal(0),
        "funding_percentage": Decimal("0.00"),
        "participant_count": 0,
        "accepted_count": 0,
        "pending_count": 0,
    }
    counted = {
        **created,
        "version": 2,
        "updated_at": "2026-01-02T00:00:00Z",
        "total_funded": "250",
        "participant_count": 3,
        "accepted_count": 1,
        "pending_count": 2,
        "declined_count": 0,
    }
    assert funding_point(created, counted) == {
        "timestamp": "2026-01-02T00:00:00Z",
        "version": 2,
        "total_funded": Decimal(250),
        "funding_percentage": Decimal("25.00"),
        "participant_count": 3,
        "accepted_count": 1,
        "pending_count": 2,
    }
    # A revision of the terms alone moves no funding field: no point.
    assert funding_point(counted, {**counted, "version": 3, "purpose": "Ovens"}) is None
    # One field moving is enough.
    assert funding_point(counted, {**counted, "version": 3, "declined_count": 1}) is not None


def _refusal_of(invitees: list[Invitee], **rules: Any) -> ValidationFailed:
    arguments: dict[str, Any] = {"borrower_id": "b-1", "users_by_email": {}, "room": Decimal(1000), **rules}
    with pytest.raises(ValidationFailed) as refused:
        check_invitees(invitees, **arguments)
    return refused.value


def test_each_lender_rule_points_at_the_offending_entry_and_names_its_email() -> None:
    fine = Invitee("first@example.com", Decimal(10))
    duplicate = _refusal_of([fine, Invitee("FIRST@example.com", Decimal(10))])
    assert set(duplicate.field_errors) == {"lenders[1].email"}
    assert duplicate.details == {"email": "first@example.com"}

    on_loan = _refusal_of([fine, Invitee("Taken@example.com", Decimal(10))], emails_on_loan=["TAKEN@example.com"])
    assert set(on_loan.field_errors) == {"lenders[1].email"}
    assert on_loan.details == {"email": "taken@example.com"}

    borrower = Lender("b-1", "Bea Borrower")
    self_invite = _refusal_of(
        [fine, Invitee("bea@example.com", Decimal(10))], users_by_email={"bea@example.com": borrower}
    )
    assert set(self_invite.field_errors) == {"lenders[1].email"}
    assert self_invite.details == {"email": "bea@example.com"}

    too_much = _refusal_of([fine, Invitee("second@example.com", Decimal("990.01"))])
    assert set(too_much.field_errors) == {"lenders"}
    assert too_much.details == {"requested": "1000.01", "remaining": "1000.00"}
    check_invitees(
        [fine, Invitee("second@example.com", Decimal(990))], borrower_id="b-1", users_by_email={}, room=Decimal(1000)
    )


def test_a_version_entry_records_the_snapshot_what_changed_and_who_when_why() -> None:
    first = {
        "version": 1,
        "amount": "1000",
        "purpose": "Ovens",
        "open_slots": 20,
        "updated_at": "t1",
        "updated_by": "b-1",
    }
    created = version_entry(None, first)
    assert created["snapshot"] == {
        name: first[name] for name in ("version", "amount", "purpose", "updated_at", "updated_by")
    }
    assert created["changed_fields"] == ["amount", "purpose"]  # version and who/when are not changes
    assert (created["version"], created["changed_by"], created["changed_at"], created["change_reason"]) == (
        1,
        "b-1",
        "t1",
        None,
    )
    second = {
        **first,
        "version": 2,
        "purpose": "Mixers",
        "updated_at": "t2",
        "updated_by": "b-2",
        "change_reason": "typo",
    }
    entry = version_entry(first, second)
    assert entry["changed_fields"] == ["purpose"]
    assert (entry["version"], entry["changed_by"], entry["changed_at"], entry["change_reason"]) == (
        2,
        "b-2",
        "t2",
        "typo",
    )
    assert entry["snapshot"] == snapshot(second)


def test_a_lender_reading_the_loan_sees_only_its_own_bank_details(world: MemoryWorld) -> None:
    # Every participant was shown every accepted lender's account holder and last digits.
    loan, (borrower, _), [(first, first_actor), (second, second_actor), (third, _)] = loan_with(world, "10", "20", "30")
    for profile, actor in ((first, first_actor), (second, second_actor)):
        world.lending.accept(actor, invitation_of(world, loan.loan_id, profile.user_id).participant_id, ACH)

    def banks_seen_by(user_id: str) -> dict[str | None, bool]:
        seen = world.lending.get_loan(user_id, loan.loan_id)
        return {p.lender_id: p.bank is not None for p in seen.participants}

    assert banks_seen_by(borrower.user_id) == {first.user_id: True, second.user_id: True, third.user_id: False}
    assert banks_seen_by(first.user_id) == {first.user_id: True, second.user_id: False, third.user_id: False}
    assert banks_seen_by(third.user_id) == {first.user_id: False, second.user_id: False, third.user_id: False}
    stored = world.store.get(loan.loan_id)
    assert stored is not None
    assert all(p.bank is not None for p in stored.participants if p.lender_id != third.user_id)  # nothing was lost
