"""The loan routes' HTTP contract over the local stack (issue 8, items 6-8): 403 for a
participant trying a borrower's action and 404 for a stranger, cancelled loans readable,
If-Match preconditions (412/428), ETag and 304, Location on 201."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.support import PASSWORD, Api, User, assert_error_envelope, register_and_login, unique_email

ACH = {
    "account_holder_name": "Accepting Lender",
    "routing_number": "011000015",
    "account_number": "000987654321",
    "account_type": "checking",
}


@dataclass
class Scene:
    borrower: User
    participant: User
    stranger: User
    loan_id: str
    participant_id: str
    pending_id: str


@pytest.fixture(scope="module")
def scene(api: Api) -> Scene:
    borrower, participant, stranger = (register_and_login(api, name) for name in ("owner", "member", "outsider"))
    created = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={
            "amount": "1000.00",
            "interest_rate": "5",
            "term_months": 12,
            "lenders": [
                {"email": participant.email, "contribution_amount": "100.00"},
                {"email": unique_email("later"), "contribution_amount": "50.00"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    mine = next(p for p in loan["participants"] if p["lender_email"] == participant.email)
    other = next(p for p in loan["participants"] if p["lender_email"] != participant.email)
    return Scene(borrower, participant, stranger, loan["loan_id"], mine["participant_id"], other["participant_id"])


def borrower_actions(scene: Scene) -> list[tuple[str, str, dict[str, Any] | None, dict[str, str]]]:
    loan = f"/v1/loans/{scene.loan_id}"
    one_lender = [{"email": unique_email("extra"), "contribution_amount": "1.00"}]
    return [
        ("PATCH", loan, {"term_months": 6, "change_reason": "mine now"}, {"If-Match": '"1"'}),
        ("DELETE", loan, None, {}),
        ("POST", f"{loan}/lenders", {"lenders": one_lender}, {}),
        ("POST", f"{loan}/participants/batch", {"participants": one_lender}, {}),
        ("DELETE", f"{loan}/participants/{scene.pending_id}", None, {}),
    ]


def test_a_participant_is_forbidden_the_borrowers_actions_and_a_stranger_finds_nothing(api: Api, scene: Scene) -> None:
    for method, path, body, headers in borrower_actions(scene):
        as_participant = api.request(method, path, headers={**scene.participant.bearer, **headers}, json=body)
        assert_error_envelope(as_participant, 403, "FORBIDDEN")
        as_stranger = api.request(method, path, headers={**scene.stranger.bearer, **headers}, json=body)
        assert_error_envelope(as_stranger, 404, "NOT_FOUND")
    # None of them changed anything.
    loan = api.get(f"/v1/loans/{scene.loan_id}", headers=scene.borrower.bearer).json()["data"]
    assert (loan["version"], loan["status"], loan["participant_count"]) == (1, "FUNDING", 2)


def test_patch_needs_a_current_if_match(api: Api, scene: Scene) -> None:
    path = f"/v1/loans/{scene.loan_id}"
    change = {"purpose": "Workshop", "change_reason": "clarify"}
    owner = scene.borrower.bearer
    body = assert_error_envelope(api.request("PATCH", path, headers=owner, json=change), 428, "PRECONDITION_REQUIRED")
    assert "If-Match" in body["message"]
    stale = api.request("PATCH", path, headers={**owner, "If-Match": '"99"'}, json=change)
    assert assert_error_envelope(stale, 412, "PRECONDITION_FAILED")["details"] == {"current_version": 1}
    assert_error_envelope(
        api.request("PATCH", path, headers={**owner, "If-Match": 'W/"1"'}, json=change), 412, "PRECONDITION_FAILED"
    )

    current = api.get(path, headers=owner)
    assert current.headers["ETag"] == '"1"'
    applied = api.request("PATCH", path, headers={**owner, "If-Match": current.headers["ETag"]}, json=change)
    assert applied.status_code == 200, applied.text
    assert applied.headers["ETag"] == '"2"'
    replayed = api.request("PATCH", path, headers={**owner, "If-Match": current.headers["ETag"]}, json=change)
    assert_error_envelope(replayed, 412, "PRECONDITION_FAILED")


def test_get_answers_if_none_match_with_304_until_the_loan_changes(api: Api, scene: Scene) -> None:
    path = f"/v1/loans/{scene.loan_id}"
    first = api.get(path, headers=scene.participant.bearer)
    assert first.status_code == 200
    tag = first.headers["ETag"]
    assert tag == f'"{first.json()["data"]["version"]}"'
    unchanged = api.get(path, headers={**scene.participant.bearer, "If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    other = api.get(path, headers={**scene.participant.bearer, "If-None-Match": '"0"'})
    assert other.status_code == 200
    assert other.json()["data"]["loan_id"] == scene.loan_id

    me = api.get("/v1/users/me", headers=scene.stranger.bearer)
    assert me.status_code == 200
    again = api.get("/v1/users/me", headers={**scene.stranger.bearer, "If-None-Match": me.headers["ETag"]})
    assert again.status_code == 304


def test_every_201_says_where_the_new_resource_is(api: Api, scene: Scene) -> None:
    created = api.post(
        "/v1/loans", headers=scene.stranger.bearer, json={"amount": "10", "interest_rate": 1, "term_months": 1}
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location == f"/v1/loans/{created.json()['data']['loan_id']}"
    followed = api.get(location, headers=scene.stranger.bearer)
    assert followed.status_code == 200
    assert followed.json()["data"] == created.json()["data"]

    email = unique_email("located")
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Lo Cated"})
    assert registered.status_code == 201, registered.text
    assert registered.headers["Location"] == "/v1/users/me"


def test_a_cancelled_loan_is_still_readable_by_its_borrower_and_its_lender(api: Api, scene: Scene) -> None:
    accepted = api.post(
        f"/v1/lender/invitations/{scene.participant_id}/accept", headers=scene.participant.bearer, json={"ach": ACH}
    )
    assert accepted.status_code == 200, accepted.text
    path = f"/v1/loans/{scene.loan_id}"
    deleted = api.request("DELETE", path, headers=scene.borrower.bearer, json={"reason": "Plans changed"})
    assert deleted.status_code == 204, deleted.text

    for reader in (scene.borrower, scene.participant):
        got = api.get(path, headers=reader.bearer)
        assert got.status_code == 200, got.text
        loan = got.json()["data"]
        assert (loan["status"], loan["deleted_by"], loan["deletion_reason"]) == (
            "CANCELLED",
            scene.borrower.user_id,
            "Plans changed",
        )
        assert loan["deleted_at"]
    assert_error_envelope(api.get(path, headers=scene.stranger.bearer), 404, "NOT_FOUND")
    listed = api.get("/v1/loans/my-loans", headers=scene.borrower.bearer).json()["data"]["loans"]
    assert scene.loan_id not in {loan["loan_id"] for loan in listed}
    portfolio = api.get("/v1/lender/portfolio", headers=scene.participant.bearer).json()["data"]["investments"]
    assert scene.loan_id not in {item["loan"]["loan_id"] for item in portfolio}
    for route in ("history", "audit-log"):
        assert api.get(f"{path}/{route}", headers=scene.borrower.bearer).status_code == 200


def test_fields_selects_top_level_fields_on_every_single_resource_get(api: Api) -> None:
    # The contract's `fields=a,b` was honoured by GET /v1/loans/{id} only; the others ignored it.
    owner = register_and_login(api, "fieldsowner")
    booking = api.post(
        "/v1/loan-bookings",
        headers=owner.bearer,
        json={"customer_name": "Acme Ltd", "product_id": "term-loan-eur", "amount": "100000", "currency": "EUR"},
    )
    assert booking.status_code == 201, booking.text
    hook = api.post(
        "/v1/webhooks", headers=owner.bearer, json={"url": "http://127.0.0.1:9/hook", "events": ["loan.created"]}
    )
    assert hook.status_code == 201, hook.text
    booking_path = f"/v1/loan-bookings/{booking.json()['data']['booking_id']}"
    reads = {
        "/v1/users/me": "user_id,email",
        booking_path: "booking_id,status",
        f"{booking_path}/booking-sheet": "booking_id,status",
        f"/v1/webhooks/{hook.json()['data']['webhook_id']}": "webhook_id,active",
    }
    for path, fields in reads.items():
        whole = api.get(path, headers=owner.bearer)
        selected = api.get(f"{path}?fields={fields}", headers=owner.bearer)
        assert selected.status_code == 200, (path, selected.text)
        assert selected.json()["data"] == {name: whole.json()["data"][name] for name in fields.split(",")}, path
        assert selected.headers["ETag"] == whole.headers["ETag"], path
        unknown = api.get(f"{path}?fields=nope", headers=owner.bearer)
        assert assert_error_envelope(unknown, 400, "VALIDATION_ERROR")["field_errors"] == {
            "fields": ["Unknown field(s): nope"]
        }, path


def test_a_lender_sees_only_its_own_bank_details_and_the_borrower_sees_all(api: Api) -> None:
    borrower, first, second = (register_and_login(api, label) for label in ("achborrower", "achfirst", "achsecond"))
    lenders = [{"email": user.email, "contribution_amount": "10"} for user in (first, second)]
    created = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={"amount": "100", "interest_rate": -0.0, "term_months": 12, "lenders": lenders},
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    assert loan["interest_rate"] == "0"  # a signed zero was answered as "-0", and read back as "0"
    ach = {"routing_number": "011000015", "account_number": "000123456789", "account_type": "checking"}
    for user, invitation in zip((first, second), loan["participants"], strict=True):
        accepted = api.post(
            f"/v1/lender/invitations/{invitation['participant_id']}/accept",
            headers=user.bearer,
            json={"ach": {**ach, "account_holder_name": user.full_name}},
        )
        assert accepted.status_code == 200, accepted.text

    def holders_seen_by(user: User) -> set[str]:
        read = api.get(f"/v1/loans/{loan['loan_id']}", headers=user.bearer)
        assert read.status_code == 200, read.text
        assert read.json()["data"]["interest_rate"] == "0"
        return {p["ach"]["account_holder_name"] for p in read.json()["data"]["participants"] if p["ach"]}

    assert holders_seen_by(borrower) == {first.full_name, second.full_name}
    assert holders_seen_by(first) == {first.full_name}
    assert holders_seen_by(second) == {second.full_name}
