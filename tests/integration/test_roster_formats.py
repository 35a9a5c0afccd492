"""Roster entries in the compact format and in the format written before it, side by side on one
loan item in DynamoDB Local (no migration: an entry is rewritten when its participant changes).
The routes that show a loan's participants answer exactly the same whichever format an entry is
in; accept, decline and claim write their entry in the compact format, removal takes it away."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item, to_values
from lendbridge.data.items import ROSTER_PREFIX, roster_name
from lendbridge.domain.accounts import UserProfile
from lendbridge.domain.claims import ClaimRequest
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee
from lendbridge.domain.ports import Actor, utc_now
from tests.events import body_of, header_of
from tests.integration.conftest import World
from tests.integration.handler_calls import call, handlers_on

TERMS = LoanTerms(Decimal("5000.00"), Decimal("6.5"), 24, "Roof")
ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")
OLD_STATUSES = {"PENDING", "ACCEPTED", "DECLINED"}
NEW_STATUSES = {"P", "A", "D"}


@pytest.fixture
def served(world: World) -> Any:
    with handlers_on(world):
        yield world


def outsider() -> str:
    return f"outsider-{uuid.uuid4().hex[:10]}@example.com"


def loan_item(world: World, loan_id: str) -> dict[str, Any]:
    key = to_values({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN})
    return from_item(world.dynamodb.get_item(TableName=world.tables["MainTable"], Key=key, ConsistentRead=True)["Item"])


def entries(world: World, loan_id: str) -> dict[str, list[Any]]:
    item = loan_item(world, loan_id)
    return {name.removeprefix(ROSTER_PREFIX): value for name, value in item.items() if name.startswith(ROSTER_PREFIX)}


def write_old_format(world: World, loan_id: str, participant_ids: list[str]) -> None:
    """Each participant's entry as the code before the compact format wrote it, made from the
    participant's own item (the record the entry mirrors): status word, ISO times as stored,
    lender id as text."""
    table = world.tables["MainTable"]
    for participant_id in participant_ids:
        key = to_values({"PK": keys.loan_pk(loan_id), "SK": keys.participant_sk(participant_id)})
        part = from_item(world.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
        bank = part.get("bank")
        old = [
            part["status"],
            part["lender_email"],
            part.get("lender_name"),
            part.get("lender_id"),
            part["contribution_amount"],
            part["invited_at"],
            part.get("responded_at"),
            part["version"],
            [
                bank["account_holder_name"],
                bank["account_type"],
                bank["routing_number_last4"],
                bank["account_number_last4"],
            ]
            if bank
            else None,
        ]
        world.dynamodb.update_item(
            TableName=table,
            Key=to_values({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN}),
            UpdateExpression="SET #entry = :old",
            ConditionExpression="attribute_exists(#entry)",
            ExpressionAttributeNames={"#entry": roster_name(participant_id)},
            ExpressionAttributeValues=to_values({":old": old}),
        )


def answers(loan_id: str, borrower_id: str, lender_id: str) -> list[Any]:
    """Every answer that shows the loan's participants, to its borrower and to a lender."""
    responses = [
        call("GET", "/v1/loans/{loan_id}", borrower_id, params={"loan_id": loan_id}),
        call("GET", "/v1/loans/{loan_id}", lender_id, params={"loan_id": loan_id}),
        call("GET", "/v1/loans/my-loans", borrower_id),
        call("GET", "/v1/loans/my-loans", borrower_id, query={"limit": "1"}),
        call("GET", "/v1/lender/portfolio", lender_id),
    ]
    assert [r["statusCode"] for r in responses] == [200] * len(responses), [r["body"] for r in responses]
    return [(_positioned(body_of(r)), header_of(r, "ETag")) for r in responses]


def _positioned(body: dict[str, Any]) -> dict[str, Any]:
    """A page token's position in place of the token: the token also says when it expires
    (to the second), which moves between two otherwise equal answers."""
    token = body["data"].get("next_token")
    if token is None:
        return body
    payload = token.split(".")[1]
    position = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["p"]
    return {**body, "data": {**body["data"], "next_token": position}}


