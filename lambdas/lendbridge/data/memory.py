"""The loan store in memory: the same port, conditions and answers as ``DynamoLoanStore``, so the
domain's rules are tested in milliseconds. ``tests/integration/test_store_contract.py`` runs one
suite against both stores so they cannot drift. Not thread-safe; never wired into a function.

Each write checks every condition before it changes anything, like a DynamoDB transaction; the
order of the checks follows the order in which the DynamoDB store decodes a cancellation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from lendbridge.data import keys
from lendbridge.data.history import point_of, version_of
from lendbridge.data.items import audited_loan, audited_participant, loan_item
from lendbridge.domain.accounts import EmailTaken, UserProfile
from lendbridge.domain.history import AuditAction, AuditEntry, FundingPoint, VersionRecord, funding_point, version_entry
from lendbridge.domain.loans import (
    Change,
    Lender,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
    SealedBankAccount,
    VersionConflict,
    already_invited,
    changed_fields,
    invitations_refused,
)
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor, IdGenerator, InvitationContext, new_id
from lendbridge.timestamps import iso

T = TypeVar("T")


class MemoryUserStore:
    """Profiles and the email lookup that keeps emails unique."""

    def __init__(self) -> None:
        self.profiles: dict[str, UserProfile] = {}
        self.by_email: dict[str, str] = {}

    def create(self, profile: UserProfile, actor: Actor) -> None:
        email = keys.normalise_email(profile.email)
        if email in self.by_email or profile.user_id in self.profiles:
            raise EmailTaken("An account with this email already exists")
        self.profiles[profile.user_id] = replace(profile, email=email)
        self.by_email[email] = profile.user_id

    def get(self, user_id: str) -> UserProfile | None:
        return self.profiles.get(user_id)


class MemoryLoanStore:
    def __init__(self, users: MemoryUserStore | None = None, new_id: IdGenerator = new_id) -> None:
        self.users = users or MemoryUserStore()
        self._new_id = new_id
        self.loans: dict[str, Loan] = {}  # headers: participants live in ``participants``
        self.participants: dict[str, Participant] = {}
        self.guards: dict[tuple[str, str], tuple[str, bool]] = {}  # (loan, email) -> (participant, active)
        self.banks: dict[str, SealedBankAccount] = {}
        self.versions: dict[str, list[VersionRecord]] = {}
        self.points: dict[str, list[FundingPoint]] = {}
        self.audit: dict[str, list[AuditEntry]] = {}
        # Runs once just before the next write checks its conditions: a concurrent writer.
        self.before_next_write: Callable[[], None] | None = None

    # ---- reads -------------------------------------------------------------------------

    def get(self, loan_id: str) -> Loan | None:
        loan = self.loans.get(loan_id)
        if loan is None:
            return None
        # As the DynamoDB store's roster: withdrawn (REMOVED) participants are not listed.
        mine = (p for p in self.participants.values() if p.loan_id == loan_id and p.status != ParticipantStatus.REMOVED)
        return replace(loan, participants=tuple(sorted(mine, key=_invited, reverse=True)))

    def header(self, loan_id: str) -> Loan | None:
        return self.loans.get(loan_id)

    def invitation_context(
        self, emails: Sequence[str], *, loan_id: str | None = None, profile_of: str | None = None
    ) -> InvitationContext:
        loan = self.loans.get(loan_id) if loan_id else None
        on_loan = frozenset(e for e in emails if loan_id and self.guards.get((loan_id, e), ("", False))[1])
        users = {}
        for email in emails:
            user_id = self.users.by_email.get(keys.normalise_email(email))
            if user_id is not None:
                users[email] = Lender(user_id=user_id, full_name=self.users.profiles[user_id].full_name)
        profile = self.users.get(profile_of) if profile_of else None
        return InvitationContext(loan, on_loan, users, profile)

    def borrower_page(self, borrower_id: str, limit: int, position: Position | None) -> Page[Loan]:
        """Cancelled loans leave the borrower's list, as they leave its sparse index."""
        listed = [
            loan
            for loan in self.loans.values()
            if loan.borrower_id == borrower_id and loan.status != LoanStatus.CANCELLED
        ]
        page = _page(listed, lambda loan: f"{iso(loan.created_at)}#{loan.loan_id}", limit, position, newest_first=True)
        return Page([loan for loan in (self.get(item.loan_id) for item in page.items) if loan], page.next_position)

    def lender_page(
        self, lender_id: str, status: ParticipantStatus, limit: int, position: Position | None
    ) -> Page[tuple[Participant, Loan]]:
        mine = [p for p in self.participants.values() if p.lender_id == lender_id and p.status == status]
        page = _page(mine, _lender_sort_key, limit, position, newest_first=True)
        return Page([(p, self.loans[p.loan_id]) for p in page.items], page.next_position)

    def find_participant(self, participant_id: str) -> tuple[Loan, Participant] | None:
        participant = self.participants.get(participant_id)
        if participant is None:
            return None
        return self.loans[participant.loan_id], participant

    def invitations_page(self, email_digest: str, limit: int, position: Position | None) -> Page[Participant]:
        unclaimed = [
            p
            for p in self.participants.values()
            if p.lender_id is None
            and p.status != ParticipantStatus.REMOVED
            and keys.email_digest(p.lender_email) == email_digest
        ]
        return _page(unclaimed, _lender_sort_key, limit, position, newest_first=False)

    def versions_page(self, loan_id: str, limit: int, position: Position | None) -> Page[VersionRecord]:
        records = self.versions.get(loan_id, [])
        return _page(records, lambda record: keys.version_sk(record.version), limit, position, newest_first=True)

    def funding_page(self, loan_id: str, limit: int, position: Position | None) -> Page[FundingPoint]:
        points = self.points.get(loan_id, [])
        return _page(
            points, lambda p: keys.funding_sk(iso(p.timestamp), p.version), limit, position, newest_first=False
        )

    def audit_page(self, loan_id: str, limit: int, position: Position | None) -> Page[AuditEntry]:
        entries = self.audit.get(loan_id, [])
        return _page(entries, lambda e: f"{iso(e.timestamp)}#{e.audit_id}", limit, position, newest_first=True)

    # ---- writes ------------------------------------------------------------------------

    def apply(self, change: Change, actor: Actor, *, bank: SealedBankAccount | None = None) -> None:
        self._concurrent_writer()
        after = change.after
        stored = self.loans.get(after.loan_id)
        self._check(change, stored, bank)

        timestamp = after.updated_at
        for participant in change.created:
            self._invite(participant, actor, timestamp)
        for before, updated in change.updated:
            self.participants[updated.participant_id] = updated
            if _releases_guard(updated):
                self.guards[(updated.loan_id, updated.lender_email)] = (updated.participant_id, False)
            action: AuditAction = "DELETE" if updated.status == ParticipantStatus.REMOVED else "UPDATE"
            self._audit(
                actor,
                timestamp,
                "participant",
                updated.participant_id,
                action,
                audited_participant(before),
                audited_participant(updated),
                after.loan_id,
            )
        if bank is not None:
            self.banks[bank.participant_id] = bank
        loan_action: AuditAction = (
            "CREATE" if change.before is None else ("DELETE" if after.status == LoanStatus.CANCELLED else "UPDATE")
        )
        fields = change.changed_fields or changed_fields(change.before, after)
        self._audit(
            actor,
            timestamp,
            "loan",
            after.loan_id,
            loan_action,
            audited_loan(change.before, fields),
            audited_loan(after, fields),
            after.loan_id,
        )
        self._store_loan(stored, replace(after, participants=()))

    def add_participants(self, loan: Loan, created: Sequence[Participant], actor: Actor, now: datetime) -> None:
        self._concurrent_writer()
        added = sum((p.contribution_amount for p in created), Decimal("0"))
        count = len(created)
        stored = self.loans.get(loan.loan_id)
        if (
            stored is None
            or stored.status != LoanStatus.FUNDING
            or stored.borrower_id != actor.user_id
            or stored.remaining < added
            or stored.open_slots < count
        ):
            raise invitations_refused(
                status=stored.status.value if stored else None,
                remaining=stored.remaining if stored else Decimal(0),
                open_slots=stored.open_slots if stored else None,
                added=added,
                count=count,
            )
        for participant in created:
            if not self._guard_free(participant):
                raise already_invited(participant.lender_email)
        for participant in created:
            self.participants[participant.participant_id] = participant
            self.guards[(participant.loan_id, participant.lender_email)] = (participant.participant_id, True)
        increments = {
            "total_invited": added,
            "pending_count": count,
            "participant_count": count,
            "open_slots": -count,
            "version": 1,
        }
        invited = [{"participant_id": p.participant_id, **(audited_participant(p) or {})} for p in created]
        self._audit(
            actor,
            now,
            "loan",
            loan.loan_id,
            "UPDATE",
            None,
            {"increments": increments, "participants_invited": invited},
            loan.loan_id,
        )
        self._store_loan(
            stored,
            replace(
                stored,
                total_invited=stored.total_invited + added,
                pending_count=stored.pending_count + count,
                version=stored.version + 1,
                updated_at=now,
                updated_by=actor.user_id,
                change_reason=None,
            ),
        )

    def claim(self, participant: Participant, lender: Lender, actor: Actor, now: datetime) -> bool:
        self._concurrent_writer()
        current = self.participants.get(participant.participant_id)
        if current is None or current.version != participant.version or current.lender_id is not None:
            return False
        self.participants[participant.participant_id] = replace(
            participant,
            lender_id=lender.user_id,
            lender_name=lender.full_name,
            version=participant.version + 1,
            updated_at=now,
            updated_by=actor.user_id,
        )
        self._audit(
            actor,
            now,
            "participant",
            participant.participant_id,
            "UPDATE",
            {"lender_id": None},
            {"lender_id": lender.user_id},
            participant.loan_id,
        )
        return True

    # ---- helpers -----------------------------------------------------------------------

    def _check(self, change: Change, stored: Loan | None, bank: SealedBankAccount | None) -> None:
        """``apply``'s conditions: a taken guard names its email; anything else is a conflict."""
        for participant in change.created:
            if not self._guard_free(participant):
                raise already_invited(participant.lender_email)
        if change.before is None:
            conflict = stored is not None
        else:
            invited = change.after.total_invited - change.before.total_invited
            conflict = (
                stored is None
                or stored.version != change.before.version
                or (invited > 0 and stored.remaining < invited)
            )
        for before, updated in change.updated:
            current = self.participants.get(before.participant_id)
            if current is None or (current.version, current.status) != (before.version, before.status):
                conflict = True
            if _releases_guard(updated) and not self._guard_held_by(before):
                conflict = True
        if bank is not None and bank.participant_id in self.banks:
            conflict = True
        if conflict:
            raise VersionConflict("The loan changed while this request ran")

    def _concurrent_writer(self) -> None:
        hook, self.before_next_write = self.before_next_write, None
        if hook is not None:
            hook()

    def _guard_free(self, participant: Participant) -> bool:
        return not self.guards.get((participant.loan_id, participant.lender_email), ("", False))[1]

    def _guard_held_by(self, participant: Participant) -> bool:
        guard = self.guards.get((participant.loan_id, participant.lender_email))
        return guard is not None and guard[0] == participant.participant_id

    def _invite(self, participant: Participant, actor: Actor, timestamp: datetime) -> None:
        self.participants[participant.participant_id] = participant
        self.guards[(participant.loan_id, participant.lender_email)] = (participant.participant_id, True)
        self._audit(
            actor,
            timestamp,
            "participant",
            participant.participant_id,
            "CREATE",
            None,
            audited_participant(participant),
            participant.loan_id,
        )

    def _store_loan(self, before: Loan | None, after: Loan) -> None:
        """The write, and what the table's stream makes of it: a version and a funding point."""
        self.loans[after.loan_id] = after
        old = loan_item(before) if before else None
        new = loan_item(after)
        self.versions.setdefault(after.loan_id, []).append(version_of(version_entry(old, new)))
        point = funding_point(old, new)
        if point is not None:
            self.points.setdefault(after.loan_id, []).append(point_of(point))

    def _audit(
        self,
        actor: Actor,
        timestamp: datetime,
        entity: str,
        entity_id: str,
        action: AuditAction,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        loan_id: str,
    ) -> None:
        entry = AuditEntry(
            audit_id=self._new_id(),
            timestamp=timestamp,
            entity=entity,
            entity_id=entity_id,
            action=action,
            user_id=actor.user_id,
            changes={"before": before, "after": after},
            ip_address=actor.ip_address,
            user_agent=actor.user_agent,
            request_id=actor.request_id,
        )
        self.audit.setdefault(loan_id, []).append(entry)


