"""Rate limits at the front door: which budgets a request draws on, the counting beside the
route's own work, the ``X-RateLimit-*`` headers and the 429.

The count is taken on a thread as the request arrives. A read (GET/HEAD) runs at the same time and
waits for the verdict only before answering: over the limit, its answer is replaced by the 429, and
a read changed nothing. A request that may change state (and every unauthenticated account route,
which can send an email or try a password) waits for the verdict first, so a refused request never
applies its write: for those the count is one round trip before the route (docs/decisions.md).

The limiter fails open: when the counter cannot be read in time, the request is served, the
answer carries the full budget, and the ``RateLimiterBlind`` metric says so (an alarm reads it).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from lendbridge import observability
from lendbridge.domain.rate_limits import RateLimiter, Subject, Verdict, blind_verdict, strictest
from lendbridge.http import answer, envelope
from lendbridge.json_codec import dumps
from lendbridge.lazy import Lazy
from lendbridge.routes import ROUTES, Route

logger = Logger(child=True)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Document uploads draw on a budget of their own (the contract: 10 a minute by default).
UPLOAD_ROUTES = frozenset({("POST", "/v1/loan-bookings/{booking_id}/documents")})
# Unauthenticated routes under this prefix (sign-up, sign-in, codes, passwords) are limited per
# source address and per target email; health probes are not limited.
ACCOUNT_PREFIX = "/v1/auth/"
# The counter call has its own short timeouts (wiring); this bounds the wait for it as a whole.
VERDICT_WAIT_S = 3.0
MAX_EMAIL_BODY = 64 * 1024
ERROR_TYPE = "RateLimited"
LIMIT, REMAINING, RESET = "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"
HEADERS = (LIMIT, REMAINING, RESET)

# Two threads: an unauthenticated request counts its address and its email at the same time.
_threads: Lazy[ThreadPoolExecutor] = Lazy(lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="ratelimit"))

LimiterSource = Callable[[], RateLimiter | None]


def subjects_of(limiter: RateLimiter, event: Mapping[str, Any]) -> tuple[list[Subject], bool]:
    """The budgets ``event`` draws on, and whether its caller is authenticated."""
    method, resource = str(event.get("httpMethod")), str(event.get("resource"))
    route = _route(method, resource)
    if route is None:
        return [], False
    policy = limiter.policy
    if route.authenticated:
        subject = _claims(event).get("sub")
        if not isinstance(subject, str) or not subject:
            return [], False  # the route refuses it (401); there is no caller to count
        if (method, resource) in UPLOAD_ROUTES:
            return [Subject("upload", subject, policy.upload)], True
        return [Subject("caller", subject, policy.caller)], True
    if not route.path.startswith(ACCOUNT_PREFIX):
        return [], False
    subjects: list[Subject] = []
    source_ip = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if isinstance(source_ip, str) and source_ip:
        subjects.append(Subject("ip", source_ip, policy.ip, keyed=True))
    email = email_of(event)
    if email:
        subjects.append(Subject("email", email, policy.email, keyed=True))
    return subjects, False


def email_of(event: Mapping[str, Any]) -> str | None:
    """The target email of an account request, normalised as the user store normalises it; the
    route validates the body itself, so anything unreadable here simply has no email budget."""
    body = event.get("body")
    if not isinstance(body, str) or not body or len(body) > MAX_EMAIL_BODY:
        return None
    try:
        text = base64.b64decode(body, validate=True).decode() if event.get("isBase64Encoded") else body
        email = json.loads(text).get("email")
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(email, str):
        return None
    return email.strip().lower() or None


class RateCheck:
    """The verdict on one request, being computed (nothing pending for a request without a budget)."""

    def __init__(
        self,
        pending: list[tuple[Subject, Future[Verdict]]],
        *,
        authenticated: bool,
        check_first: bool,
        request_id: str,
        clock: Callable[[], float],
    ) -> None:
        self._pending = pending
        self._authenticated = authenticated
        self._check_first = check_first
        self._request_id = request_id
        self._clock = clock
        self._verdict: Verdict | None = None
        self._refused = False

    def refusal_first(self) -> dict[str, Any] | None:
        """For a request that may change state: the 429 to answer instead of running the route."""
        if not self._check_first or not self._pending:
            return None
        return self._refusal(self.verdict())

    def finish(self, response: dict[str, Any]) -> dict[str, Any]:
        """The answer to send: the 429 when a read turned out to be over the limit; with the
        budget's headers when the caller is authenticated."""
        if not self._pending:
            return response
        verdict = self.verdict()
        if not self._refused:
            response = self._refusal(verdict) or response
        if self._authenticated:
            headers = response.setdefault("multiValueHeaders", {})
            headers[LIMIT] = [str(verdict.limit)]
            headers[REMAINING] = [str(verdict.remaining)]
            headers[RESET] = [str(verdict.reset_seconds)]
        return response

    def verdict(self) -> Verdict:
        if self._verdict is None:
            self._verdict = strictest([self._wait(subject, future) for subject, future in self._pending])
        return self._verdict

    def _wait(self, subject: Subject, future: Future[Verdict]) -> Verdict:
        try:
            verdict = future.result(timeout=VERDICT_WAIT_S)
        except FutureTimeout:
            verdict = blind_verdict(subject.limit, self._clock())
        except Exception:  # the limiter must never fail a request it could not count
            logger.exception("rate limiter failed", extra={"scope": subject.scope})
            verdict = blind_verdict(subject.limit, self._clock())
        if verdict.blind:
            logger.warning("rate limiter blind", extra={"scope": subject.scope})
            observability.emit("RateLimiterBlind", MetricUnit.Count, 1, {"Scope": subject.scope})
        return verdict

    def _refusal(self, verdict: Verdict) -> dict[str, Any] | None:
        if verdict.allowed:
            return None
        self._refused = True
        answer.current().error_type = ERROR_TYPE
        body = envelope.error_body(
            "TOO_MANY_REQUESTS",
            "Too many requests; retry after the time in Retry-After",
            self._request_id,
            retry_after=verdict.retry_after,
        )
        return {
            "statusCode": 429,
            "multiValueHeaders": {"Content-Type": ["application/json"], "Retry-After": [str(verdict.retry_after)]},
            "body": dumps(body),
            "isBase64Encoded": False,
        }


