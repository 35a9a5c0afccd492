"""Roster entries in their compact format (one-letter status, times as microseconds, a UUID
lender id as 16 bytes) and in the format written before it: both read as the same participant,
side by side on one loan item, through DynamoDB's own (de)serialisation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary

from benchmarks.meter import item_size
from lendbridge.data import items
from lendbridge.data.compact import STATUS_CODES, micros, moment_of, packed_id, unpacked_id
from lendbridge.data.dynamo import from_item, to_item
from lendbridge.data.items import loan_item, roster_entry, roster_name, roster_of
from lendbridge.domain.loans import (
    MAX_LIVE_PARTICIPANTS,
    BankSummary,
    Invitee,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
    invite,
)
from lendbridge.timestamps import iso

NOW = datetime(2026, 11, 30, 4, 10, 46, 123456, tzinfo=UTC)
LOAN_ID, BORROWER_ID = "0b9c1c2e-55a1-4f4e-9d0e-3c1f4f0a7b11", "7d4f1e0a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
LENDER_ID = "3f2b8c1d-9e4a-4b7c-a1d2-e3f405a6b7c8"


def pending(participant_id: str = "5a0c6e2f-8d1b-4c3a-9e7f-102b3c4d5e6f") -> Participant:
    return Participant(
        participant_id=participant_id,
        loan_id=LOAN_ID,
        borrower_id=BORROWER_ID,
        loan_created_at=NOW,
        lender_email="lender-0123456789@example.com",
        contribution_amount=Decimal("100.00"),
        status=ParticipantStatus.PENDING,
        invited_at=NOW,
    )


def accepted(participant_id: str = "c1d2e3f4-a5b6-4c7d-8e9f-a0b1c2d3e4f5") -> Participant:
    return replace(
        pending(participant_id),
        status=ParticipantStatus.ACCEPTED,
        lender_id=LENDER_ID,
        lender_name="Lee Lender",
        responded_at=NOW + timedelta(minutes=3, microseconds=1),
        version=2,
        bank=BankSummary("Lee Lender", "checking", "0021", "6789"),
    )


def declined(participant_id: str = "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9") -> Participant:
    return replace(
        pending(participant_id),
        status=ParticipantStatus.DECLINED,
        lender_id="auth0|legacy-user",
        responded_at=NOW + timedelta(days=1),
        version=2,
    )


def old_entry(participant: Participant) -> list[Any]:
    """An entry exactly as it was written before the compact format."""
    bank = participant.bank
    return [
        participant.status.value,
        participant.lender_email,
        participant.lender_name,
        participant.lender_id,
        participant.contribution_amount,
        iso(participant.invited_at),
        iso(participant.responded_at) if participant.responded_at else None,
        participant.version,
        [bank.account_holder_name, bank.account_type, bank.routing_number_last4, bank.account_number_last4]
        if bank
        else None,
    ]


def stored(entries: dict[str, list[Any]]) -> dict[str, Any]:
    """A loan item holding ``entries``, as DynamoDB gives it back to boto3."""
    loan = Loan(
        LOAN_ID,
        BORROWER_ID,
        "Bo",
        Decimal("1000.00"),
        Decimal("5"),
        12,
        None,
        LoanStatus.FUNDING,
        NOW,
        BORROWER_ID,
        NOW,
        BORROWER_ID,
    )
    return from_item(to_item({**loan_item(loan), **entries}))


def listed(item: dict[str, Any]) -> dict[str, Participant]:
    return {p.participant_id: p for p in roster_of(item) or ()}


def shown(participant: Participant) -> Participant:
    """What a roster keeps of a participant (the item's bookkeeping fields are not listed)."""
    return replace(participant, created_by="", updated_at=None, updated_by="")


PARTICIPANTS = (pending(), accepted(), declined())


def test_old_and_new_entries_read_as_the_same_participants() -> None:
    old = listed(stored({roster_name(p.participant_id): old_entry(p) for p in PARTICIPANTS}))
    new = listed(stored({roster_name(p.participant_id): roster_entry(p) for p in PARTICIPANTS}))
    assert new == old == {p.participant_id: shown(p) for p in PARTICIPANTS}
    # The datetimes the API prints are the very ones stored before.
    assert [iso(new[p.participant_id].invited_at) for p in PARTICIPANTS] == [iso(NOW)] * 3
    assert iso(new[accepted().participant_id].responded_at or NOW) == "2026-11-30T04:13:46.123457Z"


def test_one_loan_reads_old_and_new_entries_side_by_side() -> None:
    first, second, third = PARTICIPANTS
    item = stored(
        {
            roster_name(first.participant_id): old_entry(first),
            roster_name(second.participant_id): roster_entry(second),
            roster_name(third.participant_id): old_entry(third),
        }
    )
    assert listed(item) == {p.participant_id: shown(p) for p in PARTICIPANTS}


def test_new_entries_are_told_apart_by_a_status_code_no_status_word_can_be() -> None:
    assert sorted(STATUS_CODES) == sorted(ParticipantStatus)
    assert len(set(STATUS_CODES.values())) == len(ParticipantStatus)
    assert all(len(code) == 1 and code not in {s.value for s in ParticipantStatus} for code in STATUS_CODES.values())
    assert [roster_entry(p)[0] for p in PARTICIPANTS] == ["P", "A", "D"]


def _entry_bytes(participant: Participant, entry: list[Any]) -> int:
    return item_size(to_item({roster_name(participant.participant_id): entry}))


def test_a_new_entry_is_smaller_by_the_bytes_measured_in_the_data_model() -> None:
    """docs/data-model.md: a PENDING invitee 121 -> 97 bytes, an ACCEPTED lender with a bank
    summary 224 -> 161 (attribute name included; DynamoDB's sizing rules, benchmarks.meter)."""
    invitee, lender = pending(), accepted()
    assert (_entry_bytes(invitee, old_entry(invitee)), _entry_bytes(invitee, roster_entry(invitee))) == (121, 97)
    assert (_entry_bytes(lender, old_entry(lender)), _entry_bytes(lender, roster_entry(lender))) == (224, 161)
    # Whatever the email and names: 6 bytes of status and 18 per time; 20 per UUID lender id.
    other = replace(lender, lender_email="x@example.org", lender_name=None, bank=None)
    assert _entry_bytes(other, old_entry(other)) - _entry_bytes(other, roster_entry(other)) == 7 + 18 + 18 + 20


@pytest.mark.parametrize(
    "lender_id",
    [
        None,
        "auth0|legacy-user",
        LENDER_ID.upper(),  # a UUID, but not as canonical text: kept as text
        "{" + LENDER_ID + "}",
        LENDER_ID.replace("-", ""),
        "urn:uuid:" + LENDER_ID,
        "",
    ],
)
def test_a_lender_id_that_is_not_a_canonical_uuid_is_kept_as_it_is(lender_id: str | None) -> None:
    participant = replace(accepted(), lender_id=lender_id)
    entry = roster_entry(participant)
    assert entry[3] == lender_id
    read = listed(stored({roster_name(participant.participant_id): entry}))
    assert read[participant.participant_id].lender_id == lender_id


def test_a_canonical_uuid_lender_id_is_stored_as_its_16_bytes_and_read_back_as_text() -> None:
    entry = roster_entry(accepted())
    assert entry[3] == uuid.UUID(LENDER_ID).bytes
    raw = to_item({"e": entry})["e"]["L"][3]
    assert raw == {"B": uuid.UUID(LENDER_ID).bytes}
    # boto3 reads a binary as Binary; a fake may hand over bytes.
    assert isinstance(from_item({"e": {"L": [raw]}})["e"][0], Binary)
    assert unpacked_id(Binary(uuid.UUID(LENDER_ID).bytes)) == LENDER_ID
    assert unpacked_id(uuid.UUID(LENDER_ID).bytes) == LENDER_ID
    assert packed_id(LENDER_ID) == uuid.UUID(LENDER_ID).bytes


def test_times_round_trip_to_the_microsecond_in_any_zone() -> None:
    paris = timezone(timedelta(hours=1))
    for moment in (NOW, NOW.astimezone(paris), datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        back = moment_of(Decimal(micros(moment)))
        assert back == moment
        assert iso(back) == iso(moment)
    assert micros(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-1e30"), Decimal("0.5"), "1", None])
def test_a_stored_time_that_is_no_whole_number_of_microseconds_is_refused(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        moment_of(value)


DAMAGED = [
    pytest.param(["P", "a@example.com"], id="too-short"),
    pytest.param(
        ["X", "a@example.com", None, None, Decimal("1"), Decimal(micros(NOW)), None, 1, None], id="unknown-code"
    ),
    pytest.param(["P", "a@example.com", None, None, Decimal("1"), iso(NOW), None, 1, None], id="time-as-text"),
    pytest.param(["P", "a@example.com", None, None, Decimal("1"), Decimal("1.5"), None, 1, None], id="part-micro"),
    pytest.param(["P", "a@example.com", None, None, Decimal("1"), Decimal("1e30"), None, 1, None], id="time-overflow"),
    pytest.param(["P", "a@example.com", None, None, Decimal("1"), True, None, 1, None], id="time-bool"),
    pytest.param(
        ["A", "a@example.com", None, b"\x01" * 15, Decimal("1"), Decimal(micros(NOW)), None, 1, None], id="id-15"
    ),
    pytest.param(
        ["A", "a@example.com", None, Decimal("7"), Decimal("1"), Decimal(micros(NOW)), None, 1, None], id="id-num"
    ),
]


@pytest.mark.parametrize("entry", DAMAGED)
def test_a_damaged_new_entry_raises_damaged_item_and_the_rest_are_read(
    entry: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(items, "report_damaged", lambda entity, key, problem: reported.append((entity, key)))
    damaged_id, kept = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", pending()
    item = stored(
        {roster_name(damaged_id): entry, roster_name(kept.participant_id): roster_entry(kept)},
    )
    assert listed(item) == {kept.participant_id: shown(kept)}
    # Only DamagedItem carries the entry's own name in the key it reports.
    assert reported == [("roster_entry", {"PK": item["PK"], "SK": f"LOAN/{roster_name(damaged_id)}"})]


def test_an_unreadable_response_time_reads_as_none_as_it_did_before() -> None:
    participant = accepted()
    entry = roster_entry(participant)
    entry[6] = "soon"
    read = listed(stored({roster_name(participant.participant_id): entry}))
    assert read[participant.participant_id] == shown(replace(participant, responded_at=None))


@pytest.mark.parametrize(("participants", "saved"), [(10, 240), (50, 1200), (100, 2400), (220, 7560)])
def test_a_benchmark_loan_item_shrinks_by_the_bytes_in_the_data_model(participants: int, saved: int) -> None:
    """The loans `make bench` PATCHes (benchmarks/sizes.py: PENDING invitees, those past the
    live cap DECLINED): 24 bytes less per PENDING entry, 42 per DECLINED one."""
    loan = Loan(
        LOAN_ID,
        BORROWER_ID,
        "Bench Borrower",
        Decimal("10000000.00"),
        Decimal("7.5"),
        12,
        "benchmark",
        LoanStatus.FUNDING,
        NOW,
        BORROWER_ID,
        NOW,
        BORROWER_ID,
    )
    emails = [f"sized-{n:012x}@example.com" for n in range(participants)]
    after, created = invite(
        loan,
        [Invitee(email, Decimal("100.00")) for email in emails],
        {},
        new_ids=[str(uuid.UUID(int=n)) for n in range(participants)],
        now=NOW,
        actor_id=BORROWER_ID,
    )
    created = created[:MAX_LIVE_PARTICIPANTS] + tuple(
        replace(p, status=ParticipantStatus.DECLINED, version=2, responded_at=NOW + timedelta(seconds=1))
        for p in created[MAX_LIVE_PARTICIPANTS:]
    )
    compact = loan_item(replace(after, participants=created))
    before = {**compact, **{roster_name(p.participant_id): old_entry(p) for p in created}}
    assert item_size(to_item(before)) - item_size(to_item(compact)) == saved
