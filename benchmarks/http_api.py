"""p50/p95 through the local HTTP API (``local.stack.LocalLendbridge``), when that module exists.

Each request crosses the local API Gateway stand-in (route match, Cognito JWT check against
moto's JWKS), a warm function worker process (JSON in and out) and the same handler code, so
the difference from the in-process numbers is the cost of the local edge, not of DynamoDB.
Round trips cannot be counted here (the handlers run in other processes); they are the same
code paths as in-process.

The caller is registered and logs in through the API (moto's Cognito issues the token); the
loans are then seeded through the domain layer on the stack's own DynamoDB Local, as for the
in-process scenarios.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlencode, urlsplit

from benchmarks.plan import EXISTING_PARTICIPANTS, seed_plans
from benchmarks.scenarios import LENDER_POOL, LENDERS_PER_LOAN
from benchmarks.seed import Seeder, unregistered_email

MY_LOANS_LIMIT = 10
ADD_SIZE = 10
PASSWORD = "Bench-Passw0rd!"  # noqa: S105 - a throwaway user in moto's in-memory pool
TIMEOUT_S = 30
LOG_TAIL = 40
LENDERS_ROUTE = "POST /v1/loans/{id}/lenders"


@dataclass(frozen=True)
class HttpLatency:
    label: str
    route: str
    samples_ms: list[float]
    loan_sizes: list[int]  # add-lenders: participants each request met


@dataclass(frozen=True)
class HttpOutcome:
    available: bool
    note: str
    results: list[HttpLatency]
    startup_s: float = 0.0


def local_stack_available() -> bool:
    return importlib.util.find_spec("local.stack") is not None


def measure_over_http(assembly_dir: Path, repetitions: int, progress: Callable[[str], None]) -> HttpOutcome:
    if not local_stack_available():
        return HttpOutcome(False, "local/stack.py (LocalLendbridge) does not exist: HTTP latency not measured", [])
    from local.net import free_port
    from local.stack import LocalLendbridge

    logs: deque[str] = deque(maxlen=LOG_TAIL)  # the stack's request log, shown only on failure
    progress("starting the local stack (DynamoDB Local, moto, function workers)")
    try:
        with LocalLendbridge(api_port=free_port(), assembly_dir=assembly_dir, log=logs.append, max_workers=1) as stack:
            progress(f"local stack up in {stack.startup_seconds:.1f} s at {stack.api_url}")
            results = _drive(stack, repetitions, progress)
            note = f"through the local HTTP API (local.stack.LocalLendbridge, up in {stack.startup_seconds:.0f} s)"
            return HttpOutcome(True, note, results, stack.startup_seconds)
    except Exception as error:  # noqa: BLE001 - any failure of the stack is reported, not raised
        # Reported, not raised: the in-process numbers stand on their own.
        tail = "\n".join(logs)
        return HttpOutcome(False, f"local stack failed: {type(error).__name__}: {error}\n{tail}", [])


def _drive(stack: Any, repetitions: int, progress: Callable[[str], None]) -> list[HttpLatency]:
    api = ApiClient(stack.api_url)
    email = unregistered_email("http-borrower")
    api.call("POST", "/v1/auth/register", _registration(email), expect=201)
    login = api.call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
    api.token = login["access_token"]
    me = api.call("GET", "/v1/users/me")

    progress("seeding the local stack's DynamoDB")
    seeder = Seeder(stack.aws_client("dynamodb"), stack.tables)
    borrower = seeder.person("http-borrower", user_id=me["user_id"], email=email)
    lenders = seeder.people("http-lender", LENDER_POOL)
    lender_sets = [
        [lenders[(index + offset) % LENDER_POOL].email for offset in range(LENDERS_PER_LOAN)]
        for index in range(MY_LOANS_LIMIT + 5)
    ]
    seeder.loans(borrower, lender_sets, Decimal("50000.00"))

    # The add-lenders loans are the borrower's too; made after the my-loans ones, so they are
    # newer and would come first in my-loans: measured my-loans before they exist.
    def my_loans() -> None:
        page = api.call("GET", "/v1/loans/my-loans?" + urlencode({"limit": MY_LOANS_LIMIT}))
        sizes = {len(loan["participants"]) for loan in page["loans"]}
        if page["count"] != MY_LOANS_LIMIT or sizes != {LENDERS_PER_LOAN}:
            raise RuntimeError("my-loans over HTTP returned another page than the one seeded")

    my_loans()  # warm-up: the function worker's first request imports the handler (a cold start)
    progress(f"HTTP my-loans limit={MY_LOANS_LIMIT}")
    loans_ms = [_timed(my_loans) for _ in range(repetitions)]

    plan = seed_plans(seeder, borrower, (ADD_SIZE,), 2 * repetitions + 1)[ADD_SIZE]

    def add_lenders(key: str | None, sizes: list[int]) -> None:
        invitation = plan.next()
        body = {"lenders": [{"email": e, "contribution_amount": "100.00"} for e in invitation.emails]}
        headers = {"Idempotency-Key": key} if key else {}
        added = api.call("POST", f"/v1/loans/{invitation.loan_id}/lenders", body, headers=headers)["lenders_added"]
        if len(added) != ADD_SIZE:
            raise RuntimeError(f"add-lenders over HTTP added {len(added)} lenders")
        sizes.append(invitation.existing)

    add_lenders(None, [])  # warm-up
    progress(f"HTTP add-lenders k={ADD_SIZE}, without and with Idempotency-Key")
    # Plain and keyed requests alternate over the same loans, so both meet the same sizes.
    plain = HttpLatency(f"k={ADD_SIZE} new on a loan with {EXISTING_PARTICIPANTS}", LENDERS_ROUTE, [], [])
    keyed = HttpLatency(f"{plain.label}, Idempotency-Key", LENDERS_ROUTE, [], [])
    for _ in range(repetitions):
        plain.samples_ms.append(_timed(partial(add_lenders, None, plain.loan_sizes)))
        keyed.samples_ms.append(_timed(partial(add_lenders, f"bench-{uuid.uuid4()}", keyed.loan_sizes)))
    return [HttpLatency(f"limit={MY_LOANS_LIMIT}", "GET /v1/loans/my-loans", loans_ms, []), plain, keyed]


def _registration(email: str) -> dict[str, str]:
    return {"email": email, "password": PASSWORD, "full_name": "Bench Borrower"}


def _timed(request: Callable[[], None]) -> float:
    started = perf_counter()
    request()
    return (perf_counter() - started) * 1000


class ApiClient:
    """One keep-alive connection (the local server speaks HTTP/1.1, as API Gateway does), so
    a request's time is the request's, not a TCP handshake's."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT_S)
        self.token: str | None = None

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, expect: int = 200
    ) -> Any:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        try:
            self._connection.request(method, path, body=payload, headers=sent)
            response = self._connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the idle connection: reconnect once (never after a response).
            self._connection.close()
            self._connection.request(method, path, body=payload, headers=sent)
            response = self._connection.getresponse()
        text = response.read().decode()
        if response.status != expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {text[:500]}")
        return json.loads(text)["data"]
