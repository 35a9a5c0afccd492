"""Rate limits: the window arithmetic, the limiter over a counter store, and the front door's
headers and 429s (the DynamoDB counter itself: tests/integration/test_rate_counters.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from lendbridge.domain.rate_limits import (
    CounterUnavailable,
    Limit,
    Policy,
    RateLimiter,
    Subject,
    Verdict,
    strictest,
    verdict_of,
    window_at,
)
from lendbridge.handlers import accounts as accounts_handler
from lendbridge.http import rate_limit
from lendbridge.wiring.rate_limits import build_rate_limiter, policy_of, rate_limiter
from tests.events import FakeContext, api_event, body_of, header_of
from tests.unit.test_http_edge import VALID_REGISTRATION, FakeAccounts

T0 = 1_800_000_000.0  # a multiple of 60: the start of a window


@dataclass
class MemoryCounters:
    """A counter store that behaves like the atomic ADD (one count per hit, thread-safe)."""

    counts: dict[str, int] = field(default_factory=dict)
    expiries: dict[str, int] = field(default_factory=dict)
    failure: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, expires_at: int) -> int:
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.expiries.setdefault(key, expires_at)
            return self.counts[key]


@dataclass
class Clock:
    now: float = T0 + 10

    def __call__(self) -> float:
        return self.now


def policy(caller: int = 3, upload: int = 1, ip: int = 2, email: int = 2) -> Policy:
    return Policy(Limit(caller, 60), Limit(upload, 60), Limit(ip, 60), Limit(email, 600))


# -- the window -----------------------------------------------------------------------------


def test_windows_are_aligned_to_multiples_of_their_length() -> None:
    assert window_at(T0, 60) == window_at(T0 + 59.999, 60)
    assert window_at(T0 + 60, 60).start == T0 + 60
    assert window_at(T0 + 61, 60).end == T0 + 120
    assert window_at(T0 + 100, 600).start % 600 == 0


def test_the_limit_th_request_passes_with_none_left_and_the_next_is_refused() -> None:
    limit, window = Limit(60, 60), window_at(T0 + 15.2, 60)
    first = verdict_of(1, limit, window, T0 + 15.2)
    assert (first.allowed, first.limit, first.remaining, first.reset_seconds) == (True, 60, 59, 45)
    last = verdict_of(60, limit, window, T0 + 15.2)
    assert (last.allowed, last.remaining) == (True, 0)
    over = verdict_of(61, limit, window, T0 + 15.2)
    assert (over.allowed, over.remaining, over.retry_after) == (False, 0, 45)


def test_reset_is_never_zero_at_the_end_of_a_window() -> None:
    assert verdict_of(1, Limit(1, 60), window_at(T0 + 59.9999, 60), T0 + 59.9999).reset_seconds == 1


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (-1, 60), (10, 0), (10, 86401)])
def test_a_limit_must_be_usable(limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="a limit allows|a window lasts"):
        Limit(limit, window)


def test_the_strictest_verdict_is_the_longest_refusal_else_the_fewest_left() -> None:
    ip_left = Verdict(30, 5, 40, allowed=True)
    email_left = Verdict(10, 2, 500, allowed=True)
    assert strictest([ip_left, email_left]) == email_left
    ip_out = Verdict(30, 0, 40, allowed=False)
    email_out = Verdict(10, 0, 500, allowed=False)
    assert strictest([ip_out, email_left]) == ip_out
    assert strictest([ip_out, email_out]) == email_out


# -- the limiter ----------------------------------------------------------------------------


def test_a_new_window_starts_a_new_count() -> None:
    counters, clock = MemoryCounters(), Clock()
    limiter = RateLimiter(policy(), counters, lambda value: "d-" + value, clock)
    subject = Subject("caller", "user-1", Limit(2, 60))
    assert [limiter.check(subject).allowed for _ in range(3)] == [True, True, False]
    clock.now = T0 + 60
    fresh = limiter.check(subject)
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (True, 1, 60)
    assert sorted(counters.counts) == [f"caller#user-1#{int(T0)}", f"caller#user-1#{int(T0) + 60}"]
    assert counters.expiries[f"caller#user-1#{int(T0)}"] == int(T0) + 60 + 60


def test_keyed_subjects_are_counted_under_their_digest_only() -> None:
    counters = MemoryCounters()
    limiter = RateLimiter(policy(), counters, lambda value: "digest-of-" + str(len(value)), Clock())
    limiter.check(Subject("email", "ada@example.com", Limit(2, 600), keyed=True))
    (key,) = counters.counts
    assert "ada" not in key
    assert key.startswith("email#digest-of-15#")


def test_a_counter_that_cannot_be_read_lets_the_request_through_blind() -> None:
    counters = MemoryCounters(failure=CounterUnavailable("ThrottlingException"))
    verdict = RateLimiter(policy(), counters, str, Clock()).check(Subject("caller", "u", Limit(5, 60)))
    assert (verdict.allowed, verdict.blind, verdict.limit, verdict.remaining, verdict.reset_seconds) == (
        True,
        True,
        5,
        5,
        50,
    )


def test_the_stage_policy_is_read_from_its_json() -> None:
    text = json.dumps(
        {
            "caller": {"limit": 60, "window_seconds": 60},
            "upload": {"limit": 10, "window_seconds": 60},
            "ip": {"limit": 30, "window_seconds": 60},
            "email": {"limit": 10, "window_seconds": 600},
        }
    )
    assert policy_of(text) == Policy(Limit(60, 60), Limit(10, 60), Limit(30, 60), Limit(10, 600))
    assert build_rate_limiter({}) is None  # no table, no limiter


# -- which budgets a request draws on -------------------------------------------------------


def _limiter() -> RateLimiter:
    return RateLimiter(policy(), MemoryCounters(), str, Clock())


def test_an_authenticated_request_draws_on_its_callers_budget() -> None:
    event = api_event("GET", "/v1/loans/my-loans", user_id="user-7")
    subjects, authenticated = rate_limit.subjects_of(_limiter(), event)
    assert authenticated
    assert subjects == [Subject("caller", "user-7", Limit(3, 60))]


def test_document_uploads_have_a_budget_of_their_own() -> None:
    resource = "/v1/loan-bookings/{booking_id}/documents"
    event = api_event("POST", "/v1/loan-bookings/b-1/documents", resource=resource, user_id="user-7")
    known = rate_limit._route("POST", resource) is not None
    subjects, _ = rate_limit.subjects_of(_limiter(), event)
    # Until the bookings module lands the route is unknown here and draws on nothing.
    assert subjects == ([Subject("upload", "user-7", Limit(1, 60))] if known else [])
    assert ("POST", resource) in rate_limit.UPLOAD_ROUTES


def test_account_routes_draw_on_the_address_and_the_normalised_email() -> None:
    event = api_event("POST", "/v1/auth/login", body={"email": "  Ada@Example.COM ", "password": "x"})
    subjects, authenticated = rate_limit.subjects_of(_limiter(), event)
    assert not authenticated
    assert subjects == [
        Subject("ip", "203.0.113.7", Limit(2, 60), keyed=True),
        Subject("email", "ada@example.com", Limit(2, 600), keyed=True),
    ]


@pytest.mark.parametrize("body", ['{"refresh_token": "r"}', "not json", '["a"]', '{"email": 5}', '{"email": " "}'])
def test_an_account_request_without_a_readable_email_draws_on_the_address_only(body: str) -> None:
    event = api_event("POST", "/v1/auth/refresh", raw_body=body)
    subjects, _ = rate_limit.subjects_of(_limiter(), event)
    assert [subject.scope for subject in subjects] == ["ip"]


def test_health_probes_and_unverified_callers_draw_on_nothing() -> None:
    assert rate_limit.subjects_of(_limiter(), api_event("GET", "/health/live")) == ([], False)
    assert rate_limit.subjects_of(_limiter(), api_event("GET", "/v1/users/me")) == ([], False)
    assert rate_limit.subjects_of(_limiter(), api_event("GET", "/v1/nowhere", user_id="u")) == ([], False)


# -- the front door -------------------------------------------------------------------------


@pytest.fixture
def counters(fake_accounts: FakeAccounts) -> Iterator[MemoryCounters]:
    store = MemoryCounters()
    rate_limiter.override(RateLimiter(policy(), store, lambda value: "k" + str(hash(value)), Clock()))
    yield store
    rate_limiter.reset()


@pytest.fixture
def fake_accounts() -> Iterator[FakeAccounts]:
    fake = FakeAccounts()
    accounts_handler.accounts.override(fake)  # type: ignore[arg-type]
    yield fake
    accounts_handler.accounts.reset()


def call(event: dict) -> dict:
    return accounts_handler.handler(event, FakeContext())


def _limits(response: dict) -> tuple[str | None, str | None, str | None]:
    return tuple(header_of(response, name) for name in rate_limit.HEADERS)  # type: ignore[return-value]


def test_reads_carry_the_budget_and_the_one_over_it_is_a_429(
    counters: MemoryCounters, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [call(api_event("GET", "/v1/users/me", user_id="user-1")) for _ in range(4)]
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200, 429]
    assert [_limits(answer) for answer in answers] == [
        ("3", "2", "50"),
        ("3", "1", "50"),
        ("3", "0", "50"),
        ("3", "0", "50"),
    ]
    refused = answers[3]
    body = body_of(refused)
    assert (body["success"], body["error"], body["retry_after"]) == (False, "TOO_MANY_REQUESTS", 50)
    assert header_of(refused, "Retry-After") == "50"
    assert body["request_id"] == header_of(refused, "X-Request-Id")
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert {"Endpoint": "GetMe", "ErrorType": "RateLimited", "APIError": [1.0]}.items() <= metrics[-1].items()


def test_errors_carry_the_budget_too(counters: MemoryCounters, fake_accounts: FakeAccounts) -> None:
    from lendbridge import errors

    fake_accounts.failure = errors.NotFound("No such user")
    answer = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    assert answer["statusCode"] == 404
    assert _limits(answer) == ("3", "2", "50")


def test_callers_have_separate_budgets(counters: MemoryCounters) -> None:
    statuses = [call(api_event("GET", "/v1/users/me", user_id=f"user-{n % 2}"))["statusCode"] for n in range(6)]
    assert statuses == [200] * 6


def test_a_refused_account_request_never_reaches_the_route(
    counters: MemoryCounters, fake_accounts: FakeAccounts
) -> None:
    answers = [
        call(api_event("POST", "/v1/auth/register", body={**VALID_REGISTRATION, "email": f"u{n}@example.com"}))
        for n in range(3)
    ]
    assert [answer["statusCode"] for answer in answers] == [201, 201, 429]
    assert len(fake_accounts.registered) == 2
    assert header_of(answers[2], "Retry-After") == "50"
    # Unauthenticated answers say nothing about the budgets (they would tell who else tries an email).
    assert all(_limits(answer) == (None, None, None) for answer in answers)


def test_one_email_is_limited_across_addresses(counters: MemoryCounters, fake_accounts: FakeAccounts) -> None:
    def login(address: str, email: str) -> int:
        event = api_event("POST", "/v1/auth/login", body={"email": email, "password": "Wrong-Passw0rd!"})
        event["requestContext"]["identity"]["sourceIp"] = address
        return int(call(event)["statusCode"])

    assert [login(f"198.51.100.{n}", "Ada@Example.com") for n in range(3)] == [200, 200, 429]
    assert login("198.51.100.9", "grace@example.com") == 200
    assert not any("example.com" in key or "198.51" in key for key in counters.counts)


def test_a_blind_limiter_answers_and_says_so(counters: MemoryCounters, capsys: pytest.CaptureFixture[str]) -> None:
    counters.failure = CounterUnavailable("ProvisionedThroughputExceededException")
    answers = [call(api_event("GET", "/v1/users/me", user_id="user-1")) for _ in range(5)]
    assert [answer["statusCode"] for answer in answers] == [200] * 5
    assert _limits(answers[-1]) == ("3", "3", "50")
    blind = [line for line in capsys.readouterr().out.splitlines() if '"RateLimiterBlind"' in line]
    assert len(blind) == 5
    assert json.loads(blind[0])["Scope"] == "caller"


def test_an_unexpected_limiter_failure_also_fails_open(counters: MemoryCounters) -> None:
    counters.failure = RuntimeError("bug")
    answer = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    assert answer["statusCode"] == 200
    assert _limits(answer) == ("3", "3", "50")


def test_without_a_limiter_nothing_is_counted(fake_accounts: FakeAccounts) -> None:
    rate_limiter.override(None)
    try:
        answer = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    finally:
        rate_limiter.reset()
    assert answer["statusCode"] == 200
    assert _limits(answer) == (None, None, None)


def test_a_counter_slower_than_the_wait_makes_the_request_blind_not_slow(
    counters: MemoryCounters, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    release = threading.Event()
    original = counters.hit

    def slow_hit(key: str, expires_at: int) -> int:
        release.wait(5)
        return original(key, expires_at)

    monkeypatch.setattr(counters, "hit", slow_hit)
    monkeypatch.setattr(rate_limit, "VERDICT_WAIT_S", 0.05)
    try:
        answer = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    finally:
        release.set()
    assert answer["statusCode"] == 200
    assert _limits(answer) == ("3", "3", "50")
    assert '"RateLimiterBlind"' in capsys.readouterr().out


def test_an_account_request_without_a_body_draws_on_the_address_only() -> None:
    event = api_event("POST", "/v1/auth/login")
    subjects, _ = rate_limit.subjects_of(_limiter(), event)
    assert [subject.scope for subject in subjects] == ["ip"]


def test_a_function_with_a_counters_table_needs_its_limits_and_key() -> None:
    from lendbridge.settings import MisconfiguredFunction

    with pytest.raises(MisconfiguredFunction, match="RATE_LIMIT_TABLE needs"):
        build_rate_limiter({"RATE_LIMIT_TABLE": "counters"})
    with pytest.raises(MisconfiguredFunction, match="RATE_LIMITS"):
        build_rate_limiter(
            {"RATE_LIMIT_TABLE": "counters", "RATE_LIMIT_KEY_SECRET_ID": "arn:key", "RATE_LIMITS": '{"caller": 60}'}
        )


def test_a_configured_function_counts_under_its_stage_policy() -> None:
    limits = {scope: {"limit": 5, "window_seconds": 60} for scope in ("caller", "upload", "ip", "email")}
    limiter = build_rate_limiter(
        {"RATE_LIMIT_TABLE": "counters", "RATE_LIMIT_KEY_SECRET_ID": "arn:key", "RATE_LIMITS": json.dumps(limits)}
    )
    assert limiter is not None
    assert limiter.policy == Policy(Limit(5, 60), Limit(5, 60), Limit(5, 60), Limit(5, 60))


def test_an_unreadable_key_makes_the_limiter_blind(monkeypatch: pytest.MonkeyPatch) -> None:
    from lendbridge import errors
    from lendbridge.wiring import rate_limits, secrets

    def unavailable(secret_id: str) -> bytes:
        raise errors.DependencyUnavailable("Secrets unavailable", retry_after=5)

    monkeypatch.setattr(secrets, "secret_key", unavailable)
    with pytest.raises(CounterUnavailable):
        rate_limits._keyed("arn:key", "ada@example.com")
    monkeypatch.setattr(secrets, "secret_key", lambda secret_id: b"k")
    digest = rate_limits._keyed("arn:key", "ada@example.com")
    assert digest == hmac.new(b"k", b"ada@example.com", hashlib.sha256).hexdigest()
    assert "ada" not in digest


def test_every_api_function_with_limited_routes_hands_the_limiter_to_the_front_door() -> None:
    """A function added later (or re-shaped) must give ``rate_limiter`` to its ApiFunction: otherwise its
    routes would answer without budgets and never refuse."""
    import importlib

    from lendbridge.routes import FUNCTIONS, ROUTES

    limited = {
        route.function for route in ROUTES if route.authenticated or route.path.startswith(rate_limit.ACCOUNT_PREFIX)
    }
    assert limited == set(FUNCTIONS) - {"health"}
    for function in sorted(limited):
        module = importlib.import_module(f"lendbridge.handlers.{function}")
        # The entry point is the ApiFunction's, which hands its limiter to ``serve``.
        assert module.handler is module.api.handler, function
        assert module.api.limiter is rate_limiter, function
