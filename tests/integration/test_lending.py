"""The lending core on DynamoDB Local: money rules, invitations, responses, claims, faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee, LoanStatus, ParticipantStatus
from lendbridge.errors import Conflict, NotFound, Throttled, ValidationFailed
from tests.integration.conftest import FakeVault, World
from tests.integration.faults import failing

ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")
TERMS = LoanTerms(Decimal("10000.00"), Decimal("7.5"), 36, "Bakery equipment")


def stranger_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


def collection(world: World, loan_id: str, prefix: str) -> list[dict[str, Any]]:
    items = world.dynamodb.query(
        TableName=world.tables["MainTable"],
        KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan_id)}, ":p": {"S": prefix}},
        ConsistentRead=True,
    )["Items"]
    return [from_item(item) for item in items]


def audit_log(world: World, loan_id: str) -> list[dict[str, Any]]:
    items = world.dynamodb.query(
        TableName=world.tables["AuditTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan_id)}},
        ConsistentRead=True,
    )["Items"]
    return [from_item(item) for item in items]


def _values(value: Any) -> Iterator[Any]:
    """Every leaf of a stored item (DynamoDB binaries as bytes)."""
    if isinstance(value, dict):
        for inner in value.values():
            yield from _values(inner)
    elif isinstance(value, list | set | tuple):
        for inner in value:
            yield from _values(inner)
    else:
        yield getattr(value, "value", value)


def assert_bank_numbers_only_sealed(world: World, loan_id: str, accepted: dict[str, AchDetails]) -> None:
    """Each accepted participant's numbers are in its bank record, sealed for that loan and
    participant; no stored value of the loan (items, audit entries) holds them in plain text or
    holds anything else the vault can open."""
    loan_items = world.dynamodb.query(
        TableName=world.tables["MainTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan_id)}},
        ConsistentRead=True,
    )["Items"]
    items = [from_item(item) for item in loan_items] + audit_log(world, loan_id)
    bank_rows = [item for item in items if str(item.get("SK", "")).startswith("BANK#")]
    assert {row["participant_id"] for row in bank_rows} == set(accepted)
    for row in bank_rows:
        ach = accepted[row["participant_id"]]
        assert row["SK"] == keys.bank_sk(row["participant_id"])
        assert FakeVault.open(_values(row["ciphertext"]).__next__()) == {
            "loan_id": loan_id,
            "participant_id": row["participant_id"],
            "routing_number": ach.routing_number,
            "account_number": ach.account_number,
        }
    numbers = {n for ach in accepted.values() for n in (ach.routing_number, ach.account_number)}
    openable = 0
    for item in items:
        for value in _values(item):
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            assert not any(number in text for number in numbers), item
            if FakeVault.open(value) is not None:
                openable += 1
    assert openable == len(bank_rows), "a sealed blob was copied outside the bank records"


def test_create_loan_with_a_registered_and_an_unregistered_lender(world: World) -> None:
    (borrower, actor), (lender, _) = world.user("borrower"), world.user("lender")
    outsider = stranger_email()
    loan = world.lending.create_loan(
        actor,
        TERMS,
        [
            Invitee(lender.email.upper(), Decimal("2500.00")),
            Invitee(outsider, Decimal("1000.50")),
        ],
    )
    stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert stored.total_invited == Decimal("3500.50")
    assert stored.remaining == Decimal("6499.50")
    assert (stored.pending_count, stored.participant_count, stored.version) == (2, 2, 1)
    by_email = {p.lender_email: p for p in stored.participants}
    assert by_email[lender.email].lender_id == lender.user_id
    assert by_email[lender.email].lender_name == "Lender"
    assert by_email[outsider].lender_id is None
    assert stored.borrower_name == "Borrower"
    world.process_stream()
    assert [v["version"] for v in collection(world, loan.loan_id, "VERSION#")] == [1]
    assert len(collection(world, loan.loan_id, "FUNDING#")) == 1
    actions = sorted((entry["entity"], entry["action"]) for entry in audit_log(world, loan.loan_id))
    assert actions == [("loan", "CREATE"), ("participant", "CREATE"), ("participant", "CREATE")]


def test_the_lender_rules_name_the_offending_email_and_write_nothing(world: World) -> None:
    (borrower, actor), (lender, _) = world.user("borrower"), world.user("lender")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("100"))])
    fresh = stranger_email()
    cases = [
        ([Invitee(fresh, Decimal("1")), Invitee(fresh.upper(), Decimal("1"))], fresh),
        ([Invitee(lender.email.title(), Decimal("1"))], lender.email),
        ([Invitee(borrower.email, Decimal("1"))], borrower.email),
    ]
    for invitees, email in cases:
        with pytest.raises(ValidationFailed) as raised:
            world.lending.add_lenders(actor, loan.loan_id, invitees)
        assert email in raised.value.message
    with pytest.raises(ValidationFailed, match="above the 9900.00 still open"):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(fresh, Decimal("9900.01"))])
    with pytest.raises(ValidationFailed, match="At most 20 lenders"):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(21)])
    unchanged = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (unchanged.version, unchanged.total_invited, len(unchanged.participants)) == (1, Decimal("100.00"), 1)


def test_only_the_borrower_may_add_lenders(world: World) -> None:
    (_, actor), (_, other) = world.user("borrower"), world.user("other")
    loan = world.lending.create_loan(actor, TERMS, [])
    with pytest.raises(NotFound):
        world.lending.add_lenders(other, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])
    with pytest.raises(NotFound):
        world.lending.add_lenders(actor, str(uuid.uuid4()), [Invitee(stranger_email(), Decimal("1"))])


def test_accepting_funds_the_loan_in_the_same_write(world: World) -> None:
    (borrower, actor), (alice, alice_actor), (bob, bob_actor) = world.user("b"), world.user("alice"), world.user("bob")
    loan = world.lending.create_loan(
        actor,
        LoanTerms(Decimal("3000"), Decimal("5"), 12, None),
        [
            Invitee(alice.email, Decimal("1000")),
            Invitee(bob.email, Decimal("2000")),
        ],
    )
    ids = {p.lender_id: p.participant_id for p in world.lending.get_loan(borrower.user_id, loan.loan_id).participants}
    participant, after = world.lending.accept(alice_actor, ids[alice.user_id], ACH)
    assert (after.status, after.total_funded, after.funding_percentage) == (
        LoanStatus.FUNDING,
        Decimal("1000.00"),
        Decimal("33.33"),
    )
    assert participant.bank is not None
    assert (participant.bank.routing_number_last4, participant.bank.account_number_last4) == ("0015", "6789")
    _, funded = world.lending.accept(bob_actor, ids[bob.user_id], ACH)
    assert (funded.status, funded.is_fully_funded, funded.funding_percentage) == (
        LoanStatus.FUNDED,
        True,
        Decimal("100.00"),
    )
    stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (stored.status, stored.accepted_count, stored.pending_count) == (LoanStatus.FUNDED, 2, 0)
    assert (stored.largest_contribution, stored.smallest_contribution) == (Decimal("2000.00"), Decimal("1000.00"))
    assert_bank_numbers_only_sealed(world, loan.loan_id, {ids[alice.user_id]: ACH, ids[bob.user_id]: ACH})


def test_accept_is_for_the_invitations_own_lender_and_only_while_pending(world: World) -> None:
    (borrower, actor), (alice, alice_actor), (_, mallory) = world.user("b"), world.user("alice"), world.user("mallory")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(alice.email, Decimal("10"))])
    pid = world.lending.get_loan(borrower.user_id, loan.loan_id).participants[0].participant_id
    with pytest.raises(NotFound):
        world.lending.accept(mallory, pid, ACH)
    with pytest.raises(NotFound):
        world.lending.accept(actor, pid, ACH)
    world.lending.decline(alice_actor, pid, "not now")
    with pytest.raises(Conflict):
        world.lending.accept(alice_actor, pid, ACH)
    with pytest.raises(NotFound):
        world.lending.accept(alice_actor, str(uuid.uuid4()), ACH)


def test_declining_frees_the_amount_and_the_email_can_be_invited_again(world: World) -> None:
    (borrower, actor), (alice, alice_actor) = world.user("b"), world.user("alice")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(alice.email, Decimal("10000"))])
    pid = world.lending.get_loan(borrower.user_id, loan.loan_id).participants[0].participant_id
    _, after = world.lending.decline(alice_actor, pid, None)
    assert (after.total_invited, after.remaining, after.declined_count) == (Decimal("0.00"), Decimal("10000.00"), 1)
    again, added = world.lending.add_lenders(actor, loan.loan_id, [Invitee(alice.email, Decimal("5000"))])
    assert added[0].participant_id != pid
    assert again.total_invited == Decimal("5000.00")


def test_invitations_to_a_new_email_become_the_new_users_in_place(world: World) -> None:
    (borrower, actor) = world.user("b")
    email = stranger_email()
    loan = world.lending.create_loan(actor, TERMS, [Invitee(email, Decimal("10"))])
    before = world.lending.get_loan(borrower.user_id, loan.loan_id).participants[0]
    from datetime import datetime

    from lendbridge.data.keys import email_digest
    from lendbridge.domain.accounts import UserProfile
    from lendbridge.domain.claims import ClaimRequest
    from lendbridge.domain.ports import Actor

    newcomer = UserProfile(str(uuid.uuid4()), email, "Newcomer", datetime.now(UTC))
    world.users.create(newcomer, Actor(user_id=newcomer.user_id, request_id="r"))
    request = ClaimRequest(newcomer.user_id, email_digest(email), "Newcomer", "r")
    assert world.claims.claim(request) == 1
    assert world.claims.claim(request) == 0
    after = world.lending.get_loan(newcomer.user_id, loan.loan_id).participants
    assert [(p.participant_id, p.lender_id) for p in after] == [(before.participant_id, newcomer.user_id)]
    page = world.lending.lender_participations(newcomer.user_id, ParticipantStatus.PENDING, 20, None)
    assert [p.participant_id for p, _ in page.items] == [before.participant_id]


def test_pending_lists_each_invitation_once_and_portfolio_the_accepted(world: World) -> None:
    (_, actor), (alice, alice_actor) = world.user("b"), world.user("alice")
    loans = [world.lending.create_loan(actor, TERMS, [Invitee(alice.email, Decimal("100"))]) for _ in range(5)]
    pending = world.lending.lender_participations(alice.user_id, ParticipantStatus.PENDING, 100, None)
    assert sorted(loan.loan_id for _, loan in pending.items) == sorted(loan.loan_id for loan in loans)
    first = pending.items[0][0]
    world.lending.accept(alice_actor, first.participant_id, ACH)
    still = world.lending.lender_participations(alice.user_id, ParticipantStatus.PENDING, 100, None)
    portfolio = world.lending.lender_participations(alice.user_id, ParticipantStatus.ACCEPTED, 100, None)
    assert len(still.items) == 4
    assert first.participant_id not in {p.participant_id for p, _ in still.items}
    assert [p.participant_id for p, _ in portfolio.items] == [first.participant_id]


def test_a_throttled_write_is_reported_and_nothing_is_half_written(world: World) -> None:
    (borrower, actor) = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [])
    with (
        failing(world.dynamodb, "TransactWriteItems", "ProvisionedThroughputExceededException"),
        pytest.raises(Throttled),
    ):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("10"))])
    after = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (after.version, after.total_invited, after.participants) == (1, Decimal("0.00"), ())
    world.process_stream()
    assert [v["version"] for v in collection(world, loan.loan_id, "VERSION#")] == [1]


def test_every_version_is_recorded_with_its_changes_and_the_funding_series(world: World) -> None:
    (borrower, actor), (alice, alice_actor) = world.user("b"), world.user("alice")
    loan = world.lending.create_loan(actor, LoanTerms(Decimal("1000"), Decimal("5"), 12, None), [])
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(alice.email, Decimal("400"))])
    pid = world.lending.get_loan(borrower.user_id, loan.loan_id).participants[0].participant_id
    world.lending.accept(alice_actor, pid, ACH)
    world.process_stream()
    world.process_stream()  # redelivery writes nothing twice
    versions = collection(world, loan.loan_id, "VERSION#")
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[1]["changed_fields"] == ["participant_count", "pending_count", "remaining", "total_invited"]
    assert versions[1]["changed_by"] == borrower.user_id
    assert versions[2]["snapshot"]["total_funded"] == Decimal("400")
    assert "accepted_count" in versions[2]["changed_fields"]
    assert versions[2]["changed_by"] == alice.user_id
    points = collection(world, loan.loan_id, "FUNDING#")
    assert [(p["total_funded"], p["participant_count"], p["funding_percentage"]) for p in points] == [
        (Decimal("0"), 0, Decimal("0")),
        (Decimal("0"), 1, Decimal("0")),
        (Decimal("400"), 1, Decimal("40")),
    ]
