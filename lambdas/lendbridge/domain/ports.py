"""Every port of the domain in one place: what the use cases are given instead of reaching for
globals or a database. Adapters live in ``lendbridge.data``; ``lendbridge.data.memory`` is the
in-memory loan store the domain tests run on. Imports here are for typing only, so any domain
module may import this one without a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lendbridge.domain.accounts import Challenge, ClientContext, Tokens, UserProfile
    from lendbridge.domain.bookings import Booking, BookingStatus, DocumentRecord, ExtractionRecord, Sheet
    from lendbridge.domain.history import AuditEntry, FundingPoint, VersionRecord
    from lendbridge.domain.loans import (
        AchDetails,
        Change,
        Lender,
        Loan,
        Participant,
        ParticipantStatus,
        SealedBankAccount,
    )
    from lendbridge.domain.pages import Page, Position

Clock = Callable[[], datetime]
IdGenerator = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Actor:
    """Who is making a change, and from where: what every audit entry records."""

    user_id: str
    request_id: str
    ip_address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class InvitationContext:
    """What inviting lenders needs, read at once: the loan, which emails are already on it,
    which belong to registered users, and the caller's profile."""

    loan: Loan | None
    emails_on_loan: frozenset[str]
    users_by_email: dict[str, Lender]
    profile: UserProfile | None


class LoanStore(Protocol):
    """Loans, their participants, history and audit entries. Every write is atomic and
    conditional: ``apply`` only if the loan is at the version read (else ``VersionConflict``),
    ``add_participants`` only while ``remaining`` and ``open_slots`` cover the new invitations,
    an email at most once live on a loan (``InviteeAlreadyOnLoan``)."""

    def get(self, loan_id: str) -> Loan | None: ...

    def header(self, loan_id: str) -> Loan | None:
        """The loan without its participants."""

    def invitation_context(
        self, emails: Sequence[str], *, loan_id: str | None = None, profile_of: str | None = None
    ) -> InvitationContext: ...

    def borrower_page(self, borrower_id: str, limit: int, position: Position | None) -> Page[Loan]: ...

    def lender_page(
        self, lender_id: str, status: ParticipantStatus, limit: int, position: Position | None
    ) -> Page[tuple[Participant, Loan]]: ...

    def find_participant(self, participant_id: str) -> tuple[Loan, Participant] | None: ...

    def invitations_page(self, email_digest: str, limit: int, position: Position | None) -> Page[Participant]: ...

    def versions_page(self, loan_id: str, limit: int, position: Position | None) -> Page[VersionRecord]:
        """Newest first."""

    def funding_page(self, loan_id: str, limit: int, position: Position | None) -> Page[FundingPoint]:
        """Oldest first."""

    def audit_page(self, loan_id: str, limit: int, position: Position | None) -> Page[AuditEntry]:
        """The loan's and its participants' entries, newest first."""

    def apply(self, change: Change, actor: Actor, *, bank: SealedBankAccount | None = None) -> None: ...

    def add_participants(self, loan: Loan, created: Sequence[Participant], actor: Actor, now: datetime) -> None: ...

    def claim(self, participant: Participant, lender: Lender, actor: Actor, now: datetime) -> bool:
        """False when the invitation changed since it was read (or was claimed already)."""