def assert_compact(entry: list[Any], lender_id: str | None) -> None:
    assert entry[0] in NEW_STATUSES
    assert isinstance(entry[5], Decimal)
    assert entry[6] is None or isinstance(entry[6], Decimal)
    if lender_id is None:
        assert entry[3] is None
    else:
        assert isinstance(entry[3], Binary)
        assert entry[3].value == uuid.UUID(lender_id).bytes


def test_old_and_new_entries_side_by_side_answer_as_before_and_changes_rewrite_them(served: World) -> None:
    world = served
    borrower, actor = world.user("borrower")
    (settled, settled_actor), (accepter, accepter_actor) = world.user("settled"), world.user("accepter")
    (decliner, decliner_actor), (kept, _) = world.user("decliner"), world.user("kept")
    claimant_email, withdrawn_email = outsider(), outsider()
    emails = [settled.email, accepter.email, decliner.email, kept.email, claimant_email, withdrawn_email]
    world.lending.create_loan(actor, TERMS, [])  # an older loan: my-loans shows two
    loan = world.lending.create_loan(
        actor, TERMS, [Invitee(email, Decimal(100 + 10 * n)) for n, email in enumerate(emails)]
    )
    ids = {p.lender_email: p.participant_id for p in loan.participants}
    world.lending.accept(settled_actor, ids[settled.email], ACH)
    compact = answers(loan.loan_id, borrower.user_id, settled.user_id)
    assert compact[0][1] is not None  # the loan's ETag is compared too
    assert isinstance(compact[3][0]["data"]["next_token"], dict)

    # Every entry but one back in the old format: the same answers, to the byte.
    stale = [ids[email] for email in emails if email != kept.email]
    write_old_format(world, loan.loan_id, stale)
    stored = entries(world, loan.loan_id)
    assert {stored[pid][0] for pid in stale} == {"PENDING", "ACCEPTED"}
    assert stored[ids[settled.email]][3] == settled.user_id  # text, as it was
    assert_compact(stored[ids[kept.email]], kept.user_id)
    assert answers(loan.loan_id, borrower.user_id, settled.user_id) == compact

    # Each change rewrites its own entry in the compact format and leaves the others as they are.
    world.lending.accept(accepter_actor, ids[accepter.email], ACH)
    world.lending.decline(decliner_actor, ids[decliner.email], "not now")
    world.lending.remove_participant(actor, loan.loan_id, ids[withdrawn_email])
    claimant = UserProfile(str(uuid.uuid4()), claimant_email, "Claire", utc_now())
    world.users.create(claimant, Actor(user_id=claimant.user_id, request_id="req-claim"))
    claimed = world.claims.claim(
        ClaimRequest(claimant.user_id, keys.email_digest(claimant_email), "Claire", "req-claim")
    )
    assert claimed == 1
    stored = entries(world, loan.loan_id)
    assert ids[withdrawn_email] not in stored
    assert_compact(stored[ids[accepter.email]], accepter.user_id)
    assert_compact(stored[ids[decliner.email]], decliner.user_id)
    assert_compact(stored[ids[claimant_email]], claimant.user_id)
    assert [stored[ids[email]][0] for email in (accepter.email, decliner.email, claimant_email)] == ["A", "D", "P"]
    assert stored[ids[settled.email]][0] == "ACCEPTED"  # untouched: still the old format
    changed = answers(loan.loan_id, borrower.user_id, settled.user_id)
    shown = {p["participant_id"]: p for p in changed[0][0]["data"]["participants"]}
    assert shown[ids[accepter.email]]["status"] == "ACCEPTED"
    assert shown[ids[accepter.email]]["lender_id"] == accepter.user_id
    assert shown[ids[decliner.email]]["status"] == "DECLINED"
    assert shown[ids[claimant_email]]["lender_id"] == claimant.user_id

    # The rewritten entries, put back in the old format, answer the very same.
    write_old_format(world, loan.loan_id, list(stored))
    assert {value[0] for value in entries(world, loan.loan_id).values()} <= OLD_STATUSES
    assert answers(loan.loan_id, borrower.user_id, settled.user_id) == changed

    # The stream consumer takes every image, binaries inside the entries included, as Lambda
    # hands them over (base64 in JSON); a record it could not read would fail this drain.
    assert world.process_stream() > 0
    history = call("GET", "/v1/loans/{loan_id}/history", borrower.user_id, params={"loan_id": loan.loan_id})
    assert history["statusCode"] == 200, history["body"]
