"""One damaged item in DynamoDB never takes a list or a loan down (issue 8, item 1).

The damage is written straight into DynamoDB Local, as the old PATCH-with-null bug wrote it
(an attribute REMOVEd), then every read route is called through the deployed handlers.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.data.items import roster_name
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from tests.events import body_of
from tests.integration.conftest import World
from tests.integration.handler_calls import call, handlers_on

TERMS = LoanTerms(Decimal("1000.00"), Decimal("7.5"), 12, "Van")
LOAN = "/v1/loans/{loan_id}"


@pytest.fixture
def served(world: World) -> Any:
    with handlers_on(world):
        yield world


def damage(world: World, table: str, key: dict[str, str], *attributes: str) -> None:
    world.dynamodb.update_item(
        TableName=world.tables[table],
        Key={name: {"S": value} for name, value in key.items()},
        UpdateExpression="REMOVE " + ", ".join(f"#a{i}" for i in range(len(attributes))),
        ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(attributes)},
    )


def loan_key(loan_id: str) -> dict[str, str]:
    return {"PK": keys.loan_pk(loan_id), "SK": keys.LOAN}


def skipped_metrics(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and "DamagedItemsSkipped" in line]


def test_a_loan_that_lost_its_terms_stays_readable_cancellable_and_repairable(served: World) -> None:
    world = served
    (borrower, actor), (lender, _) = world.user("borrower"), world.user("lender")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("100"))])
    other = world.lending.create_loan(actor, TERMS, [])
    damage(world, "MainTable", loan_key(loan.loan_id), "interest_rate", "term_months")
    world.process_stream()  # the history consumer takes the damaged image too
    params = {"loan_id": loan.loan_id}

    got = call("GET", LOAN, borrower.user_id, params=params)
    assert got["statusCode"] == 200, got["body"]
    shown = body_of(got)["data"]
    assert (shown["interest_rate"], shown["term_months"], shown["amount"]) == (None, None, "1000.00")
    assert len(shown["participants"]) == 1

    mine = call("GET", "/v1/loans/my-loans", borrower.user_id)
    assert mine["statusCode"] == 200, mine["body"]
    assert {item["loan_id"] for item in body_of(mine)["data"]["loans"]} == {loan.loan_id, other.loan_id}

    for route in ("/history", "/audit-log", "/funding-history"):
        listed = call("GET", LOAN + route, borrower.user_id, params=params)
        assert listed["statusCode"] == 200, (route, listed["body"])
    assert body_of(call("GET", LOAN + "/audit-log", borrower.user_id, params=params))["data"]["count"] >= 2

    pending = call("GET", "/v1/lender/pending", lender.user_id)
    assert pending["statusCode"] == 200, pending["body"]
    (invitation,) = body_of(pending)["data"]["invitations"]
    assert invitation["loan"]["loan_id"] == loan.loan_id
    assert invitation["loan"]["interest_rate"] is None

    # A PATCH at the current version puts the terms back.
    version = shown["version"]
    repaired = call(
        "PATCH",
        LOAN,
        borrower.user_id,
        params=params,
        body={"interest_rate": "6.25", "term_months": 24, "change_reason": "repair"},
        headers={"If-Match": f'"{version}"'},
    )
    assert repaired["statusCode"] == 200, repaired["body"]
    assert (body_of(repaired)["data"]["interest_rate"], body_of(repaired)["data"]["term_months"]) == ("6.25", 24)

    damage(world, "MainTable", loan_key(loan.loan_id), "interest_rate", "purpose")
    cancelled = call("DELETE", LOAN, borrower.user_id, params=params, body={"reason": "damaged"})
    assert cancelled["statusCode"] == 204, cancelled["body"]
    assert call("GET", "/v1/lender/pending", lender.user_id)["statusCode"] == 200


def test_an_unreadable_loan_is_left_out_of_every_list_and_counted(
    served: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    world = served
    (borrower, actor), (lender, _) = world.user("borrower"), world.user("lender")
    broken = world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("100"))])
    healthy = world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("200"))])
    damage(world, "MainTable", loan_key(broken.loan_id), "amount")
    capsys.readouterr()

    mine = call("GET", "/v1/loans/my-loans", borrower.user_id)
    assert mine["statusCode"] == 200, mine["body"]
    assert [item["loan_id"] for item in body_of(mine)["data"]["loans"]] == [healthy.loan_id]

    pending = call("GET", "/v1/lender/pending", lender.user_id)
    assert pending["statusCode"] == 200, pending["body"]
    assert [item["loan"]["loan_id"] for item in body_of(pending)["data"]["invitations"]] == [healthy.loan_id]

    output = capsys.readouterr().out
    metrics = skipped_metrics(output)
    assert [(m["Entity"], m["DamagedItemsSkipped"]) for m in metrics] == [("loan", [1.0]), ("loan", [1.0])]
    logged = [record for record in caplog.records if record.getMessage() == "damaged item skipped"]
    # The log names the key, so on-call can find the item; never its content.
    assert [record.item_key for record in logged] == [loan_key(broken.loan_id)] * 2  # type: ignore[attr-defined]
    assert lender.email not in output + caplog.text

    # The single resource cannot be shown without its amount: a 500 that names nothing.
    single = call("GET", LOAN, borrower.user_id, params={"loan_id": broken.loan_id})
    assert single["statusCode"] == 500
    assert body_of(single)["error"] == "INTERNAL_ERROR"


def test_a_damaged_participant_or_audit_entry_leaves_the_rest_readable(served: World) -> None:
    world = served
    (borrower, actor), (first, _), (second, _) = world.user("borrower"), world.user("first"), world.user("second")
    loan = world.lending.create_loan(
        actor, TERMS, [Invitee(first.email, Decimal("100")), Invitee(second.email, Decimal("200"))]
    )
    by_lender = {p.lender_id: p for p in loan.participants}
    broken = by_lender[first.user_id]
    damage(
        world,
        "MainTable",
        {"PK": keys.loan_pk(loan.loan_id), "SK": keys.participant_sk(broken.participant_id)},
        "contribution_amount",
    )
    # The loan's view of the participant is its roster entry: damaged as well (an entry too short).
    world.dynamodb.update_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}},
        UpdateExpression="SET #entry = :broken",
        ExpressionAttributeNames={"#entry": roster_name(broken.participant_id)},
        ExpressionAttributeValues={":broken": {"L": [{"S": "PENDING"}]}},
    )
    entries = world.dynamodb.query(
        TableName=world.tables["AuditTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan.loan_id)}},
    )["Items"]
    damage(world, "AuditTable", {"PK": entries[0]["PK"]["S"], "SK": entries[0]["SK"]["S"]}, "action")
    params = {"loan_id": loan.loan_id}

    got = call("GET", LOAN, borrower.user_id, params=params)
    assert got["statusCode"] == 200, got["body"]
    assert [p["lender_id"] for p in body_of(got)["data"]["participants"]] == [second.user_id]

    audit = call("GET", LOAN + "/audit-log", borrower.user_id, params=params)
    assert audit["statusCode"] == 200, audit["body"]
    assert body_of(audit)["data"]["count"] == len(entries) - 1

    assert body_of(call("GET", "/v1/lender/pending", first.user_id))["data"]["invitations"] == []
    assert len(body_of(call("GET", "/v1/lender/pending", second.user_id))["data"]["invitations"]) == 1
    accept_damaged = call(
        "POST",
        "/v1/lender/invitations/{participant_id}/decline",
        first.user_id,
        params={"participant_id": broken.participant_id},
        body={},
    )
    assert accept_damaged["statusCode"] == 404

    cancelled = call("DELETE", LOAN, borrower.user_id, params=params)
    assert cancelled["statusCode"] == 204, cancelled["body"]
