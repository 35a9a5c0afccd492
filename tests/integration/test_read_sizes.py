"""What a request reads does not grow with the loan where the answer does not need it, and a
page of the borrower's loans is one Query: counted call by call on DynamoDB Local."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from benchmarks.meter import DynamoMeter, Window
from benchmarks.recorded import items_read
from lendbridge.data import keys
from lendbridge.data.items import ROSTER_COMPLETE
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.lending import Lending, LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee, ParticipantStatus
from lendbridge.domain.ports import new_id, utc_now
from tests.integration.conftest import World

TERMS = LoanTerms(Decimal("100000.00"), Decimal("5"), 12, "sizes")
ACH = AchDetails("Lee Lender", "011000015", "123456789", "checking")


def email() -> str:
    return f"size-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Metered:
    lending: Lending
    meter: DynamoMeter

    def reads(self, window: Window) -> list[tuple[str, int]]:
        """(operation, items read) of every read call."""
        return [(c.operation, items_read(c)) for c in window.calls if items_read(c) or c.operation == "Query"]


@pytest.fixture
def metered(world: World) -> Metered:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=world.dynamodb.meta.endpoint_url,
        region_name=world.dynamodb.meta.region_name,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    meter = DynamoMeter()
    meter.instrument(client)
    store = DynamoLoanStore(client, world.tables["MainTable"], world.tables["AuditTable"], new_id)
    return Metered(Lending(store=store, vault=world.vault, clock=utc_now, new_id=new_id), meter)


def loan_of_size(world: World, actor: Any, size: int, lender_email: str | None = None) -> Any:
    first = [Invitee(lender_email or email(), Decimal("10"))] + [Invitee(email(), Decimal("10")) for _ in range(19)]
    loan = world.lending.create_loan(actor, TERMS, first[: min(size, 20)])
    for start in range(20, size, 20):
        world.lending.add_lenders(
            actor, loan.loan_id, [Invitee(email(), Decimal("10")) for _ in range(min(20, size - start))]
        )
    return loan


@pytest.mark.parametrize("size", [5, 60])
def test_patch_and_withdraw_read_the_loan_item_alone_whatever_the_loans_size(
    world: World, metered: Metered, size: int
) -> None:
    borrower, actor = world.user("b")
    loan = loan_of_size(world, actor, size)
    current = world.lending.get_loan(borrower.user_id, loan.loan_id)

    with metered.meter.measure() as window:
        revised = metered.lending.revise(actor, loan.loan_id, [current.version], {"purpose": "bigger"}, "why")
    assert metered.reads(window) == [("GetItem", 1)]
    assert len(revised.participants) == size  # the answer still shows every participant

    withdrawn = revised.participants[0].participant_id
    with metered.meter.measure() as window:
        metered.lending.remove_participant(actor, loan.loan_id, withdrawn)
    assert metered.reads(window) == [("GetItem", 1)]
    after = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert withdrawn not in {p.participant_id for p in after.participants}
    assert (after.pending_count, after.total_invited) == (size - 1, Decimal(10) * (size - 1))


def test_accept_and_decline_read_two_items_whatever_the_loans_size(world: World, metered: Metered) -> None:
    (_, actor), (lender, lender_actor), (other, other_actor) = world.user("b"), world.user("l"), world.user("o")
    loan = loan_of_size(world, actor, 60, lender.email)
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(other.email, Decimal("10"))])
    mine = world.lending.lender_participations(lender.user_id, ParticipantStatus.PENDING, 10, None).items[0][0]
    theirs = world.lending.lender_participations(other.user_id, ParticipantStatus.PENDING, 10, None).items[0][0]

    with metered.meter.measure() as window:
        metered.lending.accept(lender_actor, mine.participant_id, ACH)
    assert metered.reads(window) == [("Query", 1), ("BatchGetItem", 2)]
    with metered.meter.measure() as window:
        metered.lending.decline(other_actor, theirs.participant_id, None)
    assert metered.reads(window) == [("Query", 1), ("BatchGetItem", 2)]
    shown = {p.participant_id: p.status for p in world.lending.get_loan(lender.user_id, loan.loan_id).participants}
    assert (shown[mine.participant_id], shown[theirs.participant_id]) == (
        ParticipantStatus.ACCEPTED,
        ParticipantStatus.DECLINED,
    )


def test_a_page_of_my_loans_is_one_query_of_loan_items_only(world: World, metered: Metered) -> None:
    borrower, actor = world.user("b")
    loans = [loan_of_size(world, actor, 4) for _ in range(3)]
    cancelled = loan_of_size(world, actor, 4)
    world.lending.cancel(actor, cancelled.loan_id, "not needed")

    with metered.meter.measure() as window:
        page = metered.lending.my_loans(borrower.user_id, 2, None)
    # limit + 1 items, every one a live loan: no participant rows, nothing of the cancelled loan.
    assert metered.reads(window) == [("Query", 3)]
    assert [loan.loan_id for loan in page.items] == [loans[2].loan_id, loans[1].loan_id]
    assert [len(loan.participants) for loan in page.items] == [4, 4]
    with metered.meter.measure() as window:
        rest = metered.lending.my_loans(borrower.user_id, 2, page.next_position)
    assert metered.reads(window) == [("Query", 1)]
    assert [loan.loan_id for loan in rest.items] == [loans[0].loan_id]
    assert rest.next_position is None


def test_a_loan_from_before_the_roster_is_read_from_its_items(world: World) -> None:
    """Existing data keeps working: a loan item without the roster marker is read the old way."""
    borrower, actor = world.user("b")
    loan = loan_of_size(world, actor, 3)
    world.dynamodb.update_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}},
        UpdateExpression="REMOVE #complete",
        ExpressionAttributeNames={"#complete": ROSTER_COMPLETE},
    )
    # The entries a legacy loan has may be incomplete: the participant items are what counts.
    entry = f"P#{loan.participants[0].participant_id}"
    world.dynamodb.update_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}},
        UpdateExpression="REMOVE #entry",
        ExpressionAttributeNames={"#entry": entry},
    )
    read = world.lending.get_loan(borrower.user_id, loan.loan_id)
    listed = world.lending.my_loans(borrower.user_id, 10, None).items
    assert len(read.participants) == 3
    assert [len(item.participants) for item in listed] == [3]
