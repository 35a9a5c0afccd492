"""The pure loan rules of ``domain/loans.py`` called directly, pinning every field they write and
every word, field error and detail they answer with (the client sees all three). The same rules
through the service and the in-memory store are in test_lending_rules.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lendbridge.domain.loans import (
    COMPARED_FIELDS,
    MAX_LENDERS_PER_REQUEST,
    MAX_LIVE_PARTICIPANTS,
    AchDetails,
    BankSummary,
    InsufficientRoom,
    Invitee,
    InviteeAlreadyOnLoan,
    Lender,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
    VersionConflict,
    already_invited,
    borrower_action,
    borrower_view,
    cancel,
    changed_fields,
    check_invitees,
    invitations_refused,
    invite,
    remove_participant,
    require_open,
    respond,
    revise,
    stamp,
    too_many_participants,
)
from lendbridge.errors import Conflict, Forbidden, NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NOW = CREATED + timedelta(days=1)
BORROWER = "borrower-1"
LENDER = "lender-1"


def a_loan(**changes: object) -> Loan:
    loan = Loan(
        loan_id="loan-1",
        borrower_id=BORROWER,
        borrower_name="Bea Borrower",
        amount=Decimal("1000.00"),
        interest_rate=Decimal("5.0"),
        term_months=12,
        purpose="Stock",
        status=LoanStatus.FUNDING,
        created_at=CREATED,
        created_by=BORROWER,
        updated_at=CREATED,
        updated_by=BORROWER,
        version=3,
    )
    return replace(loan, **changes)  # type: ignore[arg-type]


def a_participant(status: ParticipantStatus = ParticipantStatus.PENDING, **changes: object) -> Participant:
    participant = Participant(
        participant_id="p-1",
        loan_id="loan-1",
        borrower_id=BORROWER,
        loan_created_at=CREATED,
        lender_email="lena@example.com",
        contribution_amount=Decimal("400.00"),
        status=status,
        invited_at=CREATED,
        lender_id=LENDER,
        lender_name="Lena Lender",
        version=2,
        created_by=BORROWER,
        updated_at=CREATED,
        updated_by="the-inviter",
    )
    return replace(participant, **changes)  # type: ignore[arg-type]


def with_pending(loan: Loan, *participants: Participant) -> Loan:
    invited = sum((p.contribution_amount for p in participants if p.is_live), Decimal(0))
    pending = sum(1 for p in participants if p.status == ParticipantStatus.PENDING)
    return replace(loan, participants=participants, total_invited=invited, pending_count=pending)


# ---- bank details -------------------------------------------------------------------------------


def test_a_bank_summary_keeps_the_holder_the_type_and_only_the_last_four_digits() -> None:
    ach = AchDetails("Ada Holder", "011000015", "000123456789", "savings")
    assert ach.summary() == BankSummary(
        account_holder_name="Ada Holder",
        account_type="savings",
        routing_number_last4="0015",
        account_number_last4="6789",
    )
    assert repr(ach) == "AchDetails(account_type='savings', routing=***0015)"


# ---- the lender rules ---------------------------------------------------------------------------


def check(invitees: list[Invitee], **overrides: object) -> None:
    arguments: dict[str, object] = {"borrower_id": BORROWER, "users_by_email": {}, "room": Decimal("1000.00")}
    arguments.update(overrides)
    check_invitees(invitees, **arguments)  # type: ignore[arg-type]


def test_too_many_lenders_in_one_request_says_how_many() -> None:
    invitees = [Invitee(f"l{n}@example.com", Decimal(1)) for n in range(MAX_LENDERS_PER_REQUEST + 1)]
    with pytest.raises(ValidationFailed) as raised:
        check(invitees)
    assert raised.value.message == "At most 20 lenders per request; got 21"
    assert raised.value.field_errors == {"lenders": ["At most 20 lenders; got 21"]}


def test_the_total_of_contributions_is_exact_at_the_room_and_refused_a_cent_above() -> None:
    check([Invitee("a@example.com", Decimal("600.00")), Invitee("b@example.com", Decimal("400.00"))])
    with pytest.raises(ValidationFailed) as raised:
        check([Invitee("a@example.com", Decimal("600.00")), Invitee("b@example.com", Decimal("400.01"))])
    assert raised.value.message == "Contributions total 1000.01, above the 1000.00 still open on this loan"
    assert raised.value.details == {"requested": "1000.01", "remaining": "1000.00"}


def test_an_empty_request_totals_zero() -> None:
    check([], room=Decimal(0))


def test_the_cap_message_counts_the_slots_left_and_never_below_zero() -> None:
    error = too_many_participants(3)
    expected = "A loan has at most 100 pending or accepted participants; 3 more can be invited"
    assert error.message == expected
    assert error.field_errors == {"lenders": [expected]}
    assert error.details == {"open_slots": 3}
    assert too_many_participants(0).details == {"open_slots": 0}
    overdrawn = too_many_participants(-2)
    assert overdrawn.details == {"open_slots": 0}
    assert overdrawn.message.endswith("; 0 more can be invited")
    assert MAX_LIVE_PARTICIPANTS == 100


def test_an_email_already_invited_is_named_in_the_answer() -> None:
    error = already_invited("dup@example.com")
    assert isinstance(error, InviteeAlreadyOnLoan)
    assert error.message == "Lender dup@example.com is already invited to this loan"
    assert error.field_errors == {"lenders": ["dup@example.com is already invited to this loan"]}
    assert error.details == {"email": "dup@example.com"}


# ---- inviting -----------------------------------------------------------------------------------


def test_invite_writes_each_participant_in_full_and_adds_them_to_the_loan() -> None:
    known = {"lena@example.com": Lender(LENDER, "Lena Lender")}
    loan = with_pending(a_loan(), a_participant(participant_id="p-0", lender_email="old@example.com"))
    after, created = invite(
        loan,
        [Invitee("Lena@Example.com", Decimal("100.004")), Invitee("new@example.com", Decimal("50"))],
        known,
        new_ids=["p-1", "p-2"],
        now=NOW,
        actor_id="actor-9",
    )
    registered, stranger = created
    assert registered == Participant(
        participant_id="p-1",
        loan_id="loan-1",
        borrower_id=BORROWER,
        loan_created_at=CREATED,
        lender_email="lena@example.com",
        contribution_amount=Decimal("100.00"),
        status=ParticipantStatus.PENDING,
        invited_at=NOW,
        lender_id=LENDER,
        lender_name="Lena Lender",
        created_by="actor-9",
        updated_at=NOW,
        updated_by="actor-9",
    )
    assert (stranger.lender_id, stranger.lender_name, stranger.contribution_amount) == (None, None, Decimal("50.00"))
    assert after.total_invited == Decimal("550.00")
    assert after.pending_count == 3
    assert [p.participant_id for p in after.participants] == ["p-0", "p-1", "p-2"]


def test_invite_needs_one_new_id_per_invitee() -> None:
    with pytest.raises(ValueError, match="zip"):
        invite(a_loan(), [Invitee("a@example.com", Decimal(1))], {}, new_ids=["p-1", "p-2"], now=NOW, actor_id="x")


def test_invite_with_nobody_adds_nothing() -> None:
    after, created = invite(a_loan(), [], {}, new_ids=[], now=NOW, actor_id="x")
    assert created == ()
    assert after.total_invited == Decimal(0)


# ---- who may see and act ------------------------------------------------------------------------


def test_a_closed_loan_says_its_status() -> None:
    with pytest.raises(Conflict) as raised:
        require_open(a_loan(status=LoanStatus.FUNDED))
    assert raised.value.message == "The loan is FUNDED; it no longer takes changes"


def test_someone_else_s_loan_is_not_found_for_them() -> None:
    with pytest.raises(NotFound) as raised:
        borrower_view(a_loan(), "someone-else")
    assert raised.value.message == "Loan not found"
    with pytest.raises(NotFound) as missing:
        borrower_view(None, BORROWER)
    assert missing.value.message == "Loan not found"


def test_a_participant_is_told_the_action_is_the_borrower_s_and_a_stranger_learns_nothing() -> None:
    loan = with_pending(a_loan(), a_participant())
    with pytest.raises(Forbidden) as forbidden:
        borrower_action(loan, LENDER)
    assert forbidden.value.message == "Only the loan's borrower may do this"
    with pytest.raises(NotFound) as hidden:
        borrower_action(loan, "stranger")
    assert hidden.value.message == "Loan not found"


# ---- accepting and declining --------------------------------------------------------------------


def test_accepting_writes_the_participant_in_full() -> None:
    bank = BankSummary("Lena Lender", "checking", "0015", "6789")
    participant = a_participant()
    after, updated = respond(
        with_pending(a_loan(), participant), participant, accept=True, caller_id=LENDER, now=NOW, bank=bank
    )
    assert updated == replace(
        participant,
        status=ParticipantStatus.ACCEPTED,
        responded_at=NOW,
        bank=bank,
        version=3,
        updated_at=NOW,
        updated_by=LENDER,
    )
    assert (after.total_funded, after.pending_count, after.accepted_count) == (Decimal("400.00"), 0, 1)
    assert after.status == LoanStatus.FUNDING


def test_declining_keeps_no_bank_details_and_frees_the_amount() -> None:
    bank = BankSummary("Lena Lender", "checking", "0015", "6789")
    participant = a_participant()
    after, updated = respond(
        with_pending(a_loan(), participant), participant, accept=False, caller_id=LENDER, now=NOW, bank=bank
    )
    assert updated.bank is None
    assert (updated.status, updated.version, updated.responded_at) == (ParticipantStatus.DECLINED, 3, NOW)
    assert (after.total_invited, after.pending_count, after.declined_count) == (Decimal(0), 0, 1)


def test_answering_someone_else_s_or_a_withdrawn_invitation_is_not_found() -> None:
    participant = a_participant()
    loan = with_pending(a_loan(), participant)
    for who, invitation in ((BORROWER, participant), (LENDER, a_participant(ParticipantStatus.REMOVED))):
        with pytest.raises(NotFound) as raised:
            respond(loan, invitation, accept=True, caller_id=who, now=NOW)
        assert raised.value.message == "Invitation not found"


def test_answering_an_invitation_withdrawn_by_the_loans_cancellation_says_the_loan_is_cancelled() -> None:
    withdrawn = a_participant(ParticipantStatus.REMOVED)
    cancelled = replace(a_loan(), status=LoanStatus.CANCELLED)
    for accept in (True, False):
        with pytest.raises(Conflict) as raised:
            respond(cancelled, withdrawn, accept=accept, caller_id=LENDER, now=NOW)
        assert raised.value.message == "The loan is CANCELLED; it no longer takes changes"
    with pytest.raises(NotFound):  # to anyone but its lender, it still does not exist
        respond(cancelled, withdrawn, accept=True, caller_id=BORROWER, now=NOW)


def test_answering_twice_names_the_status() -> None:
    accepted = a_participant(ParticipantStatus.ACCEPTED)
    with pytest.raises(Conflict) as raised:
        respond(a_loan(), accepted, accept=False, caller_id=LENDER, now=NOW)
    assert raised.value.message == "The invitation is ACCEPTED, not PENDING"


# ---- PATCH ----------------------------------------------------------------------------------------


def test_patch_without_if_match_asks_for_it() -> None:
    with pytest.raises(PreconditionRequired) as raised:
        revise(a_loan(), BORROWER, None, {"purpose": "x"})
    assert raised.value.message == "Send If-Match with the loan version you read (its ETag)"


def test_patch_at_an_old_version_names_the_current_one() -> None:
    with pytest.raises(PreconditionFailed) as raised:
        revise(a_loan(), BORROWER, [1, 2], {"purpose": "x"})
    assert raised.value.message == "The loan is at version 3, not the one named in If-Match"
    assert raised.value.details == {"current_version": 3}


def test_patch_after_an_acceptance_is_a_conflict() -> None:
    with pytest.raises(Conflict) as raised:
        revise(a_loan(accepted_count=1), BORROWER, [3], {"purpose": "x"})
    assert raised.value.message == "The terms are fixed once an invitation has been accepted"


def test_patch_names_every_field_it_cannot_edit_in_order() -> None:
    with pytest.raises(ValidationFailed) as raised:
        revise(a_loan(), BORROWER, [3], {"status": "FUNDED", "amount": 1, "purpose": "x"})
    assert raised.value.message == "Not editable: amount, status"


def test_patch_at_the_current_version_changes_only_the_terms() -> None:
    revised = revise(a_loan(), BORROWER, [9, 3], {"purpose": "Vans", "term_months": 24})
    assert (revised.purpose, revised.term_months, revised.version) == ("Vans", 24, 3)


# ---- cancelling -----------------------------------------------------------------------------------


def test_a_funded_loan_cannot_be_cancelled_and_a_cancelled_one_only_once() -> None:
    with pytest.raises(Conflict) as funded:
        cancel(a_loan(status=LoanStatus.FUNDED), BORROWER, now=NOW, reason=None, max_withdrawals=10)
    assert funded.value.message == "A funded loan cannot be cancelled"
    with pytest.raises(Conflict) as again:
        cancel(a_loan(status=LoanStatus.CANCELLED), BORROWER, now=NOW, reason=None, max_withdrawals=10)
    assert again.value.message == "The loan is already cancelled"


def test_cancelling_withdraws_pending_invitations_as_the_borrower_and_records_who_when_and_why() -> None:
    first, second = a_participant(participant_id="p-1"), a_participant(participant_id="p-2")
    after, withdrawn = cancel(
        with_pending(a_loan(), first, second), BORROWER, now=NOW, reason="No longer needed", max_withdrawals=1
    )
    assert withdrawn == (
        (first, replace(first, status=ParticipantStatus.REMOVED, version=3, updated_at=NOW, updated_by=BORROWER)),
    )
    assert (after.status, after.total_invited, after.pending_count) == (LoanStatus.CANCELLED, Decimal("400.00"), 1)
    assert (after.deleted_at, after.deleted_by, after.deletion_reason) == (NOW, BORROWER, "No longer needed")


def test_an_interrupted_cancel_continues_without_rewriting_who_cancelled() -> None:
    leftover = a_participant()
    stopped = with_pending(
        a_loan(status=LoanStatus.CANCELLED, deleted_at=CREATED, deleted_by="first-actor", deletion_reason="why"),
        leftover,
    )
    after, withdrawn = cancel(stopped, BORROWER, now=NOW, reason="later", max_withdrawals=10)
    assert len(withdrawn) == 1
    assert (after.deleted_at, after.deleted_by, after.deletion_reason) == (CREATED, "first-actor", "why")
    assert after.total_invited == Decimal(0)


def test_cancelling_a_loan_without_invitations_frees_nothing() -> None:
    after, withdrawn = cancel(a_loan(), BORROWER, now=NOW, reason=None, max_withdrawals=10)
    assert withdrawn == ()
    assert after.total_invited == Decimal(0)


# ---- removing one participant ---------------------------------------------------------------------


def test_removing_a_pending_invitation_writes_it_in_full_and_frees_its_amount() -> None:
    participant = a_participant()
    after, before, removed = remove_participant(with_pending(a_loan(), participant), "p-1", BORROWER, now=NOW)
    assert before is participant
    assert removed == replace(
        participant, status=ParticipantStatus.REMOVED, version=3, updated_at=NOW, updated_by=BORROWER
    )
    assert (after.total_invited, after.pending_count) == (Decimal(0), 0)


@pytest.mark.parametrize("participants", [(), (a_participant(ParticipantStatus.REMOVED),)])
def test_removing_an_unknown_or_removed_participant_is_not_found(participants: tuple[Participant, ...]) -> None:
    with pytest.raises(NotFound) as raised:
        remove_participant(with_pending(a_loan(), *participants), "p-1", BORROWER, now=NOW)
    assert raised.value.message == "Participant not found"


def test_only_a_pending_invitation_can_be_removed() -> None:
    with pytest.raises(Conflict) as raised:
        remove_participant(with_pending(a_loan(), a_participant(ParticipantStatus.ACCEPTED)), "p-1", BORROWER, now=NOW)
    assert raised.value.message == "Only PENDING invitations can be removed; this one is ACCEPTED"


# ---- versions and audit -------------------------------------------------------------------------


def test_stamp_writes_every_audit_field_of_the_new_version() -> None:
    stamped = stamp(a_loan(), now=NOW, actor_id="actor-2", reason="fix")
    assert (stamped.version, stamped.updated_at, stamped.updated_by, stamped.change_reason) == (
        4,
        NOW,
        "actor-2",
        "fix",
    )


def test_changed_fields_lists_exactly_what_differs() -> None:
    before = a_loan()
    assert changed_fields(before, replace(before, purpose="Vans", term_months=6)) == ("term_months", "purpose")
    assert changed_fields(before, before) == ()
    assert changed_fields(None, before) == COMPARED_FIELDS


# ---- why a store refused invitations ------------------------------------------------------------


def refused(
    status: str | None = "FUNDING",
    remaining: str = "100.00",
    open_slots: int | None = 5,
    added: str = "50.00",
    count: int = 1,
) -> object:
    return invitations_refused(
        status=status, remaining=Decimal(remaining), open_slots=open_slots, added=Decimal(added), count=count
    )


def test_no_loan_or_no_failed_rule_means_the_loan_changed() -> None:
    for error in (refused(status=None), refused()):
        assert isinstance(error, VersionConflict)
        assert error.message == "The loan changed while this request ran"


def test_a_closed_loan_refuses_with_its_status() -> None:
    error = refused(status="CANCELLED")
    assert type(error) is Conflict
    assert error.message == "The loan is CANCELLED; it no longer takes changes"


def test_contributions_above_the_room_name_the_room_and_exactly_the_room_fits() -> None:
    error = refused(remaining="40.00", added="40.01")
    assert isinstance(error, InsufficientRoom)
    assert error.message == "Contributions exceed the 40.00 still open on this loan"
    assert error.field_errors == {"lenders": ["Total contributions exceed the remaining amount 40.00"]}
    assert error.details == {"remaining": "40.00"}
    assert isinstance(refused(remaining="40.00", added="40.00"), VersionConflict)


def test_the_cap_refuses_only_beyond_the_open_slots_and_not_for_a_loan_from_before_the_cap() -> None:
    full = refused(open_slots=2, count=3)
    assert isinstance(full, ValidationFailed)
    assert full.details == {"open_slots": 2}
    assert isinstance(refused(open_slots=3, count=3), VersionConflict)
    assert isinstance(refused(open_slots=None, count=1000), VersionConflict)
