"""The rate limits the local stack serves with unless asked for the stage's own.

The e2e suite, the fuzzer, `make seed` and `make load` send hundreds of requests a minute as a
few users from one address; with the stage's 60 a minute they would be testing the limiter, not
the API. The local stack therefore replaces the template's ``RATE_LIMITS`` with these generous
ones (still counted in DynamoDB Local, headers and all); `LOCAL_REAL_RATE_LIMITS=1 make run`, and
the rate-limit e2e tests' own stack, keep the stage's values from cdk.json.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping

GENEROUS = 1_000_000
LOCAL_RATE_LIMITS = json.dumps(
    {scope: {"limit": GENEROUS, "window_seconds": 60} for scope in ("caller", "upload", "ip", "email")},
    separators=(",", ":"),
)
VARIABLE = "RATE_LIMITS"


def loosen(environment: MutableMapping[str, str]) -> None:
    """Replace a function's stage limits with the local ones (functions without limits keep none)."""
    if VARIABLE in environment:
        environment[VARIABLE] = LOCAL_RATE_LIMITS
