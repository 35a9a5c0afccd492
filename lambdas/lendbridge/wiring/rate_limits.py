"""The API functions' rate limiter, built from their environment on first use.

``RATE_LIMIT_TABLE`` names the counters' table, ``RATE_LIMITS`` holds the stage's budgets (JSON,
written by the CDK app from cdk.json), ``RATE_LIMIT_KEY_SECRET_ID`` the HMAC key that turns
addresses and emails into counter keys. A function without a table (unit tests, a benchmark
in-process) has no limiter; one with a table but not the other two is misconfigured.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Annotated

from botocore.config import Config
from pydantic import BaseModel, Field

from lendbridge.domain.rate_limits import CounterUnavailable, Limit, Policy, RateLimiter
from lendbridge.errors import DependencyUnavailable
from lendbridge.lazy import Lazy
from lendbridge.settings import FunctionSettings, Parsed, ResourceId, TableName

# Short timeouts and a single retry: a slow counter must not make the request slow, it makes
# the limiter blind for that request (the API answers; the RateLimiterBlind metric says so).
COUNTER_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=1,
    read_timeout=1,
    max_pool_connections=4,
    tcp_keepalive=True,
)


class LimitSetting(BaseModel):
    limit: int = Field(ge=1)
    window_seconds: int = Field(ge=1, le=86400)


class PolicySetting(BaseModel):
    caller: LimitSetting
    upload: LimitSetting
    ip: LimitSetting
    email: LimitSetting

    def policy(self) -> Policy:
        def limit(setting: LimitSetting) -> Limit:
            return Limit(setting.limit, setting.window_seconds)

        return Policy(limit(self.caller), limit(self.upload), limit(self.ip), limit(self.email))


def policy_of(text: str) -> Policy:
    """``{"caller": {"limit": 60, "window_seconds": 60}, "upload": ..., "ip": ..., "email": ...}``."""
    return PolicySetting.model_validate_json(text).policy()


class RateLimitSettings(FunctionSettings):
    rate_limit_table: TableName | None = None
    rate_limit_key_secret_id: ResourceId | None = None
    rate_limits: Annotated[Policy, Parsed(policy_of, "a JSON rate-limit policy")] | None = None

    def problems(self) -> list[str]:
        if self.rate_limit_table and (self.rate_limit_key_secret_id is None or self.rate_limits is None):
            return ["RATE_LIMIT_TABLE needs RATE_LIMIT_KEY_SECRET_ID and RATE_LIMITS"]
        return []


def build_rate_limiter(env: Mapping[str, str] | None = None) -> RateLimiter | None:
    settings = RateLimitSettings.from_env(env)
    if not settings.rate_limit_table or settings.rate_limits is None or settings.rate_limit_key_secret_id is None:
        return None
    # Imported here: only a function that counts pays for boto3 through this module.
    from lendbridge.aws import client
    from lendbridge.data.rate_counters import DynamoRateCounters

    secret_id = settings.rate_limit_key_secret_id
    counters = DynamoRateCounters(client("dynamodb", config=COUNTER_CONFIG), settings.rate_limit_table)
    return RateLimiter(settings.rate_limits, counters, lambda value: _keyed(secret_id, value), time.time)


def _keyed(secret_id: str, value: str) -> str:
    """An HMAC of the address or email: a counter key that cannot be reversed by guessing, under
    a key kept in Secrets Manager (cached five minutes)."""
    from lendbridge.wiring.secrets import secret_key

    try:
        key = secret_key(secret_id)
    except DependencyUnavailable as error:
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
