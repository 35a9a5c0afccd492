"""The whole lending story over HTTP on the local stack, then a scan of every log line it
produced for personal data, tokens and bank numbers."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import PASSWORD, Api, User, assert_error_envelope, register_and_login, unique_email

ROUTING, ACCOUNT = "011000015", "000987654321"
ACH = {
    "account_holder_name": "Invited Lender",
    "routing_number": ROUTING,
    "account_number": ACCOUNT,
    "account_type": "checking",
}


@dataclass
class Story:
    borrower: User
    invitee_email: str
    invitee: User
    loan_id: str
    responses: list[str]


def _until(check: Any, seconds: float = 15.0) -> Any:
    """Stream-fed records (history) arrive shortly after the write."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


@pytest.fixture(scope="module")
def story(api: Api) -> Story:
    seen: list[str] = []

    def keep(response: Any) -> Any:
        seen.append(response.text)
        return response

    borrower = register_and_login(api, "borrower")
    lender_a, lender_b = register_and_login(api, "lendera"), register_and_login(api, "lenderb")
    newcomer_email = unique_email("newcomer")

    # A borrower creates a loan with three invitations, one to an email with no account yet.
    created = keep(
        api.post(
            "/v1/loans",
            headers=borrower.bearer,
            json={
                "amount": "3000.00",
                "interest_rate": 6.5,
                "term_months": 24,
                "purpose": "Equipment",
                "lenders": [
                    {"email": lender_a.email, "contribution_amount": "500.00"},
                    {"email": lender_b.email, "contribution_amount": 500},
                    {"email": newcomer_email, "contribution_amount": "1000.00"},
                ],
            },
        )
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    assert (loan["status"], loan["total_invited"], loan["participant_count"]) == ("FUNDING", "2000.00", 3)
    loan_id = loan["loan_id"]

    # Pages of my-loans (with a few more loans to page through).
    for amount in ("100", "200"):
        assert (
            keep(
                api.post(
                    "/v1/loans", headers=borrower.bearer, json={"amount": amount, "interest_rate": 1, "term_months": 1}
                )
            ).status_code
            == 201
        )
    walked: list[str] = []
    token: str | None = None
    while True:
        params = {"limit": 2, **({"next_token": token} if token else {})}
        page = keep(api.get("/v1/loans/my-loans", headers=borrower.bearer, params=params)).json()["data"]
        walked += [item["loan_id"] for item in page["loans"]]
        token = page["next_token"]
        assert page["has_more"] is (token is not None)
        if token is None:
            break
    assert len(walked) == len(set(walked)) == 3
    assert walked[-1] == loan_id, "newest first"
    bad = api.get("/v1/loans/my-loans", headers=borrower.bearer, params={"next_token": "v1.forged.token"})
    assert assert_error_envelope(bad, 400, "VALIDATION_ERROR")["message"] == "Invalid pagination token"

    # Adds a lender with an idempotency key, and replays it.
    key = str(uuid.uuid4())
    extra = {"lenders": [{"email": unique_email("extra"), "contribution_amount": "1000.00"}]}
    first = keep(
        api.post(f"/v1/loans/{loan_id}/lenders", headers={**borrower.bearer, "Idempotency-Key": key}, json=extra)
    )
    replay = keep(
        api.post(f"/v1/loans/{loan_id}/lenders", headers={**borrower.bearer, "Idempotency-Key": key}, json=extra)
    )
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["data"]["remaining_amount"] == "0.00"
    over = api.post(
        f"/v1/loans/{loan_id}/lenders",
        headers=borrower.bearer,
        json={"lenders": [{"email": unique_email("late"), "contribution_amount": "0.01"}]},
    )
    assert_error_envelope(over, 400, "VALIDATION_ERROR")

    # The invitee registers, and sees the invitation exactly once.
    registered = keep(
        api.post("/v1/auth/register", json={"email": newcomer_email, "password": PASSWORD, "full_name": "New Comer"})
    )
    assert registered.status_code == 201
    token_text = api.post("/v1/auth/login", json={"email": newcomer_email, "password": PASSWORD}).json()["data"]
    invitee = User(
        registered.json()["data"]["user_id"], newcomer_email, "New Comer", PASSWORD, token_text["access_token"]
    )

    # Registration hands the claiming to the claim worker, which the claims queue feeds.
    def claimed() -> dict[str, Any] | None:
        data: dict[str, Any] = keep(api.get("/v1/lender/pending", headers=invitee.bearer)).json()["data"]
        return data if data["count"] else None

    pending = _until(claimed)
    assert pending is not None, "the claim worker gave the invitation to its new user"
    assert pending["count"] == 1
    [invitation] = pending["invitations"]
    assert invitation["loan"]["loan_id"] == loan_id
    assert invitation["contribution_amount"] == "1000.00"

    # Everyone accepts with ACH details; the last acceptance funds the loan.
    for lender, participant_id in _invitations(api, [lender_a, lender_b, invitee], loan_id):
        accepted = keep(
            api.post(f"/v1/lender/invitations/{participant_id}/accept", headers=lender.bearer, json={"ach": ACH})
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["data"]["participant"]["ach"]["account_number_last4"] == ACCOUNT[-4:]
    stored = keep(api.get(f"/v1/loans/{loan_id}", headers=borrower.bearer)).json()["data"]
    assert (stored["total_funded"], stored["status"]) == ("2000.00", "FUNDING")
    extra_pid = next(p["participant_id"] for p in stored["participants"] if p["lender_id"] is None)
    extra_user = register_and_login_for(api, first.json()["data"]["lenders_added"][0]["lender_email"])
    assert _until(lambda: api.get("/v1/lender/pending", headers=extra_user.bearer).json()["data"]["count"] == 1)
    funded = keep(api.post(f"/v1/lender/invitations/{extra_pid}/accept", headers=extra_user.bearer, json={"ach": ACH}))
    assert funded.status_code == 200, funded.text
    assert funded.json()["data"]["loan"] == {
        "loan_id": loan_id,
        "status": "FUNDED",
        "total_funded": "3000.00",
        "funding_percentage": "100.00",
    }

    # The portfolio shows it; history and funding points follow from the stream.
    portfolio = keep(api.get("/v1/lender/portfolio", headers=invitee.bearer)).json()["data"]
    assert [item["loan"]["loan_id"] for item in portfolio["investments"]] == [loan_id]
    assert portfolio["investments"][0]["loan"]["status"] == "FUNDED"

    def recorded_versions() -> dict[str, Any] | None:
        data: dict[str, Any] = api.get(f"/v1/loans/{loan_id}/history", headers=borrower.bearer).json()["data"]
        return data if data["count"] >= 6 else None

    history = _until(recorded_versions)
    assert history is not None, "every version recorded"
    assert [v["version"] for v in history["versions"]] == [6, 5, 4, 3, 2, 1]
    assert history["versions"][0]["snapshot"]["status"] == "FUNDED"
    seen.append(str(history))
    return Story(borrower, newcomer_email, invitee, loan_id, seen)


def register_and_login_for(api: Api, email: str) -> User:
    registered = api.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Extra L"})
    assert registered.status_code == 201, registered.text
    token = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["data"]["access_token"]
    return User(registered.json()["data"]["user_id"], email, "Extra L", PASSWORD, token)


def _invitations(api: Api, lenders: list[User], loan_id: str) -> list[tuple[User, str]]:
    found = []
    for lender in lenders:
        invitations = api.get("/v1/lender/pending", headers=lender.bearer).json()["data"]["invitations"]
        [mine] = [i for i in invitations if i["loan"]["loan_id"] == loan_id]
        found.append((lender, mine["participant_id"]))
    return found


def test_the_loan_is_funded_and_visible_to_its_parties_only(api: Api, story: Story) -> None:
    loan = api.get(f"/v1/loans/{story.loan_id}", headers=story.invitee.bearer).json()["data"]
    assert loan["status"] == "FUNDED"
    assert loan["is_fully_funded"] is True
    stranger = register_and_login(api, "stranger")
    assert_error_envelope(api.get(f"/v1/loans/{story.loan_id}", headers=stranger.bearer), 404, "NOT_FOUND")


def test_only_the_last_four_bank_digits_ever_leave_the_api(story: Story) -> None:
    everything = "\n".join(story.responses)
    assert ACCOUNT[-4:] in everything
    assert ACCOUNT not in everything
    assert ROUTING not in everything


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


def spelled_out(number: str) -> re.Pattern[str]:
    """The number's significant digits in order, whatever stands between them (spaces, dashes,
    quotes and commas of a list) and with or without its leading zeros, as when it is logged
    as an integer. Not inside a longer run of digits: a latency of 0.30371100001502 holds the
    routing number's significant digits by chance."""
    digits = number.lstrip("0")
    return re.compile(r"(?<![1-9])" + r"[^0-9A-Za-z]{0,4}".join(digits) + r"(?![0-9])")


BANK_NUMBERS = [spelled_out(ROUTING), spelled_out(ACCOUNT)]
HOLDER = re.compile(re.escape(ACH["account_holder_name"]), re.IGNORECASE)


def test_the_bank_number_patterns_find_the_disguises_a_log_line_could_carry() -> None:
    disguised = [
        f"account={int(ACCOUNT)}",
        "routing: " + " ".join(ROUTING),
        f"routing={ROUTING[:3]}-{ROUTING[3:6]}-{ROUTING[6:]}",
        f'"digits": {json.dumps(list(ACCOUNT))}',
    ]
    for line in disguised:
        assert any(pattern.search(line) for pattern in BANK_NUMBERS), line
    assert HOLDER.search('{"holder": "invited lender"}')
    assert not any(pattern.search(f"last4={ACCOUNT[-4:]} routing_last4={ROUTING[-4:]}") for pattern in BANK_NUMBERS)
    assert not any(pattern.search('"APILatency":[0.3037110000150278]') for pattern in BANK_NUMBERS)


def test_no_log_line_holds_an_email_a_token_a_bank_number_or_the_holders_name(story: Story, stack_log: Path) -> None:
    lines = stack_log.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 50, "the story's requests and handler logs were captured"
    assert any('"message":"loan_funded"' in line for line in lines), "business events are logged"
    offenders = [
        line
        for line in lines
        if EMAIL.search(line)
        or JWT.search(line)
        or any(pattern.search(line) for pattern in BANK_NUMBERS)
        or HOLDER.search(line)
        or story.borrower.access_token[:40] in line
    ]
    assert offenders == []
