"""Key layout of the main table (single-table design; see docs/data-model.md).

Emails never appear in a key or index: they are keyed by a SHA-256 of the normalised address.
"""

from __future__ import annotations

import hashlib

# Index names, from the one module the data stack declares them from.
from lendbridge.data.names import (
    BORROWER_COLLECTION,
    LENDER_INVITATIONS,
    PARTICIPANT_BY_ID,
    PK,
    SK,
)

__all__ = ["BORROWER_COLLECTION", "LENDER_INVITATIONS", "PARTICIPANT_BY_ID", "PK", "SK"]

PROFILE = "PROFILE"
LOAN = "LOAN"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_digest(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email_digest(email)}"


def loan_pk(loan_id: str) -> str:
    return f"LOAN#{loan_id}"


def participant_sk(participant_id: str) -> str:
    return f"PART#{participant_id}"


def invitee_sk(email: str) -> str:
    """One live invitation per email per loan: the guard item's key."""
    return f"INVITEE#{email_digest(email)}"


def bank_sk(participant_id: str) -> str:
    return f"BANK#{participant_id}"


VERSION_PREFIX = "VERSION#"
FUNDING_PREFIX = "FUNDING#"


def version_sk(version: int) -> str:
    return f"{VERSION_PREFIX}{version:010d}"


def funding_sk(timestamp: str, version: int) -> str:
    return f"{FUNDING_PREFIX}{timestamp}#{version:010d}"


def borrower_key(borrower_id: str) -> str:
    return f"BORROWER#{borrower_id}"


def lender_key(lender_id: str) -> str:
    return f"LENDER#{lender_id}"


def invitee_key(email: str) -> str:
    return invitee_key_of_digest(email_digest(email))


def invitee_key_of_digest(digest: str) -> str:
    """The invitee partition by the email's digest alone, for work handed on without the email."""
    return f"INVITEE#{digest}"


def audit_pk(entity: str, entity_id: str) -> str:
    return f"{entity.upper()}#{entity_id}"
