"""Rate limits end to end, counted in DynamoDB Local by the function workers.

The session's stack serves with the local stack's generous limits (``local.rate_limits``), so the
rest of the suite and the fuzzer are never throttled; the tests that count to the limit run on a
second stack of their own with the dev stage's real limits from cdk.json (60 a minute per caller,
30 a minute per address, 10 per 15 minutes per email). Windows are aligned to the minute, so each
counting test first waits until enough of the current window is left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from local.net import free_port
from local.rate_limits import GENEROUS
from local.stack import LocalLendbridge
from tests.e2e.support import PASSWORD, Api, User, assert_error_envelope, register_and_login, unique_email

ROOT = Path(__file__).resolve().parents[2]
LIMITS = json.loads((ROOT / "cdk.json").read_text())["context"]["stages"]["dev"]["rate_limits"]
PER_CALLER = LIMITS["caller"]["limit"]
PER_ADDRESS = LIMITS["ip"]["limit"]
PER_EMAIL = LIMITS["email"]["limit"]
WINDOW = 60


class _FromAddress(HTTPAdapter):
    """Connects from a given loopback address: the gateway sees it as the caller's source IP."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def from_address(base_url: str, address: str) -> Api:
    api = Api(base_url)
    api.session.mount("http://", _FromAddress(address))
    return api


def fresh_window(needed_s: float = 25.0) -> None:
    """Start in a window with at least ``needed_s`` left, so a count is not cut by its reset."""
    left = WINDOW - time.time() % WINDOW
    if left < needed_s:
        time.sleep(left + 0.5)


@pytest.fixture(scope="module")
def limited(stack_log: Path) -> Iterator[LocalLendbridge]:
    """A stack with the dev stage's real limits (the assembly is the session's cached one)."""
    with stack_log.open("a", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            log_file.write("[real limits] " + line + "\n")
            log_file.flush()

        with LocalLendbridge(
            api_port=free_port(), log=log, reload_code=False, warm=False, real_rate_limits=True
        ) as local:
            yield local


@pytest.fixture(scope="module")
def limited_api(limited: LocalLendbridge) -> Iterator[Api]:
    api = Api(limited.api_url)
    yield api
    api.close()


def _my_loans(base_url: str, user: User) -> requests.Response:
    return requests.get(base_url + "/v1/loans/my-loans", headers=user.bearer, timeout=30)


def _budget(response: requests.Response) -> tuple[int, int, int]:
    headers = response.headers
    return int(headers["X-RateLimit-Limit"]), int(headers["X-RateLimit-Remaining"]), int(headers["X-RateLimit-Reset"])


def test_61_requests_in_a_minute_from_one_caller_give_60_answers_and_one_429(
    limited: LocalLendbridge, limited_api: Api
) -> None:
    user = register_and_login(limited_api, "counted")
    fresh_window()
    started = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _my_loans(limited.api_url, user), range(PER_CALLER + 1)))
    window_left = WINDOW - started % WINDOW

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * PER_CALLER + [429]
    budgets = [_budget(answer) for answer in answers]
    assert {limit for limit, _, _ in budgets} == {PER_CALLER}
    served = [budget for answer, budget in zip(answers, budgets, strict=True) if answer.status_code == 200]
    assert sorted(remaining for _, remaining, _ in served) == list(range(PER_CALLER))  # each count once
    assert all(0 < reset <= window_left + 1 for _, _, reset in budgets)

    (refused,) = [answer for answer in answers if answer.status_code == 429]
    body = assert_error_envelope(refused, 429, "TOO_MANY_REQUESTS")
    _, remaining, reset = _budget(refused)
    assert remaining == 0
    assert int(refused.headers["Retry-After"]) == reset == body["retry_after"]


