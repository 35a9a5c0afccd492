"""Optimistic locking over HTTP: a PATCH names the version it read, and a lender's response that
races a PATCH never erases it."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

ACH = {
    "account_holder_name": "Version Lender",
    "routing_number": "011000015",
    "account_number": "000444333222",
    "account_type": "savings",
}


def _loan_with(api: Api, borrower: User, lender: User) -> tuple[str, str]:
    created = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={
            "amount": "1000.00",
            "interest_rate": 4,
            "term_months": 12,
            "lenders": [{"email": lender.email, "contribution_amount": "250.00"}],
        },
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    return loan["loan_id"], loan["participants"][0]["participant_id"]


def _patch(api: Api, borrower: User, loan_id: str, version: int, term: int) -> requests.Response:
    return api.request(
        "PATCH",
        f"/v1/loans/{loan_id}",
        headers={**borrower.bearer, "If-Match": f'"{version}"'},
        json={"term_months": term, "change_reason": "versions"},
    )


def _loan(api: Api, user: User, loan_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/loans/{loan_id}", headers=user.bearer)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_a_patch_naming_the_version_before_a_decline_fails_its_precondition_and_changes_nothing(api: Api) -> None:
    borrower, lender = register_and_login(api, "vb"), register_and_login(api, "vl")
    loan_id, participant_id = _loan_with(api, borrower, lender)
    declined = api.post(f"/v1/lender/invitations/{participant_id}/decline", headers=lender.bearer, json={})
    assert declined.status_code == 200, declined.text
    assert_error_envelope(_patch(api, borrower, loan_id, 1, 36), 412, "PRECONDITION_FAILED")
    loan = _loan(api, borrower, loan_id)
    assert (loan["version"], loan["term_months"]) == (2, 12)
    fresh = _patch(api, borrower, loan_id, 2, 36)
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["ETag"] == '"3"'
    assert (fresh.json()["data"]["version"], fresh.json()["data"]["term_months"]) == (3, 36)


def _race(api: Api, borrower: User, lender: User, loan_id: str, participant_id: str) -> dict[str, requests.Response]:
    """The lender's accept and the borrower's PATCH of version 1, released together. Each thread
    has its own HTTP session: a requests.Session is not meant to be shared."""
    start = threading.Barrier(2)
    results: dict[str, requests.Response] = {}

    def accept() -> None:
        start.wait()
        results["accept"] = Api(api.base_url).post(
            f"/v1/lender/invitations/{participant_id}/accept", headers=lender.bearer, json={"ach": ACH}
        )

    def patch() -> None:
        start.wait()
        results["patch"] = _patch(Api(api.base_url), borrower, loan_id, 1, 48)

    threads = [threading.Thread(target=accept), threading.Thread(target=patch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_an_accept_racing_a_patch_never_erases_it(api: Api) -> None:
    """Whichever write wins, the loan tells one consistent story. (The deterministic version of
    this race, with the PATCH between the accept's read and write, is in tests/integration.)"""
    borrower = register_and_login(api, "rb")
    for round_number in range(4):
        lender = register_and_login(api, f"rl{round_number}")
        loan_id, participant_id = _loan_with(api, borrower, lender)
        results = _race(api, borrower, lender, loan_id, participant_id)
        assert results["accept"].status_code == 200, results["accept"].text
        loan = _loan(api, borrower, loan_id)
        assert loan["total_funded"] == "250.00"
        if results["patch"].status_code == 200:
            # The PATCH went first; the accept re-read the loan and kept the new term.
            assert (loan["version"], loan["term_months"]) == (3, 48), round_number
        else:
            # The accept went first: the PATCH names a version that is no longer current (and the
            # terms are fixed once an invitation is accepted).
            assert_error_envelope(results["patch"], 412, "PRECONDITION_FAILED")
            assert (loan["version"], loan["term_months"]) == (2, 12), round_number
