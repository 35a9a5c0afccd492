"""Builds the API functions' rate limiter from their environment, on first use.

``RATE_LIMIT_TABLE`` names the counters' table, ``RATE_LIMITS`` holds the stage's budgets (JSON,
written by the CDK app from cdk.json), ``RATE_LIMIT_KEY_SECRET_ID`` the HMAC key that turns
addresses and emails into counter keys. A function without a table (unit tests, a benchmark
in-process) has no limiter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.config import Config

from lendbridge.data.rate_counters import DynamoRateCounters
from lendbridge.domain.rate_limits import CounterUnavailable, Limit, Policy, RateLimiter
from lendbridge.lazy import Lazy

# Short timeouts and a single retry: a slow counter must not make the request slow, it makes
# the limiter blind for that request (the API answers; the RateLimiterBlind metric says so).
COUNTER_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=1,
    read_timeout=1,
    max_pool_connections=4,
    tcp_keepalive=True,
)
SECRET_CACHE_SECONDS = 300


def policy_of(text: str) -> Policy:
    """``{"caller": {"limit": 60, "window_seconds": 60}, "upload": ..., "ip": ..., "email": ...}``."""
    values: Mapping[str, Mapping[str, int]] = json.loads(text)
    return Policy(**{scope: Limit(int(v["limit"]), int(v["window_seconds"])) for scope, v in values.items()})


def build_rate_limiter(env: Mapping[str, str] | None = None) -> RateLimiter | None:
    source = os.environ if env is None else env
    table = source.get("RATE_LIMIT_TABLE", "")
    if not table:
        return None
    secret_id = source.get("RATE_LIMIT_KEY_SECRET_ID", "")
    counters = DynamoRateCounters(boto3.session.Session().client("dynamodb", config=COUNTER_CONFIG), table)
    return RateLimiter(policy_of(source["RATE_LIMITS"]), counters, lambda value: _keyed(secret_id, value), time.time)


def _keyed(secret_id: str, value: str) -> str:
    """An HMAC of the address or email: a counter key that cannot be reversed by guessing, under a
    key kept in Secrets Manager (cached five minutes)."""
    try:
        key = str(parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)).encode()
    except GetParameterError as error:
        raise CounterUnavailable("rate-limit key unavailable") from error
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class _Limiter:
    """The limiter a handler hands to ``serve``: built on the first request, absent when the
    function has no counters table."""

    def __init__(self) -> None:
        self._built: Lazy[tuple[RateLimiter | None]] = Lazy(lambda: (build_rate_limiter(),))

    def __call__(self) -> RateLimiter | None:
        return self._built.get()[0]

    def override(self, limiter: RateLimiter | None) -> None:
        self._built.override((limiter,))

    def reset(self) -> None:
        self._built.reset()


rate_limiter = _Limiter()
