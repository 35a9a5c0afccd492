"""Claiming invitations on the local stack: Cognito's post-confirmation trigger, fired the way
Cognito fires it for a user confirmed on moto, hands a user invited to 100 loans to the claim
worker in one message; the claims queue feeds the worker, and all 100 invitations become the
user's, as the lender's own pending list shows over HTTP."""

from __future__ import annotations

import time
from typing import Any

from local.stack import LocalLendbridge
from tests.e2e.support import PASSWORD, Api, register_and_login, unique_email

INVITATIONS = 100
TRIGGER_BUDGET_MS = 5000  # Cognito's limit for a trigger's answer


def _physical(stack: LocalLendbridge, resource_type: str) -> str:
    [(name, logical_id, _)] = stack.assembly.resources(resource_type)
    return stack.assembly.physical[(name, logical_id)]["Ref"]


def confirmed_on_moto(stack: LocalLendbridge, email: str, full_name: str) -> str:
    """A sign-up confirmed and verified directly on moto, as ConfirmSignUp with a code leaves
    it: no registration route ran, so nothing has claimed anything yet."""
    cognito = stack.aws_client("cognito-idp")
    pool_id = _physical(stack, "AWS::Cognito::UserPool")
    signed_up = cognito.sign_up(
        ClientId=_physical(stack, "AWS::Cognito::UserPoolClient"),
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": full_name}],
    )
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    cognito.admin_update_user_attributes(
        UserPoolId=pool_id, Username=email, UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    return str(signed_up["UserSub"])


def pending(api: Api, token: str) -> dict[str, Any]:
    response = api.get("/v1/lender/pending", params={"limit": 100}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_a_user_invited_to_100_loans_confirms_within_budget_and_gets_every_invitation(
    stack: LocalLendbridge, api: Api
) -> None:
    borrower = register_and_login(api, "many")
    email = unique_email("invited")
    loan_ids = set()
    for number in range(INVITATIONS):
        created = api.post(
            "/v1/loans",
            headers=borrower.bearer,
            json={
                "amount": "1000.00",
                "interest_rate": 5,
                "term_months": 12,
                "purpose": f"Loan {number}",
                "lenders": [{"email": email, "contribution_amount": "10.00"}],
            },
        )
        assert created.status_code == 201, created.text
        loan_ids.add(created.json()["data"]["loan_id"])

    user_id = confirmed_on_moto(stack, email, "Many Invites")
    login = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["data"]["access_token"]
    assert pending(api, token)["count"] == 0, "nothing is claimed before the confirmation"

    # First call (cold when no earlier test confirmed a user: imports, clients) and again warm, as
    # Cognito would call it on a retried confirmation; the second message is a replay the worker
    # shrugs off. Either way each call must fit Cognito's budget.
    [cold] = stack.post_confirmation.fire(email)
    [invocation] = stack.post_confirmation.fire(email)
    assert cold.ok, cold.error
    assert invocation.ok, invocation.error
    assert invocation.cold_start is False
    assert cold.duration_ms < TRIGGER_BUDGET_MS, f"cold: {cold.duration_ms:.0f} ms"
    assert invocation.duration_ms < TRIGGER_BUDGET_MS / 10, f"warm: {invocation.duration_ms:.0f} ms"

    deadline = time.monotonic() + 90
    seen = pending(api, token)
    while seen["count"] < INVITATIONS and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = pending(api, token)
    assert seen["count"] == INVITATIONS
    assert {item["loan"]["loan_id"] for item in seen["invitations"]} == loan_ids
    print(f"\ntrigger cold {cold.duration_ms:.0f} ms, warm {invocation.duration_ms:.0f} ms; {INVITATIONS} claimed")

    [poller] = [p for p in stack.queue_pollers if "Claims" in p.mapping.queue_url]
    poller.drain()  # the message was deleted once handled: nothing left for the dead-letter queue
    assert user_id
