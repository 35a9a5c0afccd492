"""What the rate limiter adds to a request: DynamoDB calls, capacity and latency, with and without.

The same in-process handlers as the other cases, on the same DynamoDB Local, the limiter switched
on and off request by request (alternating, so both see the same machine load): on, it is the
production limiter (``DynamoRateCounters`` on the ``RateLimitTable`` of the dev template, the
limiter's own client configuration) with limits no request reaches, and its client carries the
same meter as the route's. A read (GET my-loans) counts on a thread beside the route's own calls;
a write (POST /v1/loans) counts first, so it can refuse before writing (docs/decisions.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import boto3

from benchmarks.engine import Engine
from benchmarks.inprocess import InProcessApi, Result
from benchmarks.meter import Call, DynamoMeter
from benchmarks.scenarios import World
from local.template import REGION

UNREACHABLE = 1_000_000


@dataclass
class Case:
    label: str
    route: str
    off_ms: list[float] = field(default_factory=list)
    on_ms: list[float] = field(default_factory=list)
    off_calls: list[int] = field(default_factory=list)
    added: list[list[Call]] = field(default_factory=list)  # the limiter's calls, per request


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure_rate_limits(
    api: InProcessApi,
    meter: DynamoMeter,
    engine: Engine,
    world: World,
    repetitions: int,
    progress: Callable[[str], None],
) -> list[Case]:
    from lendbridge.data.rate_counters import DynamoRateCounters
    from lendbridge.domain.rate_limits import Limit, Policy, RateLimiter
    from lendbridge.http import rate_limit
    from lendbridge.wiring.rate_limits import COUNTER_CONFIG, rate_limiter

    table = engine.tables["RateLimitTable"]
    client = meter.instrument(
        boto3.client(
            "dynamodb",
            endpoint_url=engine.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local accepts any credentials
            config=COUNTER_CONFIG,
        )
    )
    unreachable = Limit(UNREACHABLE, 60)
    limiter = RateLimiter(
        Policy(unreachable, unreachable, unreachable, unreachable),
        DynamoRateCounters(client, table),
        str,
        time.time,
    )

    def my_loans() -> Result:
        return api.call("loans", "GET", "/v1/loans/my-loans", user_id=world.borrower.user_id, query={"limit": "10"})

    def create_loan() -> Result:
        body = {"amount": "1000.00", "interest_rate": "5", "term_months": 12}
        return api.call("loans", "POST", "/v1/loans", user_id=world.owner.user_id, body=body)

    def my_loans_counted_first() -> Result:
        # For comparison only: the same read if it waited for its count like a write does.
        with patch.object(rate_limit, "SAFE_METHODS", frozenset()):
            return my_loans()

    cases: list[tuple[Case, Callable[[], Result], int]] = [
        (Case("limit=10, counted beside the route's reads", "GET /v1/loans/my-loans"), my_loans, 200),
        (
            Case("limit=10, counted first (comparison only: not how reads are served)", "GET /v1/loans/my-loans"),
            my_loans_counted_first,
            200,
        ),
        (Case("no lenders, counted before the route's write", "POST /v1/loans"), create_loan, 201),
    ]
    progress(f"rate limiter: {len(cases)} cases x {repetitions} requests with and without it")
    try:
        for case, send, status in cases:
            for limited in (False, True):  # warm both paths (the limiter's client, its thread)
                rate_limiter.override(limiter if limited else None)
                send()
            for _ in range(repetitions):
                for limited in (False, True):
                    rate_limiter.override(limiter if limited else None)
                    result = send()
                    if result.status != status:
                        raise RuntimeError(f"{case.route} answered {result.status}: {result.body}")
                    ours = [call for call in result.window.calls if table in call.tables]
                    if limited:
                        case.on_ms.append(result.elapsed_ms)
                        case.added.append(ours)
                    else:
                        case.off_ms.append(result.elapsed_ms)
                        case.off_calls.append(len(result.window.calls))
    finally:
        rate_limiter.reset()
    return [case for case, _, _ in cases]


def _ms(values: Sequence[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"


def render_section(cases: Sequence[Case], repetitions: int, command: str) -> str:
    rows = [
        "| Request | Case | Route's calls | Added calls | Added RCU / WCU (Local; AWS >=) | p50 / p95 ms without | "
        "p50 / p95 ms with | p50 added ms |",
        "|---|---|---:|---|---|---:|---:|---:|",
    ]
    for case in cases:
        added = case.added[0]
        operations = " + ".join(call.operation for call in added) or "-"
        counts = sorted({len(calls) for calls in case.added})
        read = sum(call.read_units for call in added)
        write = sum(call.write_units for call in added)
        aws_write = sum(max(call.write_units, call.shape.min_write) for call in added)
        delta = percentile(case.on_ms, 50) - percentile(case.off_ms, 50)
        rows.append(
            f"| {case.route} | {case.label} | {max(case.off_calls)} | {counts[-1]}: {operations} | "
            f"{read:g} / {write:g}; {read:g} / {aws_write:g} | {_ms(case.off_ms)} | {_ms(case.on_ms)} | {delta:+.1f} |"
        )
    return "\n".join(
        [
            "## Rate limiter: added calls, capacity and latency",
            "",
            f"Measured with `{command}` (`benchmarks/rate_limits.py`), {repetitions} requests per case with the "
            "limiter and as many without, alternating, in process on DynamoDB Local. Each counted request adds "
            "one `UpdateItem` on `RateLimitTable` (an atomic `ADD`, 1 WCU for an item under 1 KB, no read). "
            "A read counts on a thread while the route makes its own calls, so its latency grows by the "
            "thread's overhead, not by a round trip; a write (and every unauthenticated account route) waits "
            "for the count first, so a refused request never writes: one round trip before the route. "
            "An unauthenticated account route counts its address and its email: two `UpdateItem`s, sent "
            "at the same time. With and without are measured side by side in the same minutes: compare within "
            "a row (the machine's load is in the first paragraph of this file); the added round trip is what "
            "DynamoDB Local on this machine takes, a few milliseconds in AWS.",
            "",
            *rows,
            "",
        ]
    )


def print_section(cases: Sequence[Case], write: Callable[[str], Any] = print) -> None:
    for case in cases:
        write(
            f"  rate limiter, {case.route} ({case.label}): +{len(case.added[0])} call(s); "
            f"p50/p95 {_ms(case.off_ms)} ms without, {_ms(case.on_ms)} ms with"
        )
