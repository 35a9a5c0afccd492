"""Per-caller request budgets: fixed windows counted in a shared store.

A window is ``[start, start + window_seconds)`` with ``start`` a multiple of the window's length
since the epoch, so every container of every function agrees on it without talking to the others;
the shared counter (``CounterStore``) makes the count exact across them. Nothing here knows how
the count is kept or what a request looks like.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# Counters outlive their window by this much before the store may drop them (TTL is lazy anyway).
EXPIRY_SLACK_S = 60


@dataclass(frozen=True)
class Limit:
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a limit allows at least one request, got {self.limit}")
        if not 1 <= self.window_seconds <= 86400:
            raise ValueError(f"a window lasts 1 s to a day, got {self.window_seconds}")


@dataclass(frozen=True)
class Policy:
    """The stage's budgets. ``caller``: each authenticated caller on every route but uploads;
    ``upload``: each caller on document uploads; ``ip`` and ``email``: the unauthenticated
    account routes, per source address and per target email."""

    caller: Limit
    upload: Limit
    ip: Limit
    email: Limit


@dataclass(frozen=True)
class Window:
    start: int
    end: int


def window_at(now: float, window_seconds: int) -> Window:
    start = int(now // window_seconds) * window_seconds
    return Window(start, start + window_seconds)


@dataclass(frozen=True)
class Subject:
    """Who or what a budget belongs to. A ``keyed`` value (an address, an email) is stored only
    as a keyed digest, never as itself."""

    scope: str
    value: str
    limit: Limit
    keyed: bool = False


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset_seconds: int
    allowed: bool
    # The count could not be read: the request is let through (fail open) and someone is told.
    blind: bool = False

    @property
    def retry_after(self) -> int:
        return self.reset_seconds


def verdict_of(count: int, limit: Limit, window: Window, now: float) -> Verdict:
    """The ``count``-th request of the window (``count`` includes this one)."""
    return Verdict(
        limit=limit.limit,
        remaining=max(0, limit.limit - count),
        reset_seconds=max(1, math.ceil(window.end - now)),
        allowed=count <= limit.limit,
    )


def blind_verdict(limit: Limit, now: float) -> Verdict:
    window = window_at(now, limit.window_seconds)
    return Verdict(limit.limit, limit.limit, max(1, math.ceil(window.end - now)), allowed=True, blind=True)


def strictest(verdicts: Sequence[Verdict]) -> Verdict:
    """One answer for several budgets: a refusal that lasts longest, else the fewest left."""
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    if refused:
        return max(refused, key=lambda verdict: verdict.reset_seconds)
    return min(verdicts, key=lambda verdict: (verdict.remaining, -verdict.reset_seconds))


class CounterUnavailable(Exception):
    """The counter store refused or did not answer in time (throttled, down, timed out)."""


class CounterStore(Protocol):
    def hit(self, key: str, expires_at: int) -> int:
        """Add one to the counter ``key`` atomically and return its new value."""
        ...


Clock = Callable[[], float]
Digest = Callable[[str], str]


class RateLimiter:
    def __init__(self, policy: Policy, counters: CounterStore, digest: Digest, clock: Clock) -> None:
        self.policy = policy
        self._counters = counters
        self._digest = digest
        self.clock = clock

    def check(self, subject: Subject) -> Verdict:
        """Count one request against ``subject``'s budget. Never raises for the store's sake:
        a count that cannot be taken is a blind verdict that lets the request through."""
        now = self.clock()
        window = window_at(now, subject.limit.window_seconds)
        try:
            identity = self._digest(subject.value) if subject.keyed else subject.value
            count = self._counters.hit(f"{subject.scope}#{identity}#{window.start}", window.end + EXPIRY_SLACK_S)
        except CounterUnavailable:
            return blind_verdict(subject.limit, now)
        return verdict_of(count, subject.limit, window, now)
