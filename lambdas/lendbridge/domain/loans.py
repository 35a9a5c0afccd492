"""Loans and their participants: entities and the rules that change them (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from lendbridge.domain.money import ZERO, cents, percentage
from lendbridge.errors import (
    Conflict,
    Forbidden,
    LendbridgeError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)

MAX_LENDERS_PER_REQUEST = 20
# The contract's cap on PENDING plus ACCEPTED participants of one loan. The loan item carries
# ``open_slots`` (this cap minus its live participants) so DynamoDB enforces it in the write.
MAX_LIVE_PARTICIPANTS = 100


class LoanStatus(StrEnum):
    FUNDING = "FUNDING"
    FUNDED = "FUNDED"
    CANCELLED = "CANCELLED"


class ParticipantStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    REMOVED = "REMOVED"


@dataclass(frozen=True)
class Invitee:
    email: str
    contribution: Decimal


@dataclass(frozen=True)
class Lender:
    """A registered user an invitation can name at once."""

    user_id: str
    full_name: str


@dataclass(frozen=True)
class BankSummary:
    """What may leave the API about a lender's bank account: never the numbers themselves."""

    account_holder_name: str
    account_type: str
    routing_number_last4: str
    account_number_last4: str


@dataclass(frozen=True)
class AchDetails:
    """Bank details as the lender submits them; only the vault ever sees the full numbers."""

    account_holder_name: str
    routing_number: str
    account_number: str
    account_type: str

    def summary(self) -> BankSummary:
        return BankSummary(
            account_holder_name=self.account_holder_name,
            account_type=self.account_type,
            routing_number_last4=self.routing_number[-4:],
            account_number_last4=self.account_number[-4:],
        )

    def __repr__(self) -> str:  # never print the numbers, even in a traceback
        return f"AchDetails(account_type={self.account_type!r}, routing=***{self.routing_number[-4:]})"


@dataclass(frozen=True)
class SealedBankAccount:
    participant_id: str
    ciphertext: bytes
    key_id: str


@dataclass(frozen=True)
class Participant:
    participant_id: str
    loan_id: str
    borrower_id: str
    loan_created_at: datetime
    lender_email: str
    contribution_amount: Decimal
    status: ParticipantStatus
    invited_at: datetime
    lender_id: str | None = None
    lender_name: str | None = None
    responded_at: datetime | None = None
    bank: BankSummary | None = None
    version: int = 1
    created_by: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def is_live(self) -> bool:
        """Counts toward the loan's invited total."""
        return self.status in (ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED)


@dataclass(frozen=True)
class Loan:
    loan_id: str
    borrower_id: str
    borrower_name: str
    amount: Decimal
    # None only when a stored item lost the attribute (a PATCH with null once removed it): the
    # loan stays readable, cancellable and repairable by a PATCH instead of failing every read.
    interest_rate: Decimal | None
    term_months: int | None
    purpose: str | None
    status: LoanStatus
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int = 1
    total_invited: Decimal = ZERO
    total_funded: Decimal = ZERO
    pending_count: int = 0
    accepted_count: int = 0
    declined_count: int = 0
    largest_contribution: Decimal | None = None
    smallest_contribution: Decimal | None = None
    change_reason: str | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    deletion_reason: str | None = None
    participants: tuple[Participant, ...] = field(default=(), compare=False)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.total_invited

    @property
    def participant_count(self) -> int:
        return self.pending_count + self.accepted_count + self.declined_count

    @property
    def live_count(self) -> int:
        """Participants that hold a slot under the cap (PENDING or ACCEPTED)."""
        return self.pending_count + self.accepted_count

    @property
    def open_slots(self) -> int:
        return MAX_LIVE_PARTICIPANTS - self.live_count

    @property
    def funding_percentage(self) -> Decimal:
        return percentage(self.total_funded, self.amount)

    @property
    def is_fully_funded(self) -> bool:
        return self.total_funded >= self.amount

    @property
    def average_contribution(self) -> Decimal | None:
        return cents(self.total_funded / self.accepted_count) if self.accepted_count else None

    def visible_to(self, user_id: str) -> bool:
        return user_id == self.borrower_id or any(
            p.lender_id == user_id for p in self.participants if p.status != ParticipantStatus.REMOVED
        )


@dataclass(frozen=True)
class Change:
    """A loan write as the store must make it: the state read, the state to write, and the
    participants it creates or changes. The store applies it only if the loan is unchanged."""

    before: Loan | None
    after: Loan
    created: tuple[Participant, ...] = ()
    updated: tuple[tuple[Participant, Participant], ...] = ()
    changed_fields: tuple[str, ...] = ()