def start(source: LimiterSource | None, event: Mapping[str, Any], request_id: str) -> RateCheck:
    """Begin counting ``event`` against its budgets (nothing when ``source`` gives no limiter)."""
    limiter = source() if source is not None else None
    subjects, authenticated = subjects_of(limiter, event) if limiter is not None else ([], False)
    method = str(event.get("httpMethod"))
    pending: list[tuple[Subject, Future[Verdict]]] = []
    if limiter is not None:
        pending = [(subject, _threads.get().submit(limiter.check, subject)) for subject in subjects]
    return RateCheck(
        pending,
        authenticated=authenticated,
        check_first=method not in SAFE_METHODS or not authenticated,
        request_id=request_id,
        clock=limiter.clock if limiter is not None else time.time,
    )


def _route(method: str, resource: str) -> Route | None:
    for route in ROUTES:
        if route.method == method and route.path == resource:
            return route
    return None


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    return claims if isinstance(claims, Mapping) else {}


# How the OpenAPI document describes the budget headers (tools/openapi.py adds them to every answer
# of an authenticated route). Not required: API Gateway's own answers (a refused token, stage
# throttling, the firewall) never reach the function and carry none.
OPENAPI_HEADERS: dict[str, dict[str, Any]] = {
    LIMIT: {
        "description": "Requests the caller may make in the current window (a minute unless the stage sets another)",
        "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["60"]},
    },
    REMAINING: {
        "description": "Requests left in the current window, this one counted (0 on a 429)",
        "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["59"]},
    },
    RESET: {
        "description": "Seconds until the window resets and the full budget is available again",
        "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["42"]},
    },
}