class BookingStore(Protocol):
    """Commercial bookings with their documents, extractions and booking sheet (one item
    collection per booking). Every write is one transaction with its audit entry, conditional
    on the versions read; a failed condition raises the exception the write was tagged with
    (``BookingChanged`` when another write got there first)."""

    def get_booking(self, booking_id: str) -> Booking | None: ...

    def booking_parts(
        self, booking_id: str, *, document_id: str | None = None, extraction_id: str | None = None, sheet: bool = False
    ) -> tuple[Booking | None, DocumentRecord | None, ExtractionRecord | None, Sheet | None]:
        """The booking and the named parts, in one strongly consistent read; a deleted document
        is None."""

    def bookings_page(
        self, owner_id: str, status: BookingStatus | None, limit: int, position: Position | None
    ) -> Page[Booking]:
        """Newest first; without ``status``, cancelled bookings are left out."""

    def documents(self, booking_id: str) -> list[DocumentRecord]:
        """Every document of the booking but the deleted ones."""

    def create_booking(self, booking: Booking, actor: Actor) -> None: ...

    def save_booking(self, before: Booking, after: Booking, actor: Actor, *, sheet_version: int | None = None) -> None:
        """``sheet_version``: also require the sheet to be at that version (booking it)."""

    def add_document(self, booking: Booking, document: DocumentRecord, max_documents: int, actor: Actor) -> None: ...

    def remove_document(self, booking: Booking, document: DocumentRecord, actor: Actor, now: datetime) -> None:
        """Marks the document deleted (its record stays) and frees its place in the booking."""

    def save_document(self, before: DocumentRecord, after: DocumentRecord, actor: Actor) -> None: ...

    def start_extraction(
        self, booking: Booking, document: DocumentRecord, extraction: ExtractionRecord, actor: Actor
    ) -> None: ...

    def finish_extraction(
        self,
        before: ExtractionRecord,
        after: ExtractionRecord,
        actor: Actor,
        *,
        sheet: tuple[Sheet, Sheet] | None = None,
        release_document: bool = True,
    ) -> None:
        """Store the outcome (and, on success, the merged sheet) and free the document for the
        next extraction, at once (``release_document=False``: the document item is gone)."""

    def save_sheet(self, booking: Booking, before: Sheet, after: Sheet, actor: Actor) -> None: ...


class BankVault(Protocol):
    def seal(self, loan_id: str, participant_id: str, ach: AchDetails) -> SealedBankAccount: ...


class UserStore(Protocol):
    def create(self, profile: UserProfile, actor: Actor) -> None: ...

    def get(self, user_id: str) -> UserProfile | None: ...


class ClaimQueue(Protocol):
    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        """Ask the claim worker to give this user the invitations sent to ``email``: constant
        time, however many there are."""


class IdentityProvider(Protocol):
    def sign_up(self, email: str, password: str, full_name: str) -> str:
        """Create the login; returns the new user's id. Raises EmailTaken or PasswordRejected."""

    def confirm(self, email: str) -> None:
        """Mark the login confirmed and its email verified (local and dev stages only)."""

    def remove(self, email: str) -> None:
        """Undo ``sign_up`` when the rest of registration failed."""

    def authenticate(self, email: str, password: str, context: ClientContext) -> Tokens | Challenge:
        """Raises InvalidCredentials or EmailNotVerified."""

    def respond_to_challenge(
        self, email: str, challenge: Challenge, code: str, context: ClientContext
    ) -> Tokens | Challenge:
        """Raises InvalidCredentials for a wrong code or an expired session."""

    def refresh(self, refresh_token: str) -> Tokens:
        """New access token; raises InvalidRefreshToken. ``refresh_token`` of the result is empty."""

    def revoke(self, refresh_token: str) -> None:
        """Revoke the refresh token (and the tokens issued from it)."""

    def confirm_sign_up(self, email: str, code: str) -> None:
        """Verify the email with the emailed code; raises InvalidCode."""

    def resend_code(self, email: str) -> None:
        """Send a new verification code if the email awaits one; silent otherwise."""

    def forgot_password(self, email: str) -> None:
        """Send a reset code if the email has an account that can reset; silent otherwise."""

    def reset_password(self, email: str, code: str, new_password: str) -> None:
        """Raises InvalidCode or PasswordRejected."""


# --- commercial loan bookings: documents and extraction ---------------------------------------


@dataclass(frozen=True)
class PresignedUpload:
    """Where and how the client uploads a document: ``headers`` are the ones the signature
    binds (Content-Type and Content-Length), which the client must send as given."""

    url: str
    headers: dict[str, str]
    expires_in: int


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str | None = None


class DocumentStorage(Protocol):
    def presign_put(self, key: str, content_type: str, size_bytes: int, expires_in: int) -> PresignedUpload: ...

    def presign_get(self, key: str, expires_in: int) -> str: ...

    def delete(self, key: str) -> None: ...

    def head(self, key: str) -> StoredObject | None:
        """None when no object has that key."""

    def read(self, key: str) -> bytes: ...


class ExtractionQueue(Protocol):
    def enqueue(self, booking_id: str, document_id: str, extraction_id: str) -> None: ...