def check_invitees(
    invitees: Sequence[Invitee],
    *,
    borrower_id: str,
    users_by_email: dict[str, Lender],
    emails_on_loan: Iterable[str] = (),
    room: Decimal,
    open_slots: int = MAX_LIVE_PARTICIPANTS,
) -> None:
    """The contract's lender rules; every failure names the offending email."""
    if len(invitees) > MAX_LENDERS_PER_REQUEST:
        raise ValidationFailed(
            f"At most {MAX_LENDERS_PER_REQUEST} lenders per request; got {len(invitees)}",
            field_errors={"lenders": [f"At most {MAX_LENDERS_PER_REQUEST} lenders; got {len(invitees)}"]},
        )
    if len(invitees) > open_slots:
        raise too_many_participants(open_slots)
    seen: set[str] = set()
    already = {email.lower() for email in emails_on_loan}
    for index, invitee in enumerate(invitees):
        email = invitee.email.lower()
        where = f"lenders[{index}].email"
        if email in seen:
            raise _lender_error(where, f"Duplicate lender email in the request: {email}", email)
        seen.add(email)
        if email in already:
            raise _lender_error(where, f"Lender {email} is already invited to this loan", email)
        lender = users_by_email.get(email)
        if lender is not None and lender.user_id == borrower_id:
            raise _lender_error(where, f"You cannot invite yourself ({email})", email)
    total = sum((invitee.contribution for invitee in invitees), ZERO)
    if total > room:
        raise ValidationFailed(
            f"Contributions total {total:.2f}, above the {room:.2f} still open on this loan",
            field_errors={"lenders": [f"Total contributions exceed the remaining amount {room:.2f}"]},
            details={"requested": f"{total:.2f}", "remaining": f"{room:.2f}"},
        )


def too_many_participants(open_slots: int) -> ValidationFailed:
    message = (
        f"A loan has at most {MAX_LIVE_PARTICIPANTS} pending or accepted participants; "
        f"{max(open_slots, 0)} more can be invited"
    )
    return ValidationFailed(message, field_errors={"lenders": [message]}, details={"open_slots": max(open_slots, 0)})


def _lender_error(field_name: str, message: str, email: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={field_name: [message]}, details={"email": email})


def invite(
    loan: Loan,
    invitees: Sequence[Invitee],
    users_by_email: dict[str, Lender],
    *,
    new_ids: Sequence[str],
    now: datetime,
    actor_id: str,
) -> tuple[Loan, tuple[Participant, ...]]:
    def participant(participant_id: str, invitee: Invitee) -> Participant:
        lender = users_by_email.get(invitee.email.lower())
        return Participant(
            participant_id=participant_id,
            loan_id=loan.loan_id,
            borrower_id=loan.borrower_id,
            loan_created_at=loan.created_at,
            lender_email=invitee.email.lower(),
            contribution_amount=cents(invitee.contribution),
            status=ParticipantStatus.PENDING,
            invited_at=now,
            lender_id=lender.user_id if lender else None,
            lender_name=lender.full_name if lender else None,
            created_by=actor_id,
            updated_at=now,
            updated_by=actor_id,
        )

    participants = tuple(
        participant(participant_id, invitee) for participant_id, invitee in zip(new_ids, invitees, strict=True)
    )
    added = sum((p.contribution_amount for p in participants), ZERO)
    after = replace(
        loan,
        total_invited=loan.total_invited + added,
        pending_count=loan.pending_count + len(participants),
        participants=loan.participants + participants,
    )
    return after, participants


def require_open(loan: Loan) -> None:
    if loan.status != LoanStatus.FUNDING:
        raise Conflict(f"The loan is {loan.status.value}; it no longer takes changes")


def borrower_view(loan: Loan | None, caller_id: str) -> Loan:
    """The loan if the caller is its borrower; otherwise it does not exist for them."""
    if loan is None or loan.borrower_id != caller_id:
        raise NotFound("Loan not found")
    return loan


def borrower_action(loan: Loan | None, caller_id: str) -> Loan:
    """A borrower's action: a participant, who can see the loan, is told it is not theirs to
    do (403); anyone else learns nothing about the loan (404). ``loan`` needs its participants."""
    if loan is not None and loan.borrower_id == caller_id:
        return loan
    if loan is not None and loan.visible_to(caller_id):
        raise Forbidden("Only the loan's borrower may do this")
    raise NotFound("Loan not found")


