"""Every list route over HTTP: page sizes, full walks, and next_tokens that only work for the
caller and the list (and loan) that got them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

ACH = {
    "account_holder_name": "Paging Lender",
    "routing_number": "011000015",
    "account_number": "000555666777",
    "account_type": "checking",
}
# Each list route and the key of its items in the response.
CALLER_LISTS = {
    "/v1/loans/my-loans": "loans",
    "/v1/lender/pending": "invitations",
    "/v1/lender/portfolio": "investments",
}
LOAN_LISTS = {"history": "versions", "funding-history": "points", "audit-log": "entries"}


@dataclass(frozen=True)
class Scene:
    borrower: User
    waiting: User  # two pending invitations
    investor: User  # two accepted invitations
    first_loan: str  # five versions, three funding points, ten audit entries
    second_loan: str


def _created(api: Api, borrower: User, lenders: list[User]) -> str:
    response = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={
            "amount": "1000.00",
            "interest_rate": 5,
            "term_months": 12,
            "lenders": [{"email": lender.email, "contribution_amount": "100.00"} for lender in lenders],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["loan_id"])


def _accept_all(api: Api, lender: User) -> None:
    pending = api.get("/v1/lender/pending", headers=lender.bearer, params={"limit": 100}).json()["data"]
    for invitation in pending["invitations"]:
        accepted = api.post(
            f"/v1/lender/invitations/{invitation['participant_id']}/accept", headers=lender.bearer, json={"ach": ACH}
        )
        assert accepted.status_code == 200, accepted.text


def _get(api: Api, user: User, path: str, **params: Any) -> Any:
    response = api.get(path, headers=user.bearer, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture(scope="module")
def scene(api: Api) -> Scene:
    borrower, waiting, investor, other = (register_and_login(api, name) for name in ("pb", "pw", "pi", "po"))
    first = _created(api, borrower, [waiting, investor, other])
    second = _created(api, borrower, [waiting, investor])
    for version, term in ((1, 18), (2, 24)):
        patched = api.request(
            "PATCH",
            f"/v1/loans/{first}",
            headers={**borrower.bearer, "If-Match": f'"{version}"'},
            json={"term_months": term, "change_reason": "paging"},
        )
        assert patched.status_code == 200, patched.text
    _accept_all(api, investor)
    _accept_all(api, other)
    deadline = time.monotonic() + 20
    while True:  # versions and funding points are written from the table's stream
        history = _get(api, borrower, f"/v1/loans/{first}/history", limit=100)["count"]
        points = _get(api, borrower, f"/v1/loans/{first}/funding-history", limit=100)["count"]
        if (history, points) == (5, 3):
            break
        assert time.monotonic() < deadline, f"stream records missing: {history} versions, {points} points"
        time.sleep(0.3)
    return Scene(borrower, waiting, investor, first, second)


def _walk(api: Api, user: User, path: str, key: str, limit: int) -> list[list[Any]]:
    pages: list[list[Any]] = []
    token: str | None = None
    while True:
        data = _get(api, user, path, limit=limit, **({"next_token": token} if token else {}))
        assert data["count"] == len(data[key])
        assert data["has_more"] is (data["next_token"] is not None)
        pages.append(data[key])
        token = data["next_token"]
        if token is None:
            return pages
        assert len(pages) < 50, "the walk does not end"


@pytest.mark.parametrize(("kind", "expected"), [("history", 5), ("funding-history", 3), ("audit-log", 10)])
@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_a_loans_records_page_in_exact_sizes_and_a_walk_returns_each_once(
    api: Api, scene: Scene, kind: str, expected: int, limit: int
) -> None:
    path, key = f"/v1/loans/{scene.first_loan}/{kind}", LOAN_LISTS[kind]
    everything = _get(api, scene.borrower, path, limit=100)[key]
    assert len(everything) == expected
    pages = _walk(api, scene.borrower, path, key, limit)
    assert [len(page) for page in pages] == [min(limit, expected - start) for start in range(0, expected, limit)]
    assert [item for page in pages for item in page] == everything


@pytest.mark.parametrize(
    ("path", "owner"), [(p, o) for p, o in zip(CALLER_LISTS, ("borrower", "waiting", "investor"), strict=True)]
)
def test_a_callers_lists_page_one_by_one(api: Api, scene: Scene, path: str, owner: str) -> None:
    user: User = getattr(scene, owner)
    pages = _walk(api, user, path, CALLER_LISTS[path], 1)
    assert [len(page) for page in pages] == [1, 1]


@pytest.mark.parametrize(
    ("path", "owner", "replayer"),
    [
        ("/v1/loans/my-loans", "borrower", "waiting"),
        ("/v1/lender/pending", "waiting", "investor"),
        ("/v1/lender/portfolio", "investor", "waiting"),
    ],
)
def test_another_callers_next_token_is_refused(api: Api, scene: Scene, path: str, owner: str, replayer: str) -> None:
    token = _get(api, getattr(scene, owner), path, limit=1)["next_token"]
    assert token is not None
    assert _get(api, getattr(scene, owner), path, limit=1, next_token=token)["count"] == 1, "good for its owner"
    refused = api.get(path, headers=getattr(scene, replayer).bearer, params={"limit": 1, "next_token": token})
    body = assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"next_token": ["Invalid pagination token"]}


def test_a_pending_token_is_refused_on_the_portfolio(api: Api, scene: Scene) -> None:
    token = _get(api, scene.waiting, "/v1/lender/pending", limit=1)["next_token"]
    assert token is not None
    refused = api.get("/v1/lender/portfolio", headers=scene.waiting.bearer, params={"next_token": token})
    body = assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"next_token": ["Invalid pagination token"]}


@pytest.mark.parametrize("kind", list(LOAN_LISTS))
def test_a_records_token_of_one_loan_is_refused_on_another(api: Api, scene: Scene, kind: str) -> None:
    token = _get(api, scene.borrower, f"/v1/loans/{scene.first_loan}/{kind}", limit=1)["next_token"]
    assert token is not None
    mine = _get(api, scene.borrower, f"/v1/loans/{scene.first_loan}/{kind}", limit=1, next_token=token)
    assert mine["count"] == 1, "good on its own loan"
    refused = api.get(
        f"/v1/loans/{scene.second_loan}/{kind}", headers=scene.borrower.bearer, params={"next_token": token}
    )
    body = assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"next_token": ["Invalid pagination token"]}


EVERY_LIST = [*CALLER_LISTS, *(f"/v1/loans/{{loan}}/{kind}" for kind in LOAN_LISTS)]


@pytest.mark.parametrize("path", EVERY_LIST)
@pytest.mark.parametrize(("limit", "status"), [("0", 400), ("101", 400), ("-1", 400), ("1", 200), ("100", 200)])
def test_limit_is_between_1_and_100_on_every_list(api: Api, scene: Scene, path: str, limit: str, status: int) -> None:
    response = api.get(path.format(loan=scene.first_loan), headers=scene.borrower.bearer, params={"limit": limit})
    if status == 200:
        assert response.status_code == 200, response.text
        return
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert list(body["field_errors"]) == ["limit"], body
