"""Rules of single writes on DynamoDB Local that a broken write path would silently lose: the
audit entry of each batch invitation, and a response to an invitation that read the loan before
a concurrent revision."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee, ParticipantStatus
from tests.integration.conftest import World
from tests.integration.test_lending import audit_log

ACH = AchDetails("Ada Lovelace", "011000015", "000111222333", "checking")
TERMS = LoanTerms(Decimal("1000.00"), Decimal("5"), 24, "Tools")


def email() -> str:
    return f"w-{uuid.uuid4().hex[:10]}@example.com"


def test_each_lender_a_batch_invites_has_its_own_audit_entry_and_a_refused_one_has_none(world: World) -> None:
    (borrower, actor) = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [])
    first, second, third = email(), email(), email()
    outcomes = world.lending.add_each(
        actor,
        loan.loan_id,
        [
            Invitee(first, Decimal("100")),
            Invitee(borrower.email, Decimal("10")),  # refused: the borrower
            Invitee(second, Decimal("200")),
            Invitee(third, Decimal("5000")),  # refused: above what is still open
        ],
    )
    created = {o.participant_id: o.email for o in outcomes if o.participant_id is not None}
    assert sorted(created.values()) == sorted([first, second])
    # One entry per written invitation request (each of a batch's items is one), naming it.
    entries = [e for e in audit_log(world, loan.loan_id) if e["entity"] == "loan" and e["action"] == "UPDATE"]
    invited = [p for e in entries for p in e["changes"]["after"]["participants_invited"]]
    assert sorted(p["participant_id"] for p in invited) == sorted(created)
    for entry in entries:
        assert (entry["user_id"], entry["changes"]["before"], entry["request_id"]) == (
            borrower.user_id,
            None,
            actor.request_id,
        )
        assert [p["status"] for p in entry["changes"]["after"]["participants_invited"]] == ["PENDING"]
    assert not [e for e in audit_log(world, loan.loan_id) if e["entity"] == "participant"]
    loan_entries = [e for e in audit_log(world, loan.loan_id) if e["entity"] == "loan" and e["action"] == "UPDATE"]
    assert len(loan_entries) == 2, "one entry for the loan per invitation written"


def _racing_revision(world: World, monkeypatch: pytest.MonkeyPatch, actor: Any, loan_id: str) -> list[int]:
    """The next invitation lookup returns what it read, then the borrower revises the loan before
    the caller writes: the caller's loan is one version behind, as under a real race."""
    read = world.store.find_participant
    revised: list[int] = []

    def read_then_revise(participant_id: str) -> Any:
        found = read(participant_id)
        if not revised:
            loan = world.lending.revise(actor, loan_id, (found[0].version,), {"term_months": 6}, "raced")
            revised.append(loan.version)
        return found

    monkeypatch.setattr(world.store, "find_participant", read_then_revise)
    return revised


@pytest.mark.parametrize("accepting", [True, False])
def test_a_response_that_read_the_loan_before_a_revision_keeps_the_revision(
    world: World, monkeypatch: pytest.MonkeyPatch, accepting: bool
) -> None:
    (borrower, actor), (alice, alice_actor) = world.user("b"), world.user("alice")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(alice.email, Decimal("100"))])
    pid = loan.participants[0].participant_id
    revised = _racing_revision(world, monkeypatch, actor, loan.loan_id)
    if accepting:
        participant, after = world.lending.accept(alice_actor, pid, ACH)
    else:
        participant, after = world.lending.decline(alice_actor, pid, "no")
    assert revised == [2], "the revision ran between the response's read and its write"
    stored = world.store.get(loan.loan_id)
    assert stored is not None
    assert (stored.version, stored.term_months) == (3, 6)
    assert (after.version, after.term_months) == (3, 6)
    expected = ParticipantStatus.ACCEPTED if accepting else ParticipantStatus.DECLINED
    assert participant.status == expected
    assert stored.total_funded == (Decimal("100.00") if accepting else Decimal("0.00"))
    world.process_stream()
    versions = world.dynamodb.query(
        TableName=world.tables["MainTable"],
        KeyConditionExpression="PK = :pk AND begins_with(SK, :v)",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan.loan_id)}, ":v": {"S": "VERSION#"}},
        ConsistentRead=True,
    )["Items"]
    assert len(versions) == 3, "every version was written once, none overwritten"
    _ = borrower