def respond(
    loan: Loan,
    participant: Participant,
    *,
    accept: bool,
    caller_id: str,
    now: datetime,
    bank: BankSummary | None = None,
) -> tuple[Loan, Participant]:
    """Accept or decline an invitation. The loan becomes FUNDED in this very change when the
    accepted contributions reach its amount. An invitation withdrawn when its loan was cancelled
    (or one its borrower removed from a loan since funded) answers why: the loan's state (409),
    as the contract has it; one withdrawn from a loan still open is gone (404)."""
    if participant.lender_id != caller_id:
        raise NotFound("Invitation not found")
    if participant.status == ParticipantStatus.REMOVED:
        require_open(loan)
        raise NotFound("Invitation not found")
    if participant.status != ParticipantStatus.PENDING:
        raise Conflict(f"The invitation is {participant.status.value}, not PENDING")
    require_open(loan)
    amount = participant.contribution_amount
    updated = replace(
        participant,
        status=ParticipantStatus.ACCEPTED if accept else ParticipantStatus.DECLINED,
        responded_at=now,
        bank=bank if accept else None,
        version=participant.version + 1,
        updated_at=now,
        updated_by=caller_id,
    )
    if accept:
        funded = loan.total_funded + amount
        after = replace(
            loan,
            total_funded=funded,
            pending_count=loan.pending_count - 1,
            accepted_count=loan.accepted_count + 1,
            largest_contribution=max(loan.largest_contribution or amount, amount),
            smallest_contribution=min(loan.smallest_contribution or amount, amount),
            status=LoanStatus.FUNDED if funded >= loan.amount else loan.status,
        )
    else:
        after = replace(
            loan,
            total_invited=loan.total_invited - amount,
            pending_count=loan.pending_count - 1,
            declined_count=loan.declined_count + 1,
        )
    return after, updated


EDITABLE_TERMS = ("interest_rate", "term_months", "purpose")


def revise(loan: Loan, caller_id: str, expected_versions: Iterable[int] | None, terms: dict[str, object]) -> Loan:
    """PATCH: only the borrower, only at a version they read (If-Match), only before any
    acceptance. ``expected_versions`` is None when no If-Match was sent."""
    loan = borrower_action(loan, caller_id)
    if expected_versions is None:
        raise PreconditionRequired("Send If-Match with the loan version you read (its ETag)")
    expected = set(expected_versions)
    if loan.version not in expected:
        raise PreconditionFailed(
            f"The loan is at version {loan.version}, not the one named in If-Match",
            details={"current_version": loan.version},
        )
    require_open(loan)
    if loan.accepted_count:
        raise Conflict("The terms are fixed once an invitation has been accepted")
    unknown = set(terms) - set(EDITABLE_TERMS)
    if unknown:
        raise ValidationFailed(f"Not editable: {', '.join(sorted(unknown))}")
    return replace(loan, **terms)  # type: ignore[arg-type]


def cancel(
    loan: Loan, caller_id: str, *, now: datetime, reason: str | None, max_withdrawals: int
) -> tuple[Loan, tuple[tuple[Participant, Participant], ...]]:
    """Soft delete: status CANCELLED with who, when and why; pending invitations withdrawn, at
    most ``max_withdrawals`` per write so each write fits one transaction. A cancelled loan that
    still has pending invitations (an interrupted cancel) continues where it stopped."""
    loan = borrower_action(loan, caller_id)
    pending = [p for p in loan.participants if p.status == ParticipantStatus.PENDING]
    if loan.status == LoanStatus.FUNDED:
        raise Conflict("A funded loan cannot be cancelled")
    if loan.status == LoanStatus.CANCELLED and not pending:
        raise Conflict("The loan is already cancelled")
    withdrawn = tuple(
        (p, replace(p, status=ParticipantStatus.REMOVED, version=p.version + 1, updated_at=now, updated_by=caller_id))
        for p in pending[:max_withdrawals]
    )
    freed = sum((p.contribution_amount for p, _ in withdrawn), ZERO)
    first = loan.status != LoanStatus.CANCELLED
    after = replace(
        loan,
        status=LoanStatus.CANCELLED,
        total_invited=loan.total_invited - freed,
        pending_count=loan.pending_count - len(withdrawn),
        deleted_at=now if first else loan.deleted_at,
        deleted_by=caller_id if first else loan.deleted_by,
        deletion_reason=reason if first else loan.deletion_reason,
    )
    return after, withdrawn


