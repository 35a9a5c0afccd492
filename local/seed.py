"""``make seed``: realistic sample users and loans in the running local stack, made over its HTTP
API (so every rule, audit entry and stream consumer runs as for a real client), then the logins
to use: emails, the shared password and fresh access tokens.

Run it again at any time: existing users are logged in, and loans are created only for a
borrower who has none yet.

  --api URL   the API (default: the running ``make run``, found from <LOCAL_DIR>/stack.json)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local.run import SAMPLE_PASSWORD
from local.state import local_dir, running_stack

TIMEOUT_S = 60  # a cold start of each function on a busy laptop


@dataclass(frozen=True)
class Person:
    key: str  # the shell variable's stem: MARY -> MARY_TOKEN
    full_name: str
    email: str
    story: str


@dataclass(frozen=True)
class Invitation:
    lender: str  # Person.key, or an email with no account
    amount: str
    answer: str | None = None  # "accept", "decline" or None (left pending)


@dataclass(frozen=True)
class SampleLoan:
    borrower: str
    amount: str
    interest_rate: str
    term_months: int
    purpose: str
    invitations: tuple[Invitation, ...]


PEOPLE = (
    Person("MARY", "Mary Jackson", "mary.jackson@example.com", "borrower: a loan being funded and a funded one"),
    Person("ALAN", "Alan Turing", "alan.turing@example.com", "borrower: a loan with a declined invitation"),
    Person("KATHERINE", "Katherine Johnson", "katherine.johnson@example.com", "lender: two accepted loans"),
    Person("DOROTHY", "Dorothy Vaughan", "dorothy.vaughan@example.com", "lender: one accepted, one declined"),
    Person("BARBARA", "Barbara Liskov", "barbara.liskov@example.com", "lender: an invitation waiting for her"),
    Person("EDSGER", "Edsger Dijkstra", "edsger.dijkstra@example.com", "lender: an invitation waiting for him"),
)
NO_ACCOUNT_YET = "linus.torvalds@example.com"  # invited before signing up

LOANS = (
    SampleLoan(
        "MARY",
        "12000.00",
        "8.5",
        36,
        "Food truck conversion",
        (
            Invitation("KATHERINE", "5000.00", "accept"),
            Invitation("DOROTHY", "4000.00", "accept"),
            Invitation("BARBARA", "3000.00"),
        ),
    ),
    SampleLoan("MARY", "3000.00", "5", 12, "Laptop for design work", (Invitation("KATHERINE", "3000.00", "accept"),)),
    SampleLoan(
        "ALAN",
        "25000.00",
        "6.9",
        60,
        "Workshop roof repair",
        (
            Invitation("DOROTHY", "10000.00", "decline"),
            Invitation("EDSGER", "10000.00"),
            Invitation(NO_ACCOUNT_YET, "5000.00"),
        ),
    ),
)

# A valid ABA routing number (its checksum holds) and a made-up account number.
ROUTING_NUMBER = "011000015"
SAMPLE_ACCOUNT_NUMBER = "000123456789"


class CannotSeed(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    what: str  # "POST /v1/loans", for messages
    status: int
    body: dict[str, Any]


class Client:
    """JSON over HTTP with the standard library (no dependency beyond the project's)."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Answer:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)  # noqa: S310
        what = f"{method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the local API
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise CannotSeed(f"{what} failed: {error}") from error
        try:
            parsed = json.loads(payload) if payload else {}
        except ValueError:
            parsed = {"text": payload.decode(errors="replace")}
        return Answer(what, status, parsed if isinstance(parsed, dict) else {"value": parsed})

    @staticmethod
    def expect(answer: Answer, *statuses: int) -> dict[str, Any]:
        if answer.status not in statuses:
            raise CannotSeed(f"{answer.what} answered {answer.status}: {json.dumps(answer.body)[:500]}")
        data: dict[str, Any] = answer.body.get("data") or {}
        return data


def log_in(client: Client, person: Person) -> str:
    """The person's access token, registering them first when they have no account."""
    registered = client.call(
        "POST",
        "/v1/auth/register",
        body={"email": person.email, "password": SAMPLE_PASSWORD, "full_name": person.full_name},
    )
    client.expect(registered, 201, 409)
    login = client.call("POST", "/v1/auth/login", body={"email": person.email, "password": SAMPLE_PASSWORD})
    if login.status == 401:
        raise CannotSeed(
            f"{person.email} exists but does not log in with the sample password: it was registered "
            "with another one. Start from empty data (stop `make run`, then `make clean`)."
        )
    return str(client.expect(login, 200)["access_token"])


def create_loans(client: Client, tokens: dict[str, str]) -> int:
    created = 0
    for loan in LOANS:
        lenders = [
            {"email": person_email(invitation.lender), "contribution_amount": invitation.amount}
            for invitation in loan.invitations
        ]
        body = {
            "amount": loan.amount,
            "interest_rate": loan.interest_rate,
            "term_months": loan.term_months,
            "purpose": loan.purpose,
            "lenders": lenders,
        }
        loan_id = client.expect(client.call("POST", "/v1/loans", tokens[loan.borrower], body), 201)["loan_id"]
        created += 1
        for invitation in loan.invitations:
            if invitation.answer is not None:
                answer(client, tokens[invitation.lender], loan_id, invitation.answer)
    return created


def answer(client: Client, token: str, loan_id: str, verb: str) -> None:
    pending = client.expect(client.call("GET", "/v1/lender/pending?limit=100", token), 200)["invitations"]
    participant_id = next(item["participant_id"] for item in pending if item["loan"]["loan_id"] == loan_id)
    body: dict[str, Any] = {"reason": "Not this quarter"}
    if verb == "accept":
        body = {
            "ach": {
                "account_holder_name": "Sample Account",
                "routing_number": ROUTING_NUMBER,
                "account_number": SAMPLE_ACCOUNT_NUMBER,
                "account_type": "checking",
            }
        }
    client.expect(client.call("POST", f"/v1/lender/invitations/{participant_id}/{verb}", token, body), 200)


def person_email(key: str) -> str:
    return next((person.email for person in PEOPLE if person.key == key), key)


def seed(client: Client) -> tuple[dict[str, str], int]:
    tokens = {person.key: log_in(client, person) for person in PEOPLE}
    existing = client.expect(client.call("GET", "/v1/loans/my-loans", tokens["MARY"]), 200)["loans"]
    created = 0 if existing else create_loans(client, tokens)
    return tokens, created


def report(api_url: str, tokens: dict[str, str], created: int) -> str:
    width = max(len(person.email) for person in PEOPLE)
    lines = [
        "",
        f"Sample data in {api_url}: {created} loans created now"
        if created
        else f"Sample data in {api_url}: already there (the users were logged in again)",
        f"Every sample user's password: {SAMPLE_PASSWORD}",
    ]
    lines += [f"  {person.email:<{width}}  {person.full_name:<18} {person.story}" for person in PEOPLE]
    lines += [
        f"  {NO_ACCOUNT_YET:<{width}}  (no account yet)   invited to Alan's loan: register with this email",
        "",
        "Their access tokens (valid for an hour; `make seed` again prints fresh ones), for a shell:",
    ]
    lines += [f"  export {key}_TOKEN={token}" for key, token in tokens.items()]
    lines += [
        "",
        "For example:",
        f'  curl -s {api_url}/v1/loans/my-loans -H "Authorization: Bearer $MARY_TOKEN"',
        f'  curl -s {api_url}/v1/lender/pending -H "Authorization: Bearer $BARBARA_TOKEN"',
        "",
    ]
    return "\n".join(lines)


def api_url_from(given: str | None, env: dict[str, str]) -> str:
    if given:
        return given
    running = running_stack(local_dir(env))
    if running is None:
        raise CannotSeed("No running local stack found: start it with `make run` in another terminal (or pass --api)")
    return running.api_url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", help="the API's base URL (default: the running `make run`)")
    args = parser.parse_args(argv)
    try:
        api_url = api_url_from(args.api, dict(os.environ))
        print(f"Seeding {api_url} over its API...", flush=True)
        tokens, created = seed(Client(api_url))
    except CannotSeed as error:
        print(f"make seed could not run: {error}", file=sys.stderr)
        return 1
    print(report(api_url, tokens, created))
    return 0


if __name__ == "__main__":
    sys.exit(main())
