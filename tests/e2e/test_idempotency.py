"""Idempotency-Key over HTTP on the local stack: one key stands for one request (method, path
and body), and the record the store keeps gives away no bank number, with the fingerprint key
the stack provisioned from the template's secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from local.stack import LocalLendbridge
from tests.e2e.support import Api, User, assert_error_envelope, register_and_login
from tests.idempotency_attack import (
    ACH,
    CANDIDATES,
    assert_nothing_in_clear,
    brute_force,
    keyed_guesser,
    scan_record,
    unkeyed_guesses,
)


@dataclass
class Loans:
    borrower: User
    lender: User
    loan_ids: list[str]


@pytest.fixture
def loans(api: Api) -> Loans:
    """Two loans of one borrower, each inviting the same registered lender."""
    borrower, lender = register_and_login(api, "idemborrower"), register_and_login(api, "idemlender")
    loan_ids = []
    for _ in range(2):
        body = {
            "amount": "1000.00",
            "interest_rate": "5",
            "term_months": 12,
            "lenders": [{"email": lender.email, "contribution_amount": "100.00"}],
        }
        created = api.post("/v1/loans", headers=borrower.bearer, json=body)
        assert created.status_code == 201, created.text
        loan_ids.append(created.json()["data"]["loan_id"])
    return Loans(borrower, lender, loan_ids)


def keyed(user: User, key: str, header: str = "Idempotency-Key") -> dict[str, str]:
    return {**user.bearer, header: key}


def loan_of(api: Api, user: User, loan_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/loans/{loan_id}", headers=user.bearer)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def pending_ids(api: Api, lender: User) -> dict[str, str]:
    """Loan id -> participant id of the lender's pending invitations."""
    response = api.get("/v1/lender/pending", headers=lender.bearer, params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["loan"]["loan_id"]: item["participant_id"] for item in response.json()["data"]["invitations"]}


def assert_replayed(response: requests.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key"])
def test_one_key_on_two_loans_is_refused_and_the_second_loan_is_unchanged(api: Api, loans: Loans, header: str) -> None:
    first, second = loans.loan_ids
    key = str(uuid.uuid4())
    body = {"lenders": [{"email": f"extra-{key[:8]}@example.com", "contribution_amount": "50.00"}]}
    added = api.post(f"/v1/loans/{first}/lenders", headers=keyed(loans.borrower, key, header), json=body)
    assert added.status_code == 200, added.text
    before = loan_of(api, loans.borrower, second)

    reused = api.post(f"/v1/loans/{second}/lenders", headers=keyed(loans.borrower, key, header), json=body)
    assert_error_envelope(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    after = loan_of(api, loans.borrower, second)
    assert (after["participant_count"], after["total_invited"], after["version"]) == (
        before["participant_count"],
        before["total_invited"],
        before["version"],
    )
    assert_replayed(api.post(f"/v1/loans/{first}/lenders", headers=keyed(loans.borrower, key, header), json=body))


def test_accepting_a_second_invitation_with_the_first_ones_key_is_refused(api: Api, loans: Loans) -> None:
    invitations = pending_ids(api, loans.lender)
    p1, p2 = (invitations[loan_id] for loan_id in loans.loan_ids)
    key = str(uuid.uuid4())
    accepted = api.post(f"/v1/lender/invitations/{p1}/accept", headers=keyed(loans.lender, key), json={"ach": ACH})
    assert accepted.status_code == 200, accepted.text

    reused = api.post(f"/v1/lender/invitations/{p2}/accept", headers=keyed(loans.lender, key), json={"ach": ACH})
    assert_error_envelope(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert pending_ids(api, loans.lender) == {loans.loan_ids[1]: p2}  # still pending, untouched
    assert_replayed(
        api.post(f"/v1/lender/invitations/{p1}/accept", headers=keyed(loans.lender, key), json={"ach": ACH})
    )


def test_the_stored_accept_record_gives_away_no_account_number(stack: LocalLendbridge, api: Api, loans: Loans) -> None:
    participant_id = pending_ids(api, loans.lender)[loans.loan_ids[0]]
    accepted = api.post(
        f"/v1/lender/invitations/{participant_id}/accept",
        headers=keyed(loans.lender, str(uuid.uuid4())),
        json={"ach": ACH},
    )
    assert accepted.status_code == 200, accepted.text
    environment = next(
        pool.function.environment
        for pool in stack.pools.values()
        if pool.function.handler.startswith("lendbridge.handlers.lender.")
    )
    item = scan_record(stack.aws_client("dynamodb"), environment["IDEMPOTENCY_TABLE"], participant_id)
    assert_nothing_in_clear(item)
    hits = brute_force(item, unkeyed_guesses)
    print(f"local stack: fingerprint brute force over {CANDIDATES} candidates: {len(hits)} hits")
    assert hits == []
    # The functions fingerprint with the secret provisioned from the template: with it, the
    # same search finds the number.
    secret = stack.aws_client("secretsmanager").get_secret_value(SecretId=environment["IDEMPOTENCY_SECRET_ID"])
    key = secret["SecretString"].encode()
    assert brute_force(item, keyed_guesser(key, participant_id)) == [ACH["account_number"]]
