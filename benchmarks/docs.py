"""docs/benchmarks.md, rewritten from the measurements of each run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from benchmarks.costs import comparisons, cost_table, price_note
from benchmarks.http_api import HttpOutcome
from benchmarks.meter import Call
from benchmarks.plan import EXISTING_PARTICIPANTS, MAX_GROWTH
from benchmarks.report import MB, RunInfo, anomalies, latency_table, round_trip_table
from benchmarks.samples import Scenario

REFERENCE_SIZE = 10  # the client's reference case: 10 new lenders


def headline(scenarios: Sequence[Scenario]) -> list[str]:
    """The comparisons with the client's old system, in one sentence each."""
    lines = []
    by_key = {s.key: s for s in scenarios}
    reference = by_key.get("my-loans-10")
    if reference is not None and reference.client_old:
        calls = reference.worst().request.calls
        lines.append(
            f"my-loans, 10 loans x 3 lenders: {reference.client_old} -> {calls} DynamoDB round trips "
            f"({reference.client_old / calls:.1f}x fewer than the client's old system)"
        )
    plain, keyed = by_key.get("add-lenders-10"), by_key.get("add-lenders-10-key")
    if plain is not None and plain.client_old:
        calls = plain.worst().request.calls
        line = (
            f"add-lenders, 10 new lenders on a loan with 50: {plain.client_old} -> {calls} round trips "
            f"({plain.client_old / calls:.1f}x fewer)"
        )
        if keyed is not None:
            total = keyed.worst().request.calls + keyed.worst().idempotency.calls
            line += (
                f"; {total} with an Idempotency-Key, the store's calls included ({plain.client_old / total:.1f}x fewer)"
            )
        lines.append(line)
    return lines


def page_calls(scenarios: Sequence[Scenario]) -> list[str]:
    """my-loans: one call per MB of what the page read, at least one (the issue's limit)."""
    pages = [s for s in scenarios if s.route == "GET /v1/loans/my-loans"]
    if not pages:
        return []
    off = [
        f"{s.label}: {s.worst().request.calls} calls for {s.first.request.bytes_read / MB:.2f} MB"
        for s in pages
        if s.worst().request.calls != max(1, math.ceil(s.first.request.bytes_read / MB))
    ]
    if off:
        return ["my-loans pages above one call per MB read: " + "; ".join(off)]
    return [
        f"my-loans: every measured page ({len(pages)} cases, up to "
        f"{max(s.first.request.bytes_read for s in pages) / MB:.2f} MB) made ceil(MB read) calls, 1 up to 1 MB"
    ]


def add_lenders_calls(scenarios: Sequence[Scenario]) -> list[str]:
    """What each add-lenders call does, spelled out when the calls have the shape the code had
    when this was written (so a changed data layer is never described with stale words)."""
    scenario = next((s for s in scenarios if s.key == f"add-lenders-{REFERENCE_SIZE}"), None)
    if scenario is None:
        return []
    calls = scenario.first.request
    if calls.operations != ("BatchGetItem", "TransactWriteItems", "Query"):
        return []
    query = calls.detail[2]
    return [
        f"add-lenders (k={REFERENCE_SIZE}, loan with {EXISTING_PARTICIPANTS}) makes these calls: "
        f"1. {calls.described[0]}: the loan, each new email's invitee guard on the loan and each email's user "
        f"lookup, strongly consistent. 2. {calls.described[1]}: the loan's conditional update (running totals "
        "moved by DynamoDB under `remaining >= :added`), per lender its participant, invitee guard and audit "
        f"entry, and the loan's audit entry. 3. {query.describe()}: `Lending.add_lenders` re-reads the loan with "
        "`store.get`, which queries the loan's whole item collection (the loan and every participant), although "
        "the response only shows the loan's `total_invited` and `remaining_amount`.",
        "That last Query is why add-lenders' read capacity grows with the loan (the RCU ranges above: "
        "repetitions grow their loans). A strongly consistent GetItem of the loan item alone would cost 1 RCU "
        f"(an item under 4 KB) whatever the loan's size (this Query: {query.read_units:g} RCU for {query.items} "
        f"items). A Query page stops at 1 MB, so from roughly {_page_limit(query)} participants on the re-read "
        "needs a second page: a fourth round trip, and a fifth past twice that. Not changed here (the benchmark "
        "owns no application code); reported.",
    ]


