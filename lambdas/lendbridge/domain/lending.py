"""The lending use cases: create loans, invite lenders, respond to invitations, list them."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from lendbridge.domain.claims import ClaimRequest
from lendbridge.domain.history import AuditEntry, FundingPoint, VersionRecord
from lendbridge.domain.loans import (
    AchDetails,
    Change,
    Invitee,
    Lender,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
    SealedBankAccount,
    VersionConflict,
    borrower_action,
    borrower_view,
    cancel,
    check_invitees,
    invite,
    remove_participant,
    require_open,
    respond,
    revise,
    stamp,
)
from lendbridge.domain.money import cents
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor, BankVault, Clock, IdGenerator, LoanStore
from lendbridge.errors import Conflict, LendbridgeError, NotFound, PreconditionFailed, RetryableError

T = TypeVar("T")

# Each withdrawn invitation takes three transaction actions (participant, guard, audit); with
# the loan and its audit entry, 30 keeps a write well under DynamoDB's 100 actions.
MAX_WITHDRAWALS_PER_WRITE = 30
CLAIM_RETRY_AFTER_S = 60


@dataclass(frozen=True)
class ItemOutcome:
    email: str
    participant_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class LoanTerms:
    amount: Decimal
    interest_rate: Decimal
    term_months: int
    purpose: str | None


@dataclass
class Lending:
    store: LoanStore
    vault: BankVault
    clock: Clock
    new_id: IdGenerator
    # Optimistic concurrency: a write that lost a race re-reads and tries again, within a budget
    # that keeps the request well inside the function timeout.
    retry_budget_s: float = 6.0
    sleep: Callable[[float], None] = time.sleep

    def create_loan(self, actor: Actor, terms: LoanTerms, invitees: Sequence[Invitee]) -> Loan:
        emails = [invitee.email.lower() for invitee in invitees]
        context = self.store.invitation_context(emails, profile_of=actor.user_id)
        if context.profile is None:
            raise NotFound("Register before creating loans")
        now = self.clock()
        amount = cents(terms.amount)
        check_invitees(invitees, borrower_id=actor.user_id, users_by_email=context.users_by_email, room=amount)
        loan = Loan(
            loan_id=self.new_id(),
            borrower_id=actor.user_id,
            borrower_name=context.profile.full_name,
            amount=amount,
            interest_rate=terms.interest_rate,
            term_months=terms.term_months,
            purpose=terms.purpose,
            status=LoanStatus.FUNDING,
            created_at=now,
            created_by=actor.user_id,
            updated_at=now,
            updated_by=actor.user_id,
        )
        after, created = invite(
            loan,
            invitees,
            context.users_by_email,
            new_ids=[self.new_id() for _ in invitees],
            now=now,
            actor_id=actor.user_id,
        )
        self.store.apply(Change(before=None, after=after, created=created), actor)
        return after

    def add_lenders(
        self, actor: Actor, loan_id: str, invitees: Sequence[Invitee]
    ) -> tuple[Loan, tuple[Participant, ...]]:
        """All or nothing. The rules are checked on what was read for a clear error; the
        database re-checks the money rule in the write itself, so a race cannot over-commit."""
        emails = [invitee.email.lower() for invitee in invitees]
        context = self.store.invitation_context(emails, loan_id=loan_id)
        loan = self._borrowers(context.loan, loan_id, actor.user_id)
        require_open(loan)
        check_invitees(
            invitees,
            borrower_id=actor.user_id,
            users_by_email=context.users_by_email,
            emails_on_loan=context.emails_on_loan,
            room=loan.remaining,
            open_slots=loan.open_slots,
        )
        now = self.clock()
        _, created = invite(
            loan,
            invitees,
            context.users_by_email,
            new_ids=[self.new_id() for _ in invitees],
            now=now,
            actor_id=actor.user_id,
        )
        self.store.add_participants(loan, created, actor, now)
        # The loan item alone (1 read unit at any size) carries the totals the response shows.
        stored = self.store.header(loan_id)
        if stored is None:  # pragma: no cover - the write above just succeeded
            raise NotFound("Loan not found")
        return stored, created

    def add_each(self, actor: Actor, loan_id: str, invitees: Sequence[Invitee]) -> list[ItemOutcome]:
        """Batch invitations: each stands alone, as its own atomic write under the money rule;
        a failing item never affects another."""
        emails = [invitee.email.lower() for invitee in invitees]
        context = self.store.invitation_context(emails, loan_id=loan_id)
        loan = self._borrowers(context.loan, loan_id, actor.user_id)
        require_open(loan)
        on_loan = set(context.emails_on_loan)
        room = loan.remaining
        slots = loan.open_slots
        outcomes: list[ItemOutcome] = []
        for invitee in invitees:
            email = invitee.email.lower()
            try:
                check_invitees(
                    [invitee],
                    borrower_id=actor.user_id,
                    users_by_email=context.users_by_email,
                    emails_on_loan=on_loan,
                    room=room,
                    open_slots=slots,
                )
                now = self.clock()
                _, created = invite(
                    loan, [invitee], context.users_by_email, new_ids=[self.new_id()], now=now, actor_id=actor.user_id
                )
                self.store.add_participants(loan, created, actor, now)
            except LendbridgeError as refusal:
                if isinstance(refusal, RetryableError):
                    raise
                outcomes.append(ItemOutcome(email=email, error=refusal.message))
                continue
            on_loan.add(email)
            room -= created[0].contribution_amount
            slots -= 1
            outcomes.append(ItemOutcome(email=email, participant_id=created[0].participant_id))
        return outcomes

    def revise(
        self, actor: Actor, loan_id: str, expected_versions: Sequence[int] | None, terms: dict[str, Any], reason: str
    ) -> Loan:
        loan = self._existing(loan_id)
        revised = revise(loan, actor.user_id, expected_versions, terms)
        if revised == loan:
            # Every named term already has that value: nothing changed, so no version, no
            # history entry and no audit entry; the answer is the loan as it stands.
            return _without_removed(loan)
        now = self.clock()
        after = stamp(revised, now=now, actor_id=actor.user_id, reason=reason)
        try:
            self.store.apply(Change(before=loan, after=after), actor)
        except VersionConflict:
            # Another write moved the loan past the version If-Match named.
            raise PreconditionFailed("The loan changed since you read it; read it again") from None
        return _without_removed(after)

    def cancel(self, actor: Actor, loan_id: str, reason: str | None) -> None:
        """Cancels in as many writes as the pending invitations need (each one a transaction)."""
        while True:

            def attempt() -> bool:
                loan = self._existing(loan_id)
                now = self.clock()
                after, withdrawn = cancel(
                    loan, actor.user_id, now=now, reason=reason, max_withdrawals=MAX_WITHDRAWALS_PER_WRITE
                )
                after = stamp(after, now=now, actor_id=actor.user_id, reason=reason)
                self.store.apply(Change(before=loan, after=after, updated=withdrawn), actor)
                # Counted from the participants read, not the loan's counter: an unreadable
                # participant item must not keep this loop going.
                pending = sum(1 for p in loan.participants if p.status == ParticipantStatus.PENDING)
                return pending > len(withdrawn)

            if not self._retrying(attempt):
                return

    def remove_participant(self, actor: Actor, loan_id: str, participant_id: str) -> Loan:
        def attempt() -> Loan:
            loan = self._existing(loan_id)
            now = self.clock()
            after, before_p, removed = remove_participant(loan, participant_id, actor.user_id, now=now)
            after = stamp(after, now=now, actor_id=actor.user_id)
            self.store.apply(Change(before=loan, after=after, updated=((before_p, removed),)), actor)
            return after

        return self._retrying(attempt)

    def versions(self, caller_id: str, loan_id: str, limit: int, position: Position | None) -> Page[VersionRecord]:
        """The loan's version history, newest first: the borrower's only."""
        borrower_view(self.store.header(loan_id), caller_id)
        return self.store.versions_page(loan_id, limit, position)

    def funding_points(self, caller_id: str, loan_id: str, limit: int, position: Position | None) -> Page[FundingPoint]:
        """The loan's funding time series, oldest first: the borrower's only."""
        borrower_view(self.store.header(loan_id), caller_id)
        return self.store.funding_page(loan_id, limit, position)

    def audit_log(self, caller_id: str, loan_id: str, limit: int, position: Position | None) -> Page[AuditEntry]:
        borrower_view(self.store.header(loan_id), caller_id)
        return self.store.audit_page(loan_id, limit, position)

    def _existing(self, loan_id: str) -> Loan:
        loan = self.store.get(loan_id)
        if loan is None:
            raise NotFound("Loan not found")
        return loan

    def get_loan(self, caller_id: str, loan_id: str) -> Loan:
        """The loan, cancelled ones included (with their deletion fields), to its borrower and
        participants; lists leave cancelled loans out, a direct read does not."""
        loan = self.store.get(loan_id)
        if loan is None or not loan.visible_to(caller_id):
            raise NotFound("Loan not found")
        return _as_seen_by(_without_removed(loan), caller_id)

    def _borrowers(self, header: Loan | None, loan_id: str, caller_id: str) -> Loan:
        """``header`` (the loan item alone) if the caller is its borrower. Otherwise the
        participants are read, only on this refusal path, to tell 403 from 404."""
        if header is not None and header.borrower_id == caller_id:
            return header
        return borrower_action(self.store.get(loan_id) if header is not None else None, caller_id)

    def my_loans(self, caller_id: str, limit: int, position: Position | None) -> Page[Loan]:
        page = self.store.borrower_page(caller_id, limit, position)
        return Page([_without_removed(loan) for loan in page.items], page.next_position)

    def lender_participations(
        self, caller_id: str, status: ParticipantStatus, limit: int, position: Position | None
    ) -> Page[tuple[Participant, Loan]]:
        page = self.store.lender_page(caller_id, status, limit, position)
        # A cancelled loan's accepted participations leave the portfolio with it.
        live = [(p, loan) for p, loan in page.items if loan.status != LoanStatus.CANCELLED]
        return Page(live, page.next_position)

    def accept(self, actor: Actor, participant_id: str, ach: AchDetails) -> tuple[Participant, Loan]:
        return self._respond(actor, participant_id, ach=ach, reason=None)

    def decline(self, actor: Actor, participant_id: str, reason: str | None) -> tuple[Participant, Loan]:
        return self._respond(actor, participant_id, ach=None, reason=reason)

    def _respond(
        self, actor: Actor, participant_id: str, *, ach: AchDetails | None, reason: str | None
    ) -> tuple[Participant, Loan]:
        """Accept (with bank details) or decline, retried on a concurrent change of the loan."""
        sealed: list[SealedBankAccount] = []

        def attempt() -> tuple[Participant, Loan]:
            loan, participant = self._invitation(participant_id)
            now = self.clock()
            after_loan, after_participant = respond(
                loan,
                participant,
                accept=ach is not None,
                caller_id=actor.user_id,
                now=now,
                bank=ach.summary() if ach else None,
            )
            if ach is not None and not sealed:  # encrypt once, even if the write has to be retried
                sealed.append(self.vault.seal(loan.loan_id, participant_id, ach))
            after_loan = stamp(after_loan, now=now, actor_id=actor.user_id, reason=reason)
            change = Change(before=loan, after=after_loan, updated=((participant, after_participant),))
            self.store.apply(change, actor, bank=sealed[0] if sealed else None)
            return after_participant, after_loan

        return self._retrying(attempt)

    def _invitation(self, participant_id: str) -> tuple[Loan, Participant]:
        found = self.store.find_participant(participant_id)
        if found is None:
            raise NotFound("Invitation not found")
        return found

    def _retrying(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_budget_s
        delay = 0.01
        while True:
            try:
                return attempt()
            except VersionConflict:
                if time.monotonic() + delay > deadline:
                    raise Conflict("The loan is being changed by other requests; please retry") from None
                self.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not security
                delay = min(delay * 2, 0.25)


class ClaimsPending(RetryableError):
    """Some invitations could not be claimed yet; the claim is tried again later."""


@dataclass
class InvitationClaims:
    """Invitations sent to an email before its account existed become the new user's:
    the participant keeps its id; its lender is filled in place. Runs in the claim worker,
    never in the sign-up path: a user may have been invited to any number of loans."""

    store: LoanStore
    clock: Clock
    page_size: int = 100

    def claim(self, request: ClaimRequest) -> int:
        """Claims every unclaimed invitation, page by page, each in its own conditional write;
        returns how many this call claimed. Running it again is harmless: a claimed invitation
        leaves the email's list, and its write is conditional on having no lender.

        The list is an index, so an invitation may be read at an older version than stored;
        its claim is then refused. Those are left for a later attempt (``ClaimsPending``):
        by then the index has caught up, and whatever was claimed meanwhile is off the list."""
        lender = Lender(user_id=request.user_id, full_name=request.full_name)
        actor = Actor(user_id=request.user_id, request_id=request.request_id)
        now = self.clock()
        claimed, refused, position = 0, 0, None
        while True:
            page = self.store.invitations_page(request.email_digest, self.page_size, position)
            for participant in page.items:
                if participant.lender_id is not None:
                    continue
                if self.store.claim(participant, lender, actor, now):
                    claimed += 1
                else:
                    refused += 1
            if page.next_position is None:
                break
            position = page.next_position
        if refused:
            raise ClaimsPending(f"{refused} invitation(s) changed while being claimed", retry_after=CLAIM_RETRY_AFTER_S)
        return claimed


def _without_removed(loan: Loan) -> Loan:
    return replace(loan, participants=tuple(p for p in loan.participants if p.status != ParticipantStatus.REMOVED))


def _as_seen_by(loan: Loan, caller_id: str) -> Loan:
    """A lender sees who else takes part and for how much, but only its own bank details: the
    holder's name and last digits of another lender's account are the borrower's to know."""
    if caller_id == loan.borrower_id:
        return loan
    return replace(
        loan, participants=tuple(p if p.lender_id == caller_id else replace(p, bank=None) for p in loan.participants)
    )