def test_a_refused_write_changes_nothing(limited: LocalLendbridge, limited_api: Api) -> None:
    user = register_and_login(limited_api, "writer")
    fresh_window()
    for _ in range(PER_CALLER):
        assert _my_loans(limited.api_url, user).status_code == 200
    refused = requests.post(
        limited.api_url + "/v1/loans",
        headers=user.bearer,
        json={"amount": "1000.00", "interest_rate": "5", "term_months": 12},
        timeout=30,
    )
    assert_error_envelope(refused, 429, "TOO_MANY_REQUESTS")
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Reset"]
    time.sleep(WINDOW - time.time() % WINDOW + 0.5)  # the next window: a fresh budget
    loans = _my_loans(limited.api_url, user)
    assert loans.status_code == 200
    assert loans.json()["data"]["loans"] == []
    assert _budget(loans)[1] == PER_CALLER - 1


def test_61_requests_split_over_two_callers_get_no_429(limited: LocalLendbridge, limited_api: Api) -> None:
    first, second = register_and_login(limited_api, "first"), register_and_login(limited_api, "second")
    fresh_window()
    callers = [first if n % 2 else second for n in range(PER_CALLER + 1)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda user: _my_loans(limited.api_url, user), callers))
    assert [answer.status_code for answer in answers] == [200] * (PER_CALLER + 1)
    busier = callers.count(second)  # 31 of the 61
    assert min(_budget(answer)[1] for answer in answers) == PER_CALLER - busier


def test_one_email_is_limited_whatever_the_address(limited: LocalLendbridge) -> None:
    """Guessing one account's password from many addresses: each address is under its own limit,
    the email's budget stops them (and the answers never say how much of it is left)."""
    email = unique_email("target")
    answers = []
    for n in range(PER_EMAIL + 1):
        api = from_address(limited.api_url, f"127.0.1.{n + 1}")
        answers.append(api.post("/v1/auth/login", json={"email": email, "password": "Wrong-Passw0rd!"}))
        api.close()
    assert [answer.status_code for answer in answers] == [401] * PER_EMAIL + [429]
    body = assert_error_envelope(answers[-1], 429, "TOO_MANY_REQUESTS")
    assert 0 < int(answers[-1].headers["Retry-After"]) == body["retry_after"] <= LIMITS["email"]["window_seconds"]
    assert all("X-RateLimit-Remaining" not in answer.headers for answer in answers)
    other = from_address(limited.api_url, "127.0.1.200")
    assert other.post("/v1/auth/login", json={"email": unique_email("other"), "password": PASSWORD}).status_code == 401
    other.close()


def test_one_address_is_limited_whatever_the_email(limited: LocalLendbridge) -> None:
    """Spamming reset emails to many addresses from one source."""
    api = from_address(limited.api_url, "127.0.2.1")
    fresh_window(needed_s=40)
    answers = [
        api.post("/v1/auth/forgot-password", json={"email": unique_email("spam")}) for _ in range(PER_ADDRESS + 1)
    ]
    api.close()
    assert [answer.status_code for answer in answers] == [202] * PER_ADDRESS + [429]
    assert_error_envelope(answers[-1], 429, "TOO_MANY_REQUESTS")
    assert 0 < int(answers[-1].headers["Retry-After"]) <= WINDOW
    neighbour = from_address(limited.api_url, "127.0.2.2")
    assert neighbour.post("/v1/auth/forgot-password", json={"email": unique_email("fine")}).status_code == 202
    neighbour.close()


def test_the_session_stack_counts_with_generous_limits(api: Api, user: User) -> None:
    """Every authenticated answer carries the budget, errors included; locally it is generous."""
    answer = api.get("/v1/users/me", headers=user.bearer)
    missing = api.get("/v1/loans/00000000-0000-4000-8000-000000000000", headers=user.bearer)
    assert answer.status_code == 200
    assert_error_envelope(missing, 404, "NOT_FOUND")
    for response in (answer, missing):
        limit, remaining, reset = _budget(response)
        assert limit == GENEROUS
        assert 0 <= remaining < GENEROUS
        assert 0 < reset <= WINDOW