def remove_participant(
    loan: Loan, participant_id: str, caller_id: str, *, now: datetime
) -> tuple[Loan, Participant, Participant]:
    """Withdraw one PENDING invitation; its amount is free again."""
    loan = borrower_action(loan, caller_id)
    participant = next((p for p in loan.participants if p.participant_id == participant_id), None)
    if participant is None or participant.status == ParticipantStatus.REMOVED:
        raise NotFound("Participant not found")
    if participant.status != ParticipantStatus.PENDING:
        raise Conflict(f"Only PENDING invitations can be removed; this one is {participant.status.value}")
    require_open(loan)
    removed = replace(
        participant,
        status=ParticipantStatus.REMOVED,
        version=participant.version + 1,
        updated_at=now,
        updated_by=caller_id,
    )
    after = replace(
        loan,
        total_invited=loan.total_invited - participant.contribution_amount,
        pending_count=loan.pending_count - 1,
    )
    return after, participant, removed


def stamp(loan: Loan, *, now: datetime, actor_id: str, reason: str | None = None) -> Loan:
    """The audit fields of a new loan version."""
    return replace(loan, version=loan.version + 1, updated_at=now, updated_by=actor_id, change_reason=reason)


# Every attribute a stored loan carries besides its keys, in the order snapshots show them.
# What a write sets, what a version snapshot copies and what an audit entry compares are all
# drawn from this one list; each name is an attribute (or property) of ``Loan``.
LOAN_FIELDS = (
    "loan_id",
    "borrower_id",
    "borrower_name",
    "amount",
    "interest_rate",
    "term_months",
    "purpose",
    "status",
    "total_invited",
    "total_funded",
    "remaining",
    "funding_percentage",
    "is_fully_funded",
    "participant_count",
    "open_slots",
    "pending_count",
    "accepted_count",
    "declined_count",
    "average_contribution",
    "largest_contribution",
    "smallest_contribution",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "change_reason",
    "deleted_at",
    "deleted_by",
    "deletion_reason",
)
# Written once, when the loan is created; every later write leaves them alone.
LOAN_IDENTITY = frozenset({"loan_id", "borrower_id", "created_at", "created_by"})
# Derived figures and the bookkeeping of every write: an audit entry records what changed.
_NOT_COMPARED = LOAN_IDENTITY | {
    "borrower_name",
    "remaining",
    "funding_percentage",
    "is_fully_funded",
    "participant_count",
    "open_slots",
    "average_contribution",
    "version",
    "updated_at",
    "updated_by",
    "change_reason",
}
COMPARED_FIELDS = tuple(name for name in LOAN_FIELDS if name not in _NOT_COMPARED)


def changed_fields(before: Loan | None, after: Loan) -> tuple[str, ...]:
    if before is None:
        return COMPARED_FIELDS
    return tuple(name for name in COMPARED_FIELDS if getattr(before, name) != getattr(after, name))


class VersionConflict(Conflict):
    """The loan (or a participant) changed between read and write; the caller may re-read."""


class InsufficientRoom(ValidationFailed):
    """The database refused contributions above what is still open on the loan."""


class InviteeAlreadyOnLoan(ValidationFailed):
    """A concurrent request invited the same email first."""


def loan_record_full() -> Conflict:
    """The loan's record cannot grow any further: every participant it lists, declined ones
    included, is on one item, which DynamoDB caps at 400 KB (about 2,000 entries)."""
    return Conflict(
        "This loan cannot record more invitations or changes to them: it already lists the most "
        "participants one loan can hold, declined ones included"
    )


def already_invited(email: str) -> InviteeAlreadyOnLoan:
    return InviteeAlreadyOnLoan(
        f"Lender {email} is already invited to this loan",
        field_errors={"lenders": [f"{email} is already invited to this loan"]},
        details={"email": email},
    )


def invitations_refused(
    *, status: str | None, remaining: Decimal, open_slots: int | None, added: Decimal, count: int
) -> LendbridgeError:
    """Why a store refused new invitations, from the loan as it was when it refused (``status``
    None: there was no loan; ``open_slots`` None: a loan from before the cap): the first rule
    that failed; if none did, the loan merely changed meanwhile."""
    if status is None:
        return VersionConflict("The loan changed while this request ran")
    if status != LoanStatus.FUNDING.value:
        return Conflict(f"The loan is {status}; it no longer takes changes")
    if remaining < added:
        return InsufficientRoom(
            f"Contributions exceed the {remaining:.2f} still open on this loan",
            field_errors={"lenders": [f"Total contributions exceed the remaining amount {remaining:.2f}"]},
            details={"remaining": f"{remaining:.2f}"},
        )
    if open_slots is not None and open_slots < count:
        return too_many_participants(open_slots)
    return VersionConflict("The loan changed while this request ran")
