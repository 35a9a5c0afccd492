"""Loan and participant items <-> domain entities. Money is stored as DynamoDB numbers
(exact decimals), timestamps as fixed-width ISO strings so they sort."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from lendbridge import observability
from lendbridge.data import keys
from lendbridge.data.compact import STATUS_CODES, is_status_code, micros, moment_of, packed_id, status_of, unpacked_id
from lendbridge.domain.loans import (
    LOAN_FIELDS,
    LOAN_IDENTITY,
    BankSummary,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
)
from lendbridge.errors import DamagedItem
from lendbridge.timestamps import iso, parse_time

logger = Logger(child=True)
T = TypeVar("T")
R = TypeVar("R")

# What a stored attribute of the wrong shape raises while it is converted.
_UNREADABLE = (KeyError, TypeError, ValueError, InvalidOperation, AttributeError)


def readable(items: Iterable[T], convert: Callable[[T], R], entity: str) -> Iterator[R]:
    """``convert`` each item, skipping (and logging, and counting) those that cannot be read,
    so one damaged item never takes a whole list down."""
    for item in items:
        try:
            yield convert(item)
        except DamagedItem as damaged:
            report_damaged(entity, damaged.key, damaged.problem)
        except _UNREADABLE as problem:
            key = {"PK": item.get("PK"), "SK": item.get("SK")} if isinstance(item, dict) else {}
            report_damaged(entity, key, f"{type(problem).__name__}: {problem}"[:200])


def report_damaged(entity: str, key: dict[str, Any], problem: str) -> None:
    # Keys hold ids only (emails are hashed), so they may be logged; the item itself may not.
    logger.error("damaged item skipped", extra={"entity": entity, "item_key": key, "problem": problem})
    observability.emit("DamagedItemsSkipped", MetricUnit.Count, 1, {"Entity": entity})


def _time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed


def _lenient(convert: Callable[[Any], R], value: Any) -> R | None:
    """An attribute the entity can be shown without: missing or malformed reads as None."""
    if value is None:
        return None
    try:
        return convert(value)
    except _UNREADABLE:
        return None


def loan_sort_key(loan: Loan) -> str:
    return f"{iso(loan.created_at)}#{loan.loan_id}"


def loan_item(loan: Loan) -> dict[str, Any]:
    """A new loan's item, its roster included: the summary of every participant it lists."""
    return {
        "PK": keys.loan_pk(loan.loan_id),
        "SK": keys.LOAN,
        "entity": "loan",
        "GSI1PK": keys.borrower_key(loan.borrower_id),
        "GSI1SK": loan_sort_key(loan),
        **{name: _stored(getattr(loan, name)) for name in LOAN_FIELDS},
        ROSTER_COMPLETE: 1,
        **{roster_name(p.participant_id): roster_entry(p) for p in loan.participants if _listed(p)},
        **live_invitees(loan.participants),
    }


# One live invitation per email per loan, kept on the loan item: ``invitees`` is the binary set
# of the tags of the emails whose invitation is PENDING or ACCEPTED, so the write that invites
# is refused by DynamoDB itself (``NOT contains``) and costs no item per email. ``invitees_kept``
# marks a loan whose set is complete (every loan written since); an older loan kept one guard
# item per email instead, and its first invitation builds the set from its participants.
INVITEES = "invitees"
INVITEES_KEPT = "invitees_kept"
_LIVE = frozenset({ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED})
# The first 10 bytes (80 bits) of the email's SHA-256: no collision among a loan's few hundred
# emails in practice, and 10 bytes per live invitation in every read and write of the loan
# (the whole digest in hex would be 64).
_TAG_BYTES = 10


def invitee_tag(email: str) -> bytes:
    return bytes.fromhex(keys.email_digest(email))[:_TAG_BYTES]


def is_live(participant: Participant) -> bool:
    """Holds its email's place on the loan (and a slot under the cap)."""
    return participant.status in _LIVE


def live_invitees(participants: Iterable[Participant]) -> dict[str, Any]:
    """The set attributes of a loan whose live participants are ``participants``."""
    tags = {invitee_tag(p.lender_email) for p in participants if is_live(p)}
    return {INVITEES_KEPT: 1, **({INVITEES: tags} if tags else {})}


# The roster: the loan item carries, per participant a list shows (every status but REMOVED),
# one top-level attribute ``P#<participant_id>`` with what a participant's answer needs, so a
# page of loans with their participants is one Query and a loan with its participants one
# GetItem. Written in the same transaction as the participant it mirrors. Top-level attributes
# (not one map) so a write can set or remove an entry on a loan that has none yet.
ROSTER_PREFIX = "P#"
# Set only when the roster lists every participant (new loans; loans the roster migration
# rebuilt): a loan without it is read the old way, from its item collection.
ROSTER_COMPLETE = "roster"


