"""The round-trip record of the benchmark (benchmarks/recorded.py): what `make bench` writes
to docs/benchmarks.json and how a later run is held to it."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.meter import Call, Shape, Window
from benchmarks.recorded import compare, figures, items_read, render_record
from benchmarks.samples import Sample, Scenario


def _call(operation: str, *, items: int | None = None, size: int = 1, read: float = 0.0, table: str = "main") -> Call:
    return Call(operation, Shape((table,), size, read, 0.0), read, 0.0, items, 0, None)


def _scenario(*calls: Call, key: str = "my-loans-10") -> Scenario:
    scenario = Scenario(key=key, route="GET /v1/loans/my-loans", label="limit=10")
    scenario.samples.append(Sample.of(Window(list(calls)), "idem", 1.0))
    return scenario


def _record(*scenarios: Scenario) -> dict[str, Any]:
    cases: dict[str, Any] = json.loads(render_record(scenarios, "now"))["cases"]
    return cases


BASELINE = (_call("Query", items=11, read=1.5), _call("Query", items=40, read=4.0))


def test_items_read_counts_query_items_and_requested_keys() -> None:
    assert items_read(_call("Query", items=11)) == 11
    assert items_read(_call("BatchGetItem", size=20)) == 20
    assert items_read(_call("GetItem")) == 1
    assert items_read(_call("TransactWriteItems", size=30)) == 0
    assert figures(_scenario(*BASELINE))["request"]["items_read"] == 51


def test_the_same_figures_pass() -> None:
    assert compare(_record(_scenario(*BASELINE)), [_scenario(*BASELINE)]) == ([], [])


def test_an_extra_read_fails_with_the_calls_before_and_after() -> None:
    regressions, _ = compare(_record(_scenario(*BASELINE)), [_scenario(*BASELINE, _call("GetItem", read=0.5))])

    assert len(regressions) == 1
    assert "round_trips 2 -> 3" in regressions[0]
    assert "items_read 51 -> 52" in regressions[0]
    assert "read_units 5.5 -> 6" in regressions[0]
    assert "now Query(11 items) + Query(40 items) + GetItem" in regressions[0]


def test_more_items_or_capacity_in_the_same_calls_fail() -> None:
    wider = (_call("Query", items=12, read=1.5), _call("Query", items=40, read=4.0))
    heavier = (_call("Query", items=11, read=2.0), _call("Query", items=40, read=4.0))
    recorded = _record(_scenario(*BASELINE))

    assert "items_read 51 -> 52" in compare(recorded, [_scenario(*wider)])[0][0]
    assert "read_units 5.5 -> 6" in compare(recorded, [_scenario(*heavier)])[0][0]


def test_the_idempotency_store_calls_are_held_to_their_record_too() -> None:
    store = _call("PutItem", table="idem")
    recorded = _record(_scenario(*BASELINE, store))

    regressions, _ = compare(recorded, [_scenario(*BASELINE, store, _call("GetItem", table="idem"))])

    assert len(regressions) == 1
    assert "(idempotency_store): round_trips 1 -> 2" in regressions[0]


def test_cheaper_requests_pass_and_are_reported() -> None:
    regressions, improvements = compare(_record(_scenario(*BASELINE)), [_scenario(BASELINE[0])])

    assert regressions == []
    assert len(improvements) == 1
    assert "round_trips 2 -> 1" in improvements[0]


def test_a_dropped_or_new_case_fails() -> None:
    recorded = _record(_scenario(*BASELINE))

    regressions, _ = compare(recorded, [_scenario(*BASELINE, key="pending-20")])

    assert any("my-loans-10: recorded but not measured" in line for line in regressions)
    assert any("pending-20: measured but not recorded" in line for line in regressions)