def _invited(participant: Participant) -> tuple[datetime, str]:
    return participant.invited_at, participant.participant_id


def _lender_sort_key(participant: Participant) -> str:
    return f"{participant.status.value}#{iso(participant.invited_at)}#{participant.participant_id}"


def _releases_guard(participant: Participant) -> bool:
    return participant.status in (ParticipantStatus.DECLINED, ParticipantStatus.REMOVED)


def _page(
    items: Sequence[T], sort_key: Callable[[T], str], limit: int, position: Position | None, *, newest_first: bool
) -> Page[T]:
    """One page in key order; the position is the last key shown, as DynamoDB's would be."""
    ordered = sorted(items, key=sort_key, reverse=newest_first)
    if position is not None:
        after = position["after"]
        ordered = [item for item in ordered if (sort_key(item) < after if newest_first else sort_key(item) > after)]
    page = list(ordered[:limit])
    more = len(ordered) > limit
    return Page(page, {"after": sort_key(page[-1])} if more else None)


if TYPE_CHECKING:  # the port is structural: this is where mypy proves the two stores alike
    from lendbridge.data.loans import DynamoLoanStore
    from lendbridge.domain.ports import LoanStore, UserStore

    _memory: LoanStore = MemoryLoanStore()
    _users: UserStore = MemoryUserStore()
    _dynamo: type[LoanStore] = DynamoLoanStore
