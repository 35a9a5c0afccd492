"""Issue 8 over HTTP: input that used to be stored or answered with a 500 is a 400
VALIDATION_ERROR that names the field, and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

LOAN = {"amount": "5000.00", "interest_rate": "7.5", "term_months": 36, "purpose": "Workshop"}


def create_loan(api: Api, borrower: User, **overrides: Any) -> dict[str, Any]:
    created = api.post("/v1/loans", json={**LOAN, **overrides}, headers=borrower.bearer)
    assert created.status_code == 201, created.text
    loan: dict[str, Any] = created.json()["data"]
    return loan


@pytest.fixture(scope="module")
def borrower(api: Api) -> User:
    return register_and_login(api, "hardening")


@pytest.mark.parametrize("field", ["interest_rate", "term_months", "purpose"])
def test_patch_with_null_is_a_400_and_the_loan_stays_whole(api: Api, borrower: User, field: str) -> None:
    loan = create_loan(api, borrower)
    path = f"/v1/loans/{loan['loan_id']}"
    patched = api.request(
        "PATCH",
        path,
        json={field: None, "change_reason": "x"},
        headers={**borrower.bearer, "If-Match": f'"{loan["version"]}"'},
    )
    body = assert_error_envelope(patched, 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == [field]
    again = api.get(path, headers=borrower.bearer)
    assert again.status_code == 200, again.text
    unchanged = again.json()["data"]
    for name in ("version", "interest_rate", "term_months", "purpose", "updated_at"):
        assert unchanged[name] == loan[name], name
    listed = api.get("/v1/loans/my-loans?limit=100", headers=borrower.bearer)
    assert listed.status_code == 200, listed.text
    assert loan["loan_id"] in {item["loan_id"] for item in listed.json()["data"]["loans"]}
    history = api.get(f"{path}/audit-log", headers=borrower.bearer)
    assert history.status_code == 200, history.text


LIST_ROUTES = [
    "/v1/loans/my-loans",
    "/v1/loans/{loan_id}/history",
    "/v1/loans/{loan_id}/funding-history",
    "/v1/loans/{loan_id}/audit-log",
    "/v1/lender/pending",
    "/v1/lender/portfolio",
]


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_a_non_ascii_next_token_is_a_400_on_every_list(api: Api, borrower: User, route: str) -> None:
    path = route.format(loan_id=create_loan(api, borrower)["loan_id"]) if "{loan_id}" in route else route
    listed = api.get(path, params={"next_token": "v1.\u00e9.\u00e9"}, headers=borrower.bearer)
    body = assert_error_envelope(listed, 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == ["next_token"]


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/loans", "[" * 1000 + "]" * 1000),
        ("/v1/loans", '{"amount":' * 1000 + "1" + "}" * 1000),
        ("/v1/auth/register", '{"email":' * 1000 + '"a@example.com"' + "}" * 1000),
    ],
    ids=["arrays", "objects", "register"],
)
def test_json_nested_a_thousand_levels_deep_is_a_400(api: Api, borrower: User, path: str, raw: str) -> None:
    sent = api.post(path, data=raw, headers={**borrower.bearer, "Content-Type": "application/json"})
    body = assert_error_envelope(sent, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Nested more than 32 levels deep"]}


ARABIC_INDIC_100 = "\u0661\u0660\u0660"
FULL_WIDTH_100 = "\uff11\uff10\uff10"


@pytest.mark.parametrize("amount", [ARABIC_INDIC_100, FULL_WIDTH_100, "1_000"])
def test_amounts_in_other_digits_or_with_underscores_are_a_400(api: Api, borrower: User, amount: str) -> None:
    as_amount = api.post("/v1/loans", json={**LOAN, "amount": amount}, headers=borrower.bearer)
    assert list(assert_error_envelope(as_amount, 400, "VALIDATION_ERROR")["field_errors"]) == ["amount"]
    lenders = [{"email": "someone@example.com", "contribution_amount": amount}]
    as_contribution = api.post("/v1/loans", json={**LOAN, "lenders": lenders}, headers=borrower.bearer)
    body = assert_error_envelope(as_contribution, 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == ["lenders[0].contribution_amount"]


def test_a_bidi_override_in_purpose_is_a_400_and_nothing_is_created(api: Api, borrower: User) -> None:
    before = api.get("/v1/loans/my-loans?limit=100", headers=borrower.bearer).json()["data"]["count"]
    sent = api.post("/v1/loans", json={**LOAN, "purpose": "Invoice \u202egnp.exe"}, headers=borrower.bearer)
    body = assert_error_envelope(sent, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {
        "purpose": ["Must not contain control or bidirectional formatting characters (found U+202E)"]
    }
    after = api.get("/v1/loans/my-loans?limit=100", headers=borrower.bearer).json()["data"]["count"]
    assert after == before


def test_hidden_characters_in_a_name_are_a_400(api: Api) -> None:
    registered = api.post(
        "/v1/auth/register",
        json={"email": "hidden-name@example.com", "password": "Local-Passw0rd!", "full_name": "Ada\u2066Lovelace"},
    )
    body = assert_error_envelope(registered, 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == ["full_name"]


@pytest.mark.parametrize("odd", ["%C3%A9", "%E2%80%AE1", "%00", "%ED%A0%80", "%FF", "a%23b", "x" * 65])
def test_odd_path_ids_are_a_400_or_404_never_500(api: Api, borrower: User, odd: str) -> None:
    for method, path in (
        ("GET", f"/v1/loans/{odd}"),
        ("GET", f"/v1/loans/{odd}/history"),
        ("POST", f"/v1/lender/invitations/{odd}/decline"),
        ("DELETE", f"/v1/loans/L1/participants/{odd}"),
    ):
        answered = api.request(method, path, headers=borrower.bearer, json={} if method == "POST" else None)
        assert answered.status_code in (400, 404), (method, path, answered.text)
        assert answered.json()["error"] in ("VALIDATION_ERROR", "NOT_FOUND")


def test_a_five_megabyte_body_is_refused_without_a_500(api: Api, borrower: User) -> None:
    sent = api.post("/v1/loans", json={**LOAN, "purpose": "x" * (5 * 1024 * 1024)}, headers=borrower.bearer)
    assert sent.status_code in (400, 413), sent.text[:300]
    assert sent.json()["error"] == "VALIDATION_ERROR"


def test_an_array_around_a_valid_loan_is_a_400_and_creates_nothing(api: Api, borrower: User) -> None:
    before = api.get("/v1/loans/my-loans?limit=100", headers=borrower.bearer).json()["data"]["count"]
    wrapped = api.post(
        "/v1/loans",
        data=json.dumps([LOAN]),
        headers={**borrower.bearer, "Content-Type": "application/json"},
    )
    body = assert_error_envelope(wrapped, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Must be a JSON object"]}
    assert api.get("/v1/loans/my-loans?limit=100", headers=borrower.bearer).json()["data"]["count"] == before


def test_an_email_with_an_unpaired_surrogate_is_a_400_on_the_batch_route(api: Api, borrower: User) -> None:
    # The batch echoed the email back, and a response holding "\ud800" could not be sent:
    # the gateway answered 5xx without X-Request-Id.
    loan = create_loan(api, borrower)
    raw = '{"participants": [{"email": "a\\ud800b@example.com", "contribution_amount": "1"}]}'
    refused = api.post(
        f"/v1/loans/{loan['loan_id']}/participants/batch",
        data=raw,
        headers={**borrower.bearer, "Content-Type": "application/json"},
    )
    body = assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Must not contain unpaired surrogates"]}
    assert refused.headers["X-Request-Id"] == body["request_id"]


def test_a_body_of_many_unknown_members_gets_a_small_answer(api: Api, borrower: User) -> None:
    # 20 lenders of thousands of short unknown keys each (870 KB) were answered with a 6 MB list of field
    # errors after 3.5 s: past Lambda's 6 MB response limit with a little more.
    extra = "".join(f',"k{n}":1' for n in range(4000))
    lender = '{"email":"a@example.com","contribution_amount":"1"' + extra + "}"
    loan = create_loan(api, borrower)
    refused = api.post(
        f"/v1/loans/{loan['loan_id']}/lenders",
        data='{"lenders":[' + ",".join([lender] * 20) + "]}",
        headers={**borrower.bearer, "Content-Type": "application/json"},
    )
    assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert len(refused.content) < 10_000
