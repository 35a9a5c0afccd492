"""The results as aligned pipe tables: printed as they are, and valid markdown for the docs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.http_api import HttpOutcome
from benchmarks.recorded import items_read
from benchmarks.samples import Cost, Scenario, percentile

LATENCY_LABEL = "in-process handler latency on DynamoDB Local"
MB = 1024 * 1024  # DynamoDB's page limit of 1 MB is this many bytes


@dataclass(frozen=True)
class RunInfo:
    date: str
    command: str
    repetitions: int
    machine: str
    seconds: float
    assembly: str


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _units(value: float) -> str:
    return f"{value:g}"


def _range(first: float, most: float) -> str:
    # add-lenders requests grow their loans: the first request (as seeded) -> the heaviest
    return _units(first) if first == most else f"{_units(first)} -> {_units(most)}"


def _operations(cost: Cost) -> str:
    return " + ".join(cost.described) if cost.described else "-"


def _verdict(scenario: Scenario) -> str:
    if scenario.target is None:
        return "-"
    worst = scenario.worst()
    calls, total = worst.request.calls, worst.request.calls + worst.idempotency.calls
    text = f"<= {scenario.target}: {'met' if calls <= scenario.target else 'MISSED'}"
    if total != calls:
        text += f"; {total} with the store's calls: {'met' if total <= scenario.target else 'over'}"
    return text


def _versus(scenario: Scenario) -> str:
    if scenario.client_old is None:
        return "-"
    calls = scenario.worst().request.calls
    ratio = scenario.client_old / calls if calls else float("inf")
    return f"{scenario.client_old} -> {calls} ({ratio:.1f}x fewer)"


def _idempotency(cost: Cost) -> str:
    if not cost.calls:
        return "-"
    return (
        f"{cost.calls}: {_operations(cost)}; {_units(cost.read_units)} RCU, {_units(cost.write_units)} WCU "
        f"(AWS >= {_units(cost.min_read)}/{_units(cost.min_write)})"
    )


def round_trip_table(scenarios: Sequence[Scenario]) -> str:
    header = [
        "Request",
        "Case",
        "Round trips",
        "Calls (first request)",
        "Target",
        "Client's old system",
        "Items read",
        "MB read",
        "RCU Local",
        "WCU Local",
        "RCU AWS >=",
        "WCU AWS >=",
        "Idempotency store (calls; capacity)",
    ]
    rows = []
    for s in scenarios:
        first, last = s.first.request, s.heaviest.request
        rows.append(
            [
                s.route,
                s.label,
                str(s.worst().request.calls) + ("" if s.same_calls else " (varies)"),
                _operations(first),
                _verdict(s),
                _versus(s),
                str(sum(items_read(call) for call in first.detail)),
                f"{first.bytes_read / MB:.3f}",
                _range(first.read_units, last.read_units),
                _range(first.write_units, last.write_units),
                _range(first.min_read, last.min_read),
                _range(first.min_write, last.min_write),
                _idempotency(s.first.idempotency),
            ]
        )
    return table(header, rows, right=frozenset({2, 6, 7, 8, 9, 10, 11}))


def _sizes(sizes: Sequence[int]) -> str:
    if not sizes:
        return "-"
    low, high = min(sizes), max(sizes)
    return str(low) if low == high else f"{low}-{high}"


_LATENCY_HEADER = ("Request", "Case", "Loan participants", "n", "p50 ms", "p95 ms")


def _latency_row(route: str, label: str, sizes: Sequence[int], samples_ms: Sequence[float]) -> list[str]:
    p50, p95 = percentile(samples_ms, 0.5), percentile(samples_ms, 0.95)
    return [route, label, _sizes(sizes), str(len(samples_ms)), f"{p50:.1f}", f"{p95:.1f}"]


def latency_table(scenarios: Sequence[Scenario], http: HttpOutcome) -> str:
    right = frozenset({3, 4, 5})
    rows = [_latency_row(s.route, s.label, s.loan_sizes, [x.elapsed_ms for x in s.samples]) for s in scenarios]
    text = f"{LATENCY_LABEL}:\n\n" + table(_LATENCY_HEADER, rows, right)
    if http.available and http.results:
        rows = [_latency_row(r.route, r.label, r.loan_sizes, r.samples_ms) for r in http.results]
        text += f"\n\nHTTP latency {http.note}:\n\n" + table(_LATENCY_HEADER, rows, right)
    else:
        text += f"\n\nHTTP latency: not measured ({http.note.splitlines()[0]})."
    return text


def anomalies(scenarios: Sequence[Scenario]) -> list[str]:
    """What deserves a reader's attention: missed targets, the idempotency store's share,
    costs that change between repetitions, retries and errors; one line per kind and route."""
    notes: list[str] = []
    for route in dict.fromkeys(s.route for s in scenarios):
        cases = [s for s in scenarios if s.route == route]
        notes += _over_target(route, cases) + _store_share(route, cases) + _growth(route, cases)
    for s in scenarios:
        notes += _trouble(s)
    return notes


def _over_target(route: str, cases: Sequence[Scenario]) -> list[str]:
    return [
        f"{route} {s.label}: {s.worst().request.calls} round trips, above the target of {s.target}: "
        f"{_operations(s.worst().request)}"
        for s in cases
        if s.target is not None and s.worst().request.calls > s.target
    ]


def _store_share(route: str, cases: Sequence[Scenario]) -> list[str]:
    over = [
        s
        for s in cases
        if s.target is not None
        and s.worst().idempotency.calls
        and s.worst().request.calls + s.worst().idempotency.calls > s.target
    ]
    if not over:
        return []
    example = over[0].worst()
    return [
        f"{route} with an Idempotency-Key: {example.request.calls} round trips of its own (within "
        f"{over[0].target}) plus the idempotency store's {example.idempotency.calls} "
        f"({_operations(example.idempotency)}) = {example.request.calls + example.idempotency.calls}, "
        f"over {over[0].target} if the target counts the store ({', '.join(s.label.split(' ')[0] for s in over)})"
    ]


def _growth(route: str, cases: Sequence[Scenario]) -> list[str]:
    grown = [
        s
        for s in cases
        if s.same_calls and not s.same_capacity and s.heaviest.request.read_units != s.first.request.read_units
    ]
    # Keyed requests repeat their plain twins' calls on the same loans: one of each is enough.
    grown = [s for s in grown if not s.first.idempotency.calls] or grown
    if not grown:
        return []
    changes = "; ".join(_growth_of(s) for s in grown)
    return [f"{route}: the same calls on every repetition, but more read capacity on bigger data: {changes}"]


def _growth_of(s: Scenario) -> str:
    heaviest = s.heaviest
    first = f"{_units(s.first.request.read_units)} RCU"
    most = f"{_units(heaviest.request.read_units)} RCU"
    if s.loan_sizes:
        size = s.loan_sizes[s.samples.index(heaviest)]
        first += f" on a loan of {s.loan_sizes[0]}"
        most += f" on one of {size}"
    case = s.key
    return f"{case}: {first} -> {most} ({_operations(heaviest.request)})"


def _trouble(s: Scenario) -> list[str]:
    where = f"{s.route} {s.label}"
    notes = []
    if not s.same_calls:
        notes.append(
            f"{where}: not the same calls on every repetition: {sorted({x.request.operations for x in s.samples})}"
        )
    retries = sum(x.request.retries + x.idempotency.retries for x in s.samples)
    if retries:
        notes.append(f"{where}: botocore retried {retries} time(s) over {len(s.samples)} requests")
    # A replay's PutItem is refused by its condition: that is how Powertools finds the stored
    # response, so it is expected there and nowhere else.
    expected = {"ConditionalCheckFailedException"} if s.key.endswith("-replay") else set()
    errors = sorted(
        {e for x in s.samples for e in x.request.errors}
        | {e for x in s.samples for e in x.idempotency.errors if e not in expected}
    )
    if errors:
        notes.append(f"{where}: DynamoDB answered with {', '.join(errors)}")
    return notes
