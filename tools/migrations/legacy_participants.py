"""The old participant row and how it becomes a new-shape participant (pure; no I/O).

Old shape, one row per lender under the loan's partition (docs/migrations.md)::

    PK                   LOAN#<loan_id>
    SK                   <lender_id>: the lender's user id, or pending:<email> until the
                         invitee registered (the key changed when they did)
    loan_id              <loan_id>
    lender_id            same as SK
    contribution_amount  number
    status               PENDING | ACCEPTED | DECLINED
    invited_at           ISO-8601 timestamp
    responded_at         ISO-8601 timestamp (optional)
    lender_name          (optional)
    invited_by           user id of the borrower who invited (optional)

The new participant is exactly what ``lendbridge.data.items.participant_item`` writes for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from lendbridge.data import keys
from lendbridge.data.items import parse_time
from lendbridge.domain.loans import Participant, ParticipantStatus

# Fixed forever: participant ids are uuid5(NAMESPACE, "<loan_id>/<old sort key>"), so every run,
# resumed or repeated, derives the same id for the same old row and can never duplicate it.
NAMESPACE = uuid.UUID("5b0f3c0e-7a51-4f43-9a43-3c1d8f0e2a61")
PENDING_PREFIX = "pending:"
MIGRATED_MARK = "migrated_to"  # set on the old row, in the conversion's transaction
MIGRATION_ACTOR = "migration:participant_ids"
OLD_STATUSES = frozenset({ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED, ParticipantStatus.DECLINED})

# Sort keys of the new shape inside a loan's partition; anything else there is an old row.
NEW_SHAPE_PREFIXES = tuple(
    built.split("#", 1)[0] + "#"
    for built in (
        keys.participant_sk("x"),
        keys.invitee_sk("x"),
        keys.bank_sk("x"),
        keys.version_sk(0),
        keys.funding_sk("x", 0),
    )
)
LOAN_PK_PREFIX = keys.loan_pk("")


class SkipReason(StrEnum):
    LOAN_MISSING = "loan_missing"  # no LOAN item for the row's partition
    PROFILE_MISSING = "lender_profile_missing"  # a user-id lender without a profile: no email
    UNKNOWN_STATUS = "unknown_status"
    MALFORMED = "malformed"  # no usable contribution amount
    DUPLICATE_INVITEE = "duplicate_invitee"  # the email already has a live participant on the loan
    SOURCE_CHANGED = "source_changed"  # the old row changed between read and write
    PARTICIPANT_EXISTS = "participant_exists"  # its participant id is taken, the old row unmarked


@dataclass(frozen=True)
class Conversion:
    old_key: tuple[str, str]
    old_status: str
    old_amount: Decimal
    participant: Participant

    @property
    def guard_key(self) -> tuple[str, str]:
        return keys.loan_pk(self.participant.loan_id), keys.invitee_sk(self.participant.lender_email)


@dataclass(frozen=True)
class Skip:
    old_key: tuple[str, str]
    reason: SkipReason


def participant_id_for(loan_id: str, old_sort_key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{loan_id}/{old_sort_key}"))


def is_old_participant(item: Mapping[str, Any]) -> bool:
    """An old-shape row, migrated or not (old rows are kept, marked, after conversion)."""
    pk, sk = str(item.get("PK", "")), str(item.get("SK", ""))
    return pk.startswith(LOAN_PK_PREFIX) and sk != keys.LOAN and not sk.startswith(NEW_SHAPE_PREFIXES)


def is_migrated(item: Mapping[str, Any]) -> bool:
    return MIGRATED_MARK in item


def loan_id_of(item: Mapping[str, Any]) -> str:
    return str(item["PK"]).removeprefix(LOAN_PK_PREFIX)


def lender_user_id(item: Mapping[str, Any]) -> str | None:
    """The user id an old row names, or None for a pending invitation (keyed by email)."""
    sk = str(item["SK"])
    return None if sk.startswith(PENDING_PREFIX) else sk


def convert(
    item: Mapping[str, Any],
    loan: Mapping[str, Any] | None,
    profile: Mapping[str, Any] | None,
    now: datetime,
) -> Conversion | Skip:
    """The new participant for one old row, given its loan item and (for a user-id lender) the
    lender's profile, which is where the email comes from."""
    old_key = (str(item["PK"]), str(item["SK"]))
    if loan is None:
        return Skip(old_key, SkipReason.LOAN_MISSING)
    try:
        amount = Decimal(item["contribution_amount"])
    except (KeyError, TypeError, InvalidOperation):
        return Skip(old_key, SkipReason.MALFORMED)
    if not amount.is_finite() or amount <= 0:
        return Skip(old_key, SkipReason.MALFORMED)
    status = str(item.get("status", ""))
    if status not in OLD_STATUSES:
        return Skip(old_key, SkipReason.UNKNOWN_STATUS)
    user_id = lender_user_id(item)
    if user_id is None:
        email = old_key[1].removeprefix(PENDING_PREFIX)
        name = item.get("lender_name")
    elif profile is None:
        return Skip(old_key, SkipReason.PROFILE_MISSING)
    else:
        email = str(profile["email"])
        name = item.get("lender_name") or profile.get("full_name")
    loan_id = loan_id_of(item)
    loan_created_at = parse_time(loan["created_at"])
    assert loan_created_at is not None  # noqa: S101 - a loan item always has created_at
    participant = Participant(
        participant_id=participant_id_for(loan_id, old_key[1]),
        loan_id=loan_id,
        borrower_id=str(loan["borrower_id"]),
        loan_created_at=loan_created_at,
        lender_email=keys.normalise_email(email),
        contribution_amount=amount,
        status=ParticipantStatus(status),
        # Rows written before invited_at existed fall back to the loan's creation.
        invited_at=_time(item.get("invited_at")) or loan_created_at,
        lender_id=user_id,
        lender_name=str(name) if name else None,
        responded_at=_time(item.get("responded_at")),
        version=1,
        created_by=str(item.get("invited_by") or loan["borrower_id"]),
        updated_at=now,
        updated_by=MIGRATION_ACTOR,
    )
    return Conversion(old_key=old_key, old_status=status, old_amount=amount, participant=participant)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_time(value)
    except ValueError:
        return None
    # The old code wrote some timestamps without an offset; they were UTC.
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed
