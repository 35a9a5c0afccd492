"""Issue 8 over HTTP: input that used to be stored or answered with a 500 is a 400
VALIDATION_ERROR that names the field, and nothing changes."""

from __future__ import annotations

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
