"""How the domain's objects are shown: every response model of the API is filled here.

Each presenter returns the pydantic model the route documents; ``lendbridge.http.envelope``
puts it in the contract's envelope. Money is text with two places, times are ISO 8601 UTC,
bank details only ever as their last four digits, a borrower's tax id only masked.

The lending functions import this module; accounts and bookings have presenters of their own
(``account_presenters``, ``booking_presenters``), so no function loads another's response models
(the booking models alone added about 60 ms to the import of the lending functions).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from lendbridge.domain.history import AuditEntry, FundingPoint, VersionRecord
from lendbridge.domain.loans import Loan, Participant
from lendbridge.domain.money import as_text
from lendbridge.schemas.loans import (
    AchOut,
    AddLendersOut,
    AuditEntryOut,
    FundingPointOut,
    InvestmentOut,
    InvitationOut,
    LoanFundingOut,
    LoanOut,
    LoanSummary,
    ParticipantOut,
    ResponseOut,
    VersionOut,
)
from lendbridge.timestamps import iso


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else as_text(value)


def _rate(value: Decimal | None) -> str | None:
    if value is None:
        return None
    shown = value.normalize()
    # A rate sent as -0.0 is a zero that keeps its sign ("-0"); the store drops it, so without
    # this the 201 said "-0" and every later read "0".
    return f"{shown.copy_abs() if shown.is_zero() else shown:f}"


def participant(shown: Participant) -> ParticipantOut:
    bank = shown.bank
    return ParticipantOut(
        participant_id=shown.participant_id,
        loan_id=shown.loan_id,
        lender_id=shown.lender_id,
        lender_email=shown.lender_email,
        lender_name=shown.lender_name,
        contribution_amount=as_text(shown.contribution_amount),
        status=shown.status.value,
        invited_at=iso(shown.invited_at),
        responded_at=iso(shown.responded_at) if shown.responded_at else None,
        ach=AchOut(**bank.__dict__) if bank else None,
    )


def loan(shown: Loan) -> LoanOut:
    return LoanOut(
        loan_id=shown.loan_id,
        borrower_id=shown.borrower_id,
        borrower_name=shown.borrower_name,
        amount=as_text(shown.amount),
        interest_rate=_rate(shown.interest_rate),
        term_months=shown.term_months,
        purpose=shown.purpose,
        status=shown.status.value,
        total_invited=as_text(shown.total_invited),
        total_funded=as_text(shown.total_funded),
        remaining_amount=as_text(shown.remaining),
        funding_percentage=as_text(shown.funding_percentage),
        participant_count=shown.participant_count,
        accepted_participant_count=shown.accepted_count,
        pending_participant_count=shown.pending_count,
        declined_participant_count=shown.declined_count,
        is_fully_funded=shown.is_fully_funded,
        average_contribution=_optional(shown.average_contribution),
        largest_contribution=_optional(shown.largest_contribution),
        smallest_contribution=_optional(shown.smallest_contribution),
        version=shown.version,
        created_at=iso(shown.created_at),
        created_by=shown.created_by,
        updated_at=iso(shown.updated_at),
        updated_by=shown.updated_by,
        deleted_at=iso(shown.deleted_at) if shown.deleted_at else None,
        deleted_by=shown.deleted_by,
        deletion_reason=shown.deletion_reason,
        participants=[participant(p) for p in shown.participants],
    )


def summary(shown: Loan) -> LoanSummary:
    return LoanSummary(
        loan_id=shown.loan_id,
        borrower_name=shown.borrower_name,
        amount=as_text(shown.amount),
        interest_rate=_rate(shown.interest_rate),
        term_months=shown.term_months,
        status=shown.status.value,
        funding_percentage=as_text(shown.funding_percentage),
    )


def lenders_added(shown: Loan, added: Sequence[Participant]) -> AddLendersOut:
    return AddLendersOut(
        loan_id=shown.loan_id,
        lenders_added=[participant(p) for p in added],
        total_invited=as_text(shown.total_invited),
        remaining_amount=as_text(shown.remaining),
    )


def invitation(row: tuple[Participant, Loan]) -> InvitationOut:
    invited, on = row
    return InvitationOut(
        participant_id=invited.participant_id,
        contribution_amount=as_text(invited.contribution_amount),
        invited_at=iso(invited.invited_at),
        loan=summary(on),
    )


def investment(row: tuple[Participant, Loan]) -> InvestmentOut:
    accepted, on = row
    shown = participant(accepted)
    return InvestmentOut(
        participant_id=shown.participant_id,
        contribution_amount=shown.contribution_amount,
        invited_at=shown.invited_at,
        responded_at=shown.responded_at,
        ach=shown.ach,
        loan=summary(on),
    )


def response(answered: Participant, on: Loan) -> ResponseOut:
    """A lender's answer to an invitation, with where its loan's funding stands."""
    return ResponseOut(
        participant=participant(answered),
        loan=LoanFundingOut(
            loan_id=on.loan_id,
            status=on.status.value,
            total_funded=as_text(on.total_funded),
            funding_percentage=as_text(on.funding_percentage),
        ),
    )


_MONEY_FIELDS = frozenset(
    {
        "amount",
        "total_invited",
        "total_funded",
        "remaining",
        "average_contribution",
        "largest_contribution",
        "smallest_contribution",
        "contribution_amount",
        "funding_percentage",
    }
)


def plain(value: Any, name: str = "") -> Any:
    """Stored values as JSON: money as two-place strings, other numbers as int or text."""
    if isinstance(value, dict):
        return {key: plain(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item, name) for item in value]
    if isinstance(value, Decimal):
        if name in _MONEY_FIELDS:
            return as_text(value)
        return int(value) if value == value.to_integral_value() else f"{value.normalize():f}"
    return value


def version(record: VersionRecord) -> VersionOut:
    return VersionOut(
        version=record.version,
        snapshot=plain(record.snapshot),
        changed_fields=list(record.changed_fields),
        changed_by=record.changed_by,
        changed_at=iso(record.changed_at) if record.changed_at else None,
        change_reason=record.change_reason,
    )


def funding_point(point: FundingPoint) -> FundingPointOut:
    return FundingPointOut(
        timestamp=iso(point.timestamp),
        total_funded=as_text(point.total_funded),
        funding_percentage=as_text(point.funding_percentage),
        participant_count=point.participant_count,
        accepted_participant_count=point.accepted_count,
        pending_participant_count=point.pending_count,
    )


def audit_entry(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        audit_id=entry.audit_id,
        timestamp=iso(entry.timestamp),
        entity=entry.entity,
        entity_id=entry.entity_id,
        action=entry.action,
        user_id=entry.user_id,
        changes=plain(entry.changes),
        ip_address=entry.ip_address,
        user_agent=entry.user_agent,
        request_id=entry.request_id,
    )
