"""One live invitation per email per loan, kept as a set on the loan item (docs/data-model.md):
the set follows every change that makes an invitation live or not, and a loan stored before
the set (guard items then) builds it from its participants on its first invitation since."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from benchmarks.meter import item_size
from lendbridge.data import keys
from lendbridge.data.dynamo import from_item, to_item
from lendbridge.data.items import invitee_tag
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee, InviteeAlreadyOnLoan, Loan, ParticipantStatus
from lendbridge.errors import Conflict, ValidationFailed
from tests.integration.conftest import World
from tests.integration.test_participant_cap import stored_loan

TERMS = LoanTerms(Decimal("100000"), Decimal("5"), 12, None)
TEN = Decimal("10.00")
MAX_ITEM_BYTES = 400 * 1024


def outsider() -> str:
    return f"outsider-{uuid.uuid4().hex[:10]}@example.com"


def live_tags(loan: Loan) -> set[bytes]:
    return {
        invitee_tag(p.lender_email)
        for p in loan.participants
        if p.status in (ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED)
    }


def stored_tags(world: World, loan_id: str) -> set[bytes]:
    return {bytes(tag) for tag in stored_loan(world, loan_id).get("invitees") or ()}


def forget_the_set(world: World, loan_id: str) -> None:
    """The loan item as it was stored before the set existed (and before the roster: so the
    request's own reading cannot see who is on the loan, and only the write can refuse)."""
    world.dynamodb.update_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan_id)}, "SK": {"S": keys.LOAN}},
        UpdateExpression="REMOVE invitees, invitees_kept, #roster",
        ExpressionAttributeNames={"#roster": "roster"},
    )


def test_the_set_holds_exactly_the_live_invitations_through_every_change(world: World) -> None:
    (_, actor), (decliner, decliner_actor) = world.user("borrower"), world.user("decliner")
    withdrawn, kept = outsider(), outsider()
    loan = world.lending.create_loan(actor, TERMS, [Invitee(decliner.email, TEN), Invitee(withdrawn, TEN)])
    assert stored_tags(world, loan.loan_id) == {invitee_tag(decliner.email), invitee_tag(withdrawn)}

    world.lending.add_lenders(actor, loan.loan_id, [Invitee(kept, TEN)])
    by_email = {p.lender_email: p for p in world.lending.get_loan(actor.user_id, loan.loan_id).participants}
    world.lending.decline(decliner_actor, by_email[decliner.email].participant_id, "no")
    world.lending.remove_participant(actor, loan.loan_id, by_email[withdrawn].participant_id)

    current = world.lending.get_loan(actor.user_id, loan.loan_id)
    assert stored_tags(world, loan.loan_id) == live_tags(current) == {invitee_tag(kept)}
    # Declined and withdrawn emails are free again; the live one is not.
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(decliner.email, TEN), Invitee(withdrawn, TEN)])
    with pytest.raises(ValidationFailed, match=f"{kept} is already invited"):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(kept.upper(), TEN)])


def test_a_loan_from_before_the_set_builds_it_from_its_participants(world: World) -> None:
    (_, actor), (decliner, decliner_actor) = world.user("borrower"), world.user("decliner")
    live = outsider()
    loan = world.lending.create_loan(actor, TERMS, [Invitee(decliner.email, TEN), Invitee(live, TEN)])
    decliner_invitation = next(p for p in loan.participants if p.lender_email == decliner.email)
    world.lending.decline(decliner_actor, decliner_invitation.participant_id, "no")
    forget_the_set(world, loan.loan_id)

    # The write itself finds the live email among the participant items.
    with pytest.raises(InviteeAlreadyOnLoan) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(outsider(), TEN), Invitee(live, TEN)])
    assert refused.value.details == {"email": live}
    assert "invitees_kept" not in stored_loan(world, loan.loan_id)

    newcomer = outsider()
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(decliner.email, TEN), Invitee(newcomer, TEN)])
    stored: dict[str, Any] = stored_loan(world, loan.loan_id)
    assert stored["invitees_kept"] == 1
    assert stored_tags(world, loan.loan_id) == {invitee_tag(e) for e in (live, decliner.email, newcomer)}
    # From now on the request's reading of the set refuses a duplicate before any write.
    with pytest.raises(ValidationFailed, match=f"{newcomer} is already invited"):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(newcomer, TEN)])


def test_adding_lenders_writes_no_item_per_email_beyond_the_participant(world: World) -> None:
    _, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, TERMS, [])
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(outsider(), TEN) for _ in range(3)])
    collection = world.dynamodb.query(
        TableName=world.tables["MainTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan.loan_id)}},
        ConsistentRead=True,
    )["Items"]
    kinds = sorted(item["SK"]["S"].split("#", 1)[0] for item in collection)
    assert [kind for kind in kinds if kind not in ("VERSION", "FUNDING")] == ["LOAN", "PART", "PART", "PART"]


def test_a_loan_whose_item_cannot_grow_refuses_new_lenders_with_a_conflict(world: World) -> None:
    """DynamoDB caps an item at 400 KB: a loan listing about 2,000 participants (declined ones
    stay listed) cannot take another; the request is refused whole, not failed with a 500."""
    _, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(outsider(), TEN)])
    table = world.tables["MainTable"]
    key = {"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}}
    item = from_item(world.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    declined = ["DECLINED", outsider(), "Some One", str(uuid.uuid4()), TEN, "2026-11-30T04:10:46.123456Z"]
    entry = [*declined, "2026-11-30T04:11:00.000000Z", 2, None]
    # Filled to within 1 KB of 400 KB (DynamoDB's sizing rules): 20 more entries, about 100
    # bytes each in the compact format, cannot fit.
    per_entry = item_size(to_item({f"P#{uuid.uuid4()}": entry}))
    room = MAX_ITEM_BYTES - 1024 - item_size(to_item(item))
    for _ in range(room // per_entry):
        item[f"P#{uuid.uuid4()}"] = entry
    world.dynamodb.put_item(TableName=table, Item=to_item(item))

    with pytest.raises(Conflict, match="most participants one loan can hold"):
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(outsider(), TEN) for _ in range(20)])
    after = from_item(world.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    assert after["version"] == item["version"]
