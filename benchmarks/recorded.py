"""The round-trip figures of the last ``make bench``, machine-readable, and the regression gate.

``make bench`` writes docs/benchmarks.json from the same measurements as the tables of
docs/benchmarks.md, so one command updates both. Round trips, the items each call reads and
the capacity DynamoDB reports are deterministic for a given request on given data (no
timing in them), so ``make test`` re-runs the cases (tests/integration/test_round_trips.py)
and fails when a request makes more calls, reads more items or consumes more capacity than
recorded. Fewer is reported, not failed: re-run ``make bench`` to record the improvement.

Capacity is the first request's, on the data exactly as seeded (see ``Scenario.first``),
which does not depend on how many repetitions a run makes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import PROJECT_ROOT
from benchmarks.meter import Call
from benchmarks.samples import Cost, Scenario

RECORD = PROJECT_ROOT / "docs" / "benchmarks.json"
FORMAT = 1
_READS_BY_KEY = frozenset({"GetItem", "BatchGetItem", "TransactGetItems"})
# Figures a request may not exceed, in the order the failures name them.
_LIMITS = ("round_trips", "items_read", "bytes_read", "read_units", "write_units", "min_read", "min_write")


def items_read(call: Call) -> int:
    """Items a read call asked for or returned: a query's items, a key read's keys."""
    if call.operation in ("Query", "Scan"):
        return call.items or 0
    if call.operation in _READS_BY_KEY:
        return call.shape.size
    return 0


def _cost(cost: Cost, round_trips: int) -> dict[str, Any]:
    return {
        "round_trips": round_trips,
        "calls": list(cost.described),
        "items_read": sum(items_read(call) for call in cost.detail),
        "bytes_read": cost.bytes_read,
        "read_units": float(cost.read_units),
        "write_units": float(cost.write_units),
        "min_read": float(cost.min_read),
        "min_write": float(cost.min_write),
    }


def figures(scenario: Scenario) -> dict[str, Any]:
    """One case's figures: the route's own calls and, apart, the idempotency store's."""
    worst = scenario.worst()
    return {
        "route": scenario.route,
        "case": scenario.label,
        "request": _cost(scenario.first.request, worst.request.calls),
        "idempotency_store": _cost(scenario.first.idempotency, worst.idempotency.calls),
    }


def render_record(scenarios: Sequence[Scenario], measured: str) -> str:
    document = {
        "format": FORMAT,
        "measured": measured,
        "how": "written by `make bench` (benchmarks/recorded.py); checked by tests/integration/test_round_trips.py",
        "cases": {scenario.key: figures(scenario) for scenario in scenarios},
    }
    return json.dumps(document, indent=2) + "\n"


def load_record(path: Path = RECORD) -> dict[str, dict[str, Any]]:
    document = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise ValueError(f"{path}: format {document.get('format')!r}, expected {FORMAT}: re-run `make bench`")
    cases: dict[str, dict[str, Any]] = document["cases"]
    return cases


def compare(recorded: Mapping[str, Mapping[str, Any]], scenarios: Sequence[Scenario]) -> tuple[list[str], list[str]]:
    """(regressions, improvements) of a run against the record, one readable line each."""
    regressions: list[str] = []
    improvements: list[str] = []
    measured = {scenario.key: figures(scenario) for scenario in scenarios}
    for key in sorted(set(recorded) - set(measured)):
        regressions.append(f"{key}: recorded but not measured (a case was dropped: re-run `make bench`)")
    for key in sorted(set(measured) - set(recorded)):
        regressions.append(f"{key}: measured but not recorded (a new case: re-run `make bench`)")
    for key, now in measured.items():
        before = recorded.get(key)
        if before is None:
            continue
        where = f"{now['route']} {now['case']}"
        for part in ("request", "idempotency_store"):
            more = _changes(before[part], now[part], above=True)
            less = _changes(before[part], now[part], above=False)
            if more:
                regressions.append(
                    f"{where} ({part}): {', '.join(more)}; recorded calls {_calls(before[part])}, "
                    f"now {_calls(now[part])}"
                )
            if less:
                improvements.append(f"{where} ({part}): {', '.join(less)}")
    return regressions, improvements


# Bytes depend on generated values (ids, timestamps, emails) by a few bytes per item: a change
# within this share of the record is noise, not a regression.
_BYTES_TOLERANCE = 0.02


def _changes(before: Mapping[str, Any], now: Mapping[str, Any], *, above: bool) -> list[str]:
    def slack(limit: str) -> float:
        return before[limit] * _BYTES_TOLERANCE if limit == "bytes_read" else 0.0

    return [
        f"{limit} {_number(before[limit])} -> {_number(now[limit])}"
        for limit in _LIMITS
        if limit in before
        and (now[limit] > before[limit] + slack(limit) if above else now[limit] < before[limit] - slack(limit))
    ]


def _number(value: float) -> str:
    return f"{value:g}"


def _calls(cost: Mapping[str, Any]) -> str:
    return " + ".join(cost["calls"]) or "none"
