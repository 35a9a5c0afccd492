"""Batch invitations and cancelling a loan, over HTTP on the local stack."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, User, assert_error_envelope, register_and_login, unique_email


def _loan(api: Api, borrower: User, lenders: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    created = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={
            "amount": "1000.00",
            "interest_rate": 6,
            "term_months": 24,
            "purpose": "Delivery van",
            "lenders": lenders or [],
        },
    )
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()["data"]
    return data


def test_batch_invitations_each_stand_alone(api: Api) -> None:
    borrower = register_and_login(api, "batcher")
    loan = _loan(api, borrower)
    first, second = unique_email("first"), unique_email("second")

    response = api.post(
        f"/v1/loans/{loan['loan_id']}/participants/batch",
        headers=borrower.bearer,
        json={
            "participants": [
                {"email": first, "contribution_amount": "400.00"},
                {"email": "not-an-email", "contribution_amount": "10.00"},
                {"email": first, "contribution_amount": "10.00"},  # already on the loan by now
                {"email": unique_email("toomuch"), "contribution_amount": "700.00"},  # 600 left
                {"email": second, "contribution_amount": "600.00"},
            ]
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [result["status"] for result in data["results"]] == ["created", "failed", "failed", "failed", "created"]
    assert data["summary"] == {"total": 5, "succeeded": 2, "failed": 3}
    assert all(result.get("error") for result in data["results"] if result["status"] == "failed")
    read = api.get(f"/v1/loans/{loan['loan_id']}", headers=borrower.bearer)
    assert read.status_code == 200, read.text
    stored = read.json()["data"]
    assert sorted(p["lender_email"] for p in stored["participants"]) == sorted([first, second])
    assert {p["participant_id"] for p in stored["participants"]} == {
        result["participant_id"] for result in data["results"] if result["status"] == "created"
    }


def test_a_batch_on_someone_elses_loan_is_not_found(api: Api) -> None:
    owner, stranger = register_and_login(api, "owner"), register_and_login(api, "stranger")
    loan = _loan(api, owner)

    response = api.post(
        f"/v1/loans/{loan['loan_id']}/participants/batch",
        headers=stranger.bearer,
        json={"participants": [{"email": unique_email("x"), "contribution_amount": "10.00"}]},
    )

    assert_error_envelope(response, 404, "NOT_FOUND")


def test_a_cancelled_loan_leaves_the_borrowers_and_the_lenders_lists(api: Api) -> None:
    borrower, lender = register_and_login(api, "canceller"), register_and_login(api, "invitedlender")
    loan = _loan(api, borrower, [{"email": lender.email, "contribution_amount": "250.00"}])
    assert api.get("/v1/lender/pending", headers=lender.bearer).json()["data"]["count"] == 1

    cancelled = api.request(
        "DELETE", f"/v1/loans/{loan['loan_id']}", headers=borrower.bearer, json={"reason": "bought the van outright"}
    )

    assert cancelled.status_code == 204, cancelled.text
    assert cancelled.content == b""
    mine = api.get("/v1/loans/my-loans", headers=borrower.bearer).json()["data"]
    assert loan["loan_id"] not in {item["loan_id"] for item in mine["loans"]}
    assert api.get("/v1/lender/pending", headers=lender.bearer).json()["data"]["count"] == 0


def test_no_one_else_can_cancel_a_loan(api: Api) -> None:
    borrower, stranger = register_and_login(api, "keeper"), register_and_login(api, "passerby")
    loan = _loan(api, borrower, [{"email": unique_email("lender"), "contribution_amount": "100.00"}])

    refused = api.request("DELETE", f"/v1/loans/{loan['loan_id']}", headers=stranger.bearer)

    assert_error_envelope(refused, 404, "NOT_FOUND")
    mine = api.get("/v1/loans/my-loans", headers=borrower.bearer).json()["data"]
    assert [(item["loan_id"], item["status"]) for item in mine["loans"]] == [(loan["loan_id"], "FUNDING")]
