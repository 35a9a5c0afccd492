"""At most 100 PENDING or ACCEPTED participants per loan, enforced by DynamoDB in the same
conditional write that moves the money (issue 8, item 5)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee, ParticipantStatus
from lendbridge.errors import LendbridgeError, ValidationFailed
from tests.events import body_of
from tests.integration.conftest import World
from tests.integration.handler_calls import call, handlers_on

BIG = LoanTerms(Decimal("10000000"), Decimal("5"), 12, None)  # money never binds here
ONE = Decimal("1.00")
MAX_LIVE_PARTICIPANTS = 100  # the contract's cap on PENDING plus ACCEPTED participants
ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")


def invitees(count: int, label: str = "cap") -> list[Invitee]:
    return [Invitee(f"{label}-{uuid.uuid4().hex[:10]}@example.com", ONE) for _ in range(count)]


def stored_loan(world: World, loan_id: str) -> dict[str, Any]:
    item = world.dynamodb.get_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan_id)}, "SK": {"S": keys.LOAN}},
        ConsistentRead=True,
    )["Item"]
    return from_item(item)


def live_participants(world: World, borrower_id: str, loan_id: str) -> int:
    loan = world.lending.get_loan(borrower_id, loan_id)
    return sum(1 for p in loan.participants if p.status in (ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED))


def test_the_cap_holds_for_create_add_and_batch_and_frees_on_decline_remove_and_cancel(world: World) -> None:
    (borrower, actor), (decliner, decliner_actor), (acceptor, acceptor_actor) = (
        world.user("borrower"),
        world.user("decliner"),
        world.user("acceptor"),
    )
    loan = world.lending.create_loan(
        actor, BIG, [Invitee(decliner.email, ONE), Invitee(acceptor.email, ONE), *invitees(18)]
    )
    assert stored_loan(world, loan.loan_id)["open_slots"] == MAX_LIVE_PARTICIPANTS - 20
    for _ in range(4):
        world.lending.add_lenders(actor, loan.loan_id, invitees(20))
    assert live_participants(world, borrower.user_id, loan.loan_id) == MAX_LIVE_PARTICIPANTS
    assert stored_loan(world, loan.loan_id)["open_slots"] == 0

    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, invitees(1))
    assert "at most 100" in refused.value.message
    outcomes = world.lending.add_each(actor, loan.loan_id, invitees(2))
    assert [o.participant_id for o in outcomes] == [None, None]
    assert all("at most 100" in (o.error or "") for o in outcomes)

    # Over HTTP the refusal is the contract's 400 VALIDATION_ERROR.
    with handlers_on(world):
        answer = call(
            "POST",
            "/v1/loans/{loan_id}/lenders",
            borrower.user_id,
            params={"loan_id": loan.loan_id},
            body={"lenders": [{"email": invitees(1)[0].email, "contribution_amount": "1"}]},
        )
    assert answer["statusCode"] == 400, answer["body"]
    assert body_of(answer)["error"] == "VALIDATION_ERROR"
    assert body_of(answer)["details"] == {"open_slots": 0}

    # Accepting keeps the slot; declining and removing free one each.
    acceptance = next(p for p in loan.participants if p.lender_id == acceptor.user_id)
    world.lending.accept(acceptor_actor, acceptance.participant_id, ACH)
    assert stored_loan(world, loan.loan_id)["open_slots"] == 0
    declined = next(p for p in loan.participants if p.lender_id == decliner.user_id)
    world.lending.decline(decliner_actor, declined.participant_id, None)
    removable = next(p for p in loan.participants if p.lender_id is None)
    world.lending.remove_participant(actor, loan.loan_id, removable.participant_id)
    assert stored_loan(world, loan.loan_id)["open_slots"] == 2
    outcomes = world.lending.add_each(actor, loan.loan_id, invitees(3))
    assert [o.participant_id is not None for o in outcomes] == [True, True, False]
    assert live_participants(world, borrower.user_id, loan.loan_id) == MAX_LIVE_PARTICIPANTS

    # Cancelling withdraws every pending invitation: only the accepted one keeps its slot.
    world.lending.cancel(actor, loan.loan_id, "too many")
    assert stored_loan(world, loan.loan_id)["open_slots"] == MAX_LIVE_PARTICIPANTS - 1


@pytest.mark.parametrize(
    ("already", "requests", "per_request"),
    [(0, 12, 10), (95, 10, 1), (90, 8, 3)],
    ids=["120-over-12-requests", "10-single-invites-for-5-slots", "24-over-8-requests-for-10-slots"],
)
def test_parallel_add_lenders_never_put_more_than_100_on_a_loan(
    world: World, already: int, requests: int, per_request: int
) -> None:
    borrower, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, BIG, [])
    for start in range(0, already, 20):
        world.lending.add_lenders(actor, loan.loan_id, invitees(min(20, already - start)))
    start_together = threading.Barrier(requests)

    def invite(_: int) -> str:
        batch = invitees(per_request, "racer")
        start_together.wait()
        try:
            world.lending.add_lenders(actor, loan.loan_id, batch)
        except ValidationFailed:
            return "refused"
        except LendbridgeError as error:
            return f"error:{error.code}"
        return "added"

    with ThreadPoolExecutor(max_workers=requests) as pool:
        outcomes = list(pool.map(invite, range(requests)))
    fits = (MAX_LIVE_PARTICIPANTS - already) // per_request
    assert outcomes.count("added") == fits, outcomes
    assert outcomes.count("refused") == requests - fits, outcomes
    assert live_participants(world, borrower.user_id, loan.loan_id) == already + fits * per_request
    assert stored_loan(world, loan.loan_id)["open_slots"] == MAX_LIVE_PARTICIPANTS - already - fits * per_request
    print(  # the report's numbers: pytest -s shows them
        f"{requests * per_request} concurrent invitations across {requests} parallel requests "
        f"(loan already at {already}): {fits * per_request} accepted, "
        f"{(requests - fits) * per_request} refused"
    )


def test_a_loan_stored_before_the_cap_gets_its_slot_counter_on_its_next_invitation(world: World) -> None:
    _, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, BIG, invitees(3))
    world.dynamodb.update_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}},
        UpdateExpression="REMOVE open_slots",
    )
    world.lending.add_lenders(actor, loan.loan_id, invitees(2))
    assert stored_loan(world, loan.loan_id)["open_slots"] == MAX_LIVE_PARTICIPANTS - 5