def _page_limit(query: Call) -> str:
    """Items per 1 MB page, from the measured Query (RCU x 4 KB bounds the bytes it read from
    above, so this is a conservative count)."""
    if not query.items or not query.read_units:
        return "a thousand"
    bytes_per_item = query.read_units * 4096 / query.items
    return f"{int(1024 * 1024 / bytes_per_item):,}"


def render(info: RunInfo, scenarios: Sequence[Scenario], http: HttpOutcome) -> str:
    notes = anomalies(scenarios) + add_lenders_calls(scenarios)
    parts = [
        "# Benchmarks: DynamoDB round trips, consumed capacity and latency per request",
        "",
        f"Measured on {info.date} with `{info.command}` ({info.machine}; {info.repetitions} repetitions per case; "
        f"whole run {info.seconds:.0f} s; {info.assembly}). This file is rewritten by every run.",
        "",
        "## Against the client's old system",
        "",
        *[f"- {line}" for line in headline(scenarios) + page_calls(scenarios) + comparisons(scenarios)],
        "- The client's reports give numbers for these two cases only. Their my-loans made one participants "
        "query per loan (1 + N + 2 calls by their own count), so at least N + 3 calls for a page of N; here a "
        "page is 1 Query while the items it returns fit in DynamoDB's 1 MB per call, one more per further MB "
        "(the my-loans rows below).",
        "",
        "## Dollars per 1,000 requests",
        "",
        price_note(),
        "RRU/WRU are the 'AWS >=' columns of the next table (the idempotency store's included where a key is "
        "sent). API Gateway's fee is per request and the same for any design behind a REST API, so the "
        "comparison with the client is made with and without it.",
        "",
        cost_table(scenarios),
        "",
        "## Round trips and consumed capacity per request",
        "",
        "Round trips are the route's own DynamoDB API calls (main and audit tables); the Powertools",
        "idempotency store's calls (its own table, only with an `Idempotency-Key` header) are in the",
        "last column. RCU/WCU are summed from `ConsumedCapacity` as DynamoDB Local reports it.",
        "The same figures are in `docs/benchmarks.json` (written by the same run): `make test` re-runs",
        "these cases (`tests/integration/test_round_trips.py`) and fails when a request makes more round",
        "trips, reads more items or consumes more capacity than recorded there. After an intended change,",
        "`make bench` records the new figures.",
        "",
        round_trip_table(scenarios),
        "",
        "## Latency",
        "",
        latency_table(scenarios, http),
        "",
        "## Findings",
        "",
        *([f"- {note}" for note in notes] or ["- Every case met its target; no retries, no unexpected errors."]),
        "",
        "## How it is measured",
        "",
        "- DynamoDB Local (in memory) with every table created from the synthesized dev template "
        "(`local.synth.synthesize`, `local.template.create_tables`); `LENDBRIDGE_ASSEMBLY_DIR` reuses a cdk.out.",
        "- Data is seeded through the domain and data layer (`Lending` on `DynamoLoanStore`, "
        "`DynamoUserStore`): loans, participants, invitee guards and audit entries as the API writes them. "
        "Bank details are never sealed by these routes; a stand-in vault replaces KMS.",
        "- Requests go through the real Lambda handlers (`lendbridge.handlers.loans.handler`, "
        "`lendbridge.handlers.lender.handler`) with API Gateway proxy events carrying authorizer claims. "
        "Their services are `build_lending_services(make_client=...)`, whose DynamoDB client carries the meter; "
        "the idempotency store shares that client.",
        '- The pagination signing key is a constant (`SignedCursors(lambda: b"bench-key", utc_now)`) instead '
        "of the Secrets Manager secret, and so is the idempotency fingerprint key: there is no Secrets Manager "
        "next to DynamoDB Local, and neither key touches DynamoDB.",
        "- Counting uses botocore's event system on that client: `provide-client-params.dynamodb.*` adds "
        "`ReturnConsumedCapacity=TOTAL` to every operation that takes it and notes the tables a call touches; "
        "`after-call.dynamodb.*` records each API call once (after botocore's own retries, which are reported "
        "separately from `ResponseMetadata.RetryAttempts`). Calls whose tables are all the idempotency table are "
        "the store's.",
        "- Capacity: DynamoDB Local computes Query capacity from the bytes read, as AWS does, but reports far "
        "too little for transactions and batch reads: a TransactWriteItems reports a few units per table "
        "whatever its number of actions (10 one-attribute puts report 2.0), and a BatchGetItem charges nothing "
        "for keys that find no item, which AWS charges as reads (most invitee guards and new emails). The "
        "'AWS >=' columns take, per call, the larger of DynamoDB Local's figure and what AWS's pricing "
        "rules charge for the items involved: reads from the items each response carried (a Query's total "
        "rounded up to 4 KB, a key read per item and a missing key as one read; half for eventually "
        "consistent reads), writes from the larger of each item as stored before and after the write "
        "(2 units per KB per item in a transaction), plus the index entries each write put, deleted or "
        "changed, as AWS's rules for global secondary indexes charge them (an entry put or deleted is one "
        "write, a moved index key two, a changed projected attribute one; 1 unit per KB of the entry, not "
        "doubled in a transaction, the least AWS bills). DynamoDB Local reports no index writes at all.",
        "- Items read and MB read are what the route's read calls returned (MB = 1,048,576 bytes, DynamoDB's "
        "page limit), sized with DynamoDB's documented item-size rules (`benchmarks.meter.item_size`).",
        "- The sized cases (`benchmarks/sizes.py`): loans of 10, 50 and 100 participants (and 220: 100 live, "
        "120 declined) written in bulk with the data layer's item builders on state the domain computed; "
        "PATCH and withdraw each run on loans of every size, so 'Items read' shows whether a read grows with "
        "the loan.",
        f"- add-lenders: each k has a few loans seeded with exactly {EXISTING_PARTICIPANTS} participants; requests "
        f"go round-robin over them, plain and keyed alternating, so no loan grows by more than {MAX_GROWTH} "
        "(the latency table's 'Loan participants' column shows what the requests met). Round trips are the "
        "most any repetition made (`(varies)` if they differ); capacity is the first request's, on a loan of "
        "exactly 50, and `a -> b` gives the heaviest repetition's where it differs. Half of each request's "
        "lenders are registered users, half new emails.",
        "- Latency is wall time around the handler call, after one warm-up request per route (no cold starts); "
        "percentiles are nearest-rank. DynamoDB Local is a JVM on the same machine: absolute times are not AWS "
        "times, the round-trip counts are the same.",
        "- Over HTTP (when `local/stack.py` is present): `local.stack.LocalLendbridge` from the same assembly, its own "
        "DynamoDB Local and moto; the caller registers and logs in through the API and sends the access token; "
        "each request crosses the API Gateway stand-in (route, Cognito JWT check) and a warm function worker "
        "process. Round trips are not counted there (other processes); latency only, on one keep-alive connection.",
        "- Not measured: the main table's stream consumer (version history, funding points) runs after the "
        "request, asynchronously; its writes (a version item and at most one funding point per loan change) "
        "are billed but not in these figures.",
        "",
    ]
    if not http.available:
        parts += [f"HTTP latency was not measured: {http.note.splitlines()[0]}.", ""]
    return "\n".join(parts)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