def roster_name(participant_id: str) -> str:
    return f"{ROSTER_PREFIX}{participant_id}"


def _listed(participant: Participant) -> bool:
    return participant.status != ParticipantStatus.REMOVED


def roster_entry(participant: Participant) -> list[Any]:
    """A compact positional entry (attribute names cost bytes in every read and write): the
    status as one letter, the times as microseconds since the epoch, a UUID lender id as its
    16 bytes (see ``lendbridge.data.compact``)."""
    bank = participant.bank
    return [
        STATUS_CODES[participant.status],
        participant.lender_email,
        participant.lender_name,
        packed_id(participant.lender_id),
        participant.contribution_amount,
        micros(participant.invited_at),
        micros(participant.responded_at) if participant.responded_at else None,
        participant.version,
        [bank.account_holder_name, bank.account_type, bank.routing_number_last4, bank.account_number_last4]
        if bank
        else None,
    ]


def roster_of(item: dict[str, Any]) -> tuple[Participant, ...] | None:
    """The participants a loan item lists, or None for a loan whose roster is not complete.
    Entries are read one by one in either format: the compact one ``roster_entry`` writes, or
    the one written before it (status word, ISO times, lender id as text), which stays until
    its participant next changes."""
    if not item.get(ROSTER_COMPLETE):
        return None
    loan_id, borrower_id = item["loan_id"], item["borrower_id"]
    loan_created_at = _time(item["created_at"])
    entries = [(name[len(ROSTER_PREFIX) :], value) for name, value in item.items() if name.startswith(ROSTER_PREFIX)]

    def participant(entry: tuple[str, Any]) -> Participant:
        participant_id, value = entry
        try:
            status, email, name, lender_id, amount, invited, responded, version, bank = value
            status, lender_id, invited_at, responded_at = _entry_fields(status, lender_id, invited, responded)
            return Participant(
                participant_id=participant_id,
                loan_id=loan_id,
                borrower_id=borrower_id,
                loan_created_at=loan_created_at,
                lender_email=email,
                contribution_amount=Decimal(amount),
                status=status,
                invited_at=invited_at,
                lender_id=lender_id,
                lender_name=_lenient(str, name),
                responded_at=responded_at,
                bank=BankSummary(*bank) if bank else None,
                version=int(version),
            )
        except _UNREADABLE as problem:
            where = {"PK": item.get("PK"), "SK": f"{item.get('SK')}/{roster_name(participant_id)}"}
            raise DamagedItem(where, problem) from problem

    return tuple(readable(entries, participant, "roster_entry"))


def _entry_fields(
    status: Any, lender_id: Any, invited: Any, responded: Any
) -> tuple[ParticipantStatus, str | None, datetime, datetime | None]:
    """The fields whose stored form changed with the compact entry, read in the entry's own
    format (its first element says which)."""
    if is_status_code(status):
        return status_of(status), unpacked_id(lender_id), moment_of(invited), _lenient(moment_of, responded)
    return ParticipantStatus(status), lender_id, _time(invited), _lenient(parse_time, responded)


_STATE_FIELDS = tuple(name for name in LOAN_FIELDS if name not in LOAN_IDENTITY)


def loan_state(loan: Loan) -> dict[str, Any]:
    """Attributes a change may rewrite, computed fields included (kept exact in the same write)."""
    return {name: _stored(getattr(loan, name)) for name in _STATE_FIELDS}


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, LoanStatus):
        return value.value
    return value


def loan_of(item: dict[str, Any], participants: tuple[Participant, ...] = ()) -> Loan:
    """The loan an item stores. Its terms and descriptive fields are read leniently (a PATCH
    with null once removed ``interest_rate``); identity, money, counts and version are not,
    and their absence raises DamagedItem."""
    try:
        return _loan_of(item, participants)
    except _UNREADABLE as problem:
        raise DamagedItem(item, problem) from problem


