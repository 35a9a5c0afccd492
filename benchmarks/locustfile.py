"""The load profile ``make load`` runs (see benchmarks/load.py): members of the marketplace who
borrow and lend, as in tests/e2e/test_lending_story.py.

Each simulated member registers and logs in once, then, with a think time drawn from
``LOAD_THINK`` (``min,max`` seconds, default 0.1,0.5: short enough for 64 members to push the
local stack past what it can serve):
creates a loan inviting two other members for half of it each (1 in 9 actions), reads its loans
(3 in 9), reads its pending invitations (3 in 9) and accepts one it has seen with valid bank
details (2 in 9). Two acceptances fund a loan. A member alone in the run invites emails that have
no account yet (the product allows it), so at one user nothing is ever accepted.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

PASSWORD = "Local-Passw0rd!"  # noqa: S105 - a throwaway account on the local stack
# A routing number that passes the ABA checksum, as in the e2e tests.
ACH = {
    "account_holder_name": "Load Lender",
    "routing_number": "011000015",
    "account_number": "000987654321",
    "account_type": "checking",
}
TIMEOUT_S = 60
THINK_MIN, THINK_MAX = (float(value) for value in os.environ.get("LOAD_THINK", "0.1,0.5").split(","))
# Every member of this locust process; greenlets share the module.
ROSTER: list[str] = []


def _email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


class Member(HttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        self.email = _email("load")
        self.headers: dict[str, str] = {}
        self.pending: list[str] = []
        body = {"email": self.email, "password": PASSWORD, "full_name": "Load Member"}
        self.client.post("/v1/auth/register", json=body, timeout=TIMEOUT_S)
        login = self.client.post("/v1/auth/login", json={"email": self.email, "password": PASSWORD}, timeout=TIMEOUT_S)
        if login.status_code == 200:
            self.headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
            ROSTER.append(self.email)

    def _ready(self) -> bool:
        return bool(self.headers)

    @task(1)
    def create_loan(self) -> None:
        if not self._ready():
            return
        others = [email for email in ROSTER if email != self.email]
        invitees = random.sample(others, min(2, len(others)))
        invitees += [_email("newcomer") for _ in range(2 - len(invitees))]
        body: dict[str, Any] = {
            "amount": "1000.00",
            "interest_rate": 6.5,
            "term_months": 24,
            "purpose": "Working capital",
            "lenders": [{"email": email, "contribution_amount": "500.00"} for email in invitees],
        }
        self.client.post("/v1/loans", json=body, headers=self.headers, timeout=TIMEOUT_S)

    @task(3)
    def my_loans(self) -> None:
        if self._ready():
            self.client.get("/v1/loans/my-loans", headers=self.headers, timeout=TIMEOUT_S)

    @task(3)
    def pending_invitations(self) -> None:
        if not self._ready():
            return
        response = self.client.get("/v1/lender/pending", headers=self.headers, timeout=TIMEOUT_S)
        if response.status_code == 200:
            invitations = response.json()["data"]["invitations"]
            self.pending = [invitation["participant_id"] for invitation in invitations]

    @task(2)
    def accept(self) -> None:
        if not (self._ready() and self.pending):
            return
        participant_id = self.pending.pop(0)
        self.client.post(
            f"/v1/lender/invitations/{participant_id}/accept",
            json={"ach": ACH},
            headers=self.headers,
            name="/v1/lender/invitations/{participant_id}/accept",
            timeout=TIMEOUT_S,
        )
