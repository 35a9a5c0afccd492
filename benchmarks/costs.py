"""Dollars per 1,000 requests, ours as measured and the client's as reported, from the one price
list in ``benchmarks.prices``."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.prices import (
    CLIENT_ADD_10_LENDERS,
    CLIENT_MY_LOANS,
    FUNCTION_MEMORY_MB,
    PRICES_AS_OF,
    REGION,
    ClientReport,
    Dollars,
    Units,
    per_request,
    per_thousand,
)
from benchmarks.report import table
from benchmarks.samples import Scenario

# Our case that answers each of the client's reported requests.
COMPARED = {"my-loans-10": CLIENT_MY_LOANS, "add-lenders-10": CLIENT_ADD_10_LENDERS}
# What the issue asks of each: at most this share of the client's cost.
GOALS = {"my-loans-10": 1 / 3, "add-lenders-10": 1.0}


def measured_units(scenario: Scenario) -> Units:
    """The first request's units as AWS bills them (see benchmarks.meter) and the median
    in-process duration, with the idempotency store's calls when the case sends a key."""
    first = scenario.first
    return Units(
        read_units=first.request.min_read + first.idempotency.min_read,
        write_units=first.request.min_write + first.idempotency.min_write,
        duration_ms=scenario.latency(0.5),
    )


def _money(value: float) -> str:
    return f"${per_thousand(value):.4f}"


def _row(route: str, case: str, who: str, units: Units, dollars: Dollars) -> list[str]:
    return [
        route,
        case,
        who,
        f"{units.read_units:g}",
        f"{units.write_units:g}",
        f"{units.duration_ms:.0f}",
        _money(dollars.dynamodb),
        _money(dollars.lambda_),
        _money(dollars.api_gateway),
        _money(dollars.total),
        _money(dollars.design),
    ]


_HEADER = (
    "Request",
    "Case",
    "Whose",
    "RRU",
    "WRU",
    "Lambda ms",
    "DynamoDB /1000",
    "Lambda /1000",
    "API Gateway /1000",
    "Total /1000",
    "Without API Gateway /1000",
)


def cost_table(scenarios: Sequence[Scenario]) -> str:
    rows: list[list[str]] = []
    for scenario in scenarios:
        units = measured_units(scenario)
        rows.append(_row(scenario.route, scenario.label, "ours", units, per_request(units)))
        client = COMPARED.get(scenario.key)
        if client is not None:
            rows.append(_row(client.route, client.case, "client's report", client.units, per_request(client.units)))
    return table(_HEADER, rows, right=frozenset(range(3, 11)))


def comparisons(scenarios: Sequence[Scenario]) -> list[str]:
    """One line per compared route: ours against the client's units on the same prices."""
    lines = []
    for scenario in scenarios:
        client = COMPARED.get(scenario.key)
        if client is None:
            continue
        lines.append(_compare(scenario, client))
    return lines


def _compare(scenario: Scenario, client: ClientReport) -> str:
    ours, theirs = per_request(measured_units(scenario)), per_request(client.units)
    goal = GOALS[scenario.key]
    share_total = ours.total / theirs.total
    share_design = ours.design / theirs.design
    verdict = "met" if share_design <= goal else "MISSED"
    return (
        f"{scenario.route} {scenario.label}: {_money(ours.total)} per 1,000 against the client's "
        f"{_money(theirs.total)} on the same prices ({share_total:.0%}; they quoted ${client.quoted_per_thousand:.2f} "
        f"on prices of their own); without API Gateway's flat ${per_thousand(ours.api_gateway):.4f}, the same for "
        f"both designs, {_money(ours.design)} against {_money(theirs.design)} = {share_design:.0%} "
        f"(goal <= {goal:.0%}: {verdict})"
    )


def price_note() -> str:
    return (
        f"Prices: AWS on-demand list prices, {REGION}, as of {PRICES_AS_OF} (benchmarks/prices.py): DynamoDB "
        "$0.125 per million read request units and $0.625 per million write request units (a transactional "
        "write is 2 units per KB per item, a strongly consistent read 1 unit per 4 KB, an eventually "
        f"consistent one half), Lambda arm64 $0.0000133334 per GB-second at {FUNCTION_MEMORY_MB} MB plus "
        "$0.20 per million invocations, API Gateway REST $3.50 per million requests. Our duration is the "
        "in-process median on DynamoDB Local (no AWS network time), theirs as reported."
    )