def _loan_of(item: dict[str, Any], participants: tuple[Participant, ...]) -> Loan:
    created_at = _time(item["created_at"])
    return Loan(
        loan_id=item["loan_id"],
        borrower_id=item["borrower_id"],
        borrower_name=str(item.get("borrower_name") or ""),
        amount=Decimal(item["amount"]),
        interest_rate=_lenient(Decimal, item.get("interest_rate")),
        term_months=_lenient(int, item.get("term_months")),
        purpose=_lenient(str, item.get("purpose")),
        status=LoanStatus(item["status"]),
        created_at=created_at,
        created_by=str(item.get("created_by") or ""),
        updated_at=_lenient(_time, item.get("updated_at")) or created_at,
        updated_by=str(item.get("updated_by") or item.get("created_by") or ""),
        version=int(item["version"]),
        total_invited=Decimal(item["total_invited"]),
        total_funded=Decimal(item["total_funded"]),
        pending_count=int(item["pending_count"]),
        accepted_count=int(item["accepted_count"]),
        declined_count=int(item["declined_count"]),
        largest_contribution=_lenient(Decimal, item.get("largest_contribution")),
        smallest_contribution=_lenient(Decimal, item.get("smallest_contribution")),
        change_reason=_lenient(str, item.get("change_reason")),
        deleted_at=_lenient(parse_time, item.get("deleted_at")),
        deleted_by=_lenient(str, item.get("deleted_by")),
        deletion_reason=_lenient(str, item.get("deletion_reason")),
        participants=participants,
    )


def lender_partition(participant: Participant) -> str:
    if participant.lender_id:
        return keys.lender_key(participant.lender_id)
    return keys.invitee_key(participant.lender_email)


def lender_sort_key(participant: Participant) -> str:
    return f"{participant.status.value}#{iso(participant.invited_at)}#{participant.participant_id}"


def participant_item(participant: Participant) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.loan_pk(participant.loan_id),
        "SK": keys.participant_sk(participant.participant_id),
        "entity": "participant",
        # No borrower-index keys: the borrower's lists read participants from the loan's roster.
        "GSI4PK": f"PARTICIPANT#{participant.participant_id}",
        "participant_id": participant.participant_id,
        "loan_id": participant.loan_id,
        "borrower_id": participant.borrower_id,
        "loan_created_at": iso(participant.loan_created_at),
        "lender_id": participant.lender_id,
        "lender_email": participant.lender_email,
        "lender_name": participant.lender_name,
        "contribution_amount": participant.contribution_amount,
        "status": participant.status.value,
        "invited_at": iso(participant.invited_at),
        "responded_at": iso(participant.responded_at) if participant.responded_at else None,
        "version": participant.version,
        "created_at": iso(participant.invited_at),
        "created_by": participant.created_by,
        "updated_at": iso(participant.updated_at or participant.invited_at),
        "updated_by": participant.updated_by or participant.created_by,
    }
    if participant.status != ParticipantStatus.REMOVED:
        # Removed participants leave the lender's lists: no lender-index keys.
        item["GSI2PK"] = lender_partition(participant)
        item["GSI2SK"] = lender_sort_key(participant)
    if participant.bank is not None:
        item["bank"] = {
            "account_holder_name": participant.bank.account_holder_name,
            "account_type": participant.bank.account_type,
            "routing_number_last4": participant.bank.routing_number_last4,
            "account_number_last4": participant.bank.account_number_last4,
        }
    return item


def participant_of(item: dict[str, Any]) -> Participant:
    try:
        return _participant_of(item)
    except _UNREADABLE as problem:
        raise DamagedItem(item, problem) from problem


def _bank(value: dict[str, Any]) -> BankSummary:
    return BankSummary(**value)


def _participant_of(item: dict[str, Any]) -> Participant:
    return Participant(
        participant_id=item["participant_id"],
        loan_id=item["loan_id"],
        borrower_id=item["borrower_id"],
        loan_created_at=_time(item["loan_created_at"]),
        lender_email=item["lender_email"],
        contribution_amount=Decimal(item["contribution_amount"]),
        status=ParticipantStatus(item["status"]),
        invited_at=_time(item["invited_at"]),
        lender_id=item.get("lender_id"),
        lender_name=_lenient(str, item.get("lender_name")),
        responded_at=_lenient(parse_time, item.get("responded_at")),
        bank=_lenient(_bank, item.get("bank")),
        version=int(item["version"]),
        created_by=item.get("created_by", ""),
        updated_at=parse_time(item.get("updated_at")),
        updated_by=item.get("updated_by", ""),
    )


AUDITED_PARTICIPANT_FIELDS = ("lender_id", "lender_email", "contribution_amount", "status", "responded_at")


def audited_participant(participant: Participant | None) -> dict[str, Any] | None:
    if participant is None:
        return None
    item = participant_item(participant)
    return {name: item.get(name) for name in AUDITED_PARTICIPANT_FIELDS}


def audited_loan(loan: Loan | None, fields: Iterable[str]) -> dict[str, Any] | None:
    """What an audit entry records of a loan: the stored values of the fields a change touched."""
    if loan is None:
        return None
    state = loan_state(loan)
    return {name: state.get(name) for name in fields}
