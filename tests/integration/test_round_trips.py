"""The round-trip regression gate: the benchmark's cases (``benchmarks.scenarios``), run through
the real handlers on DynamoDB Local, may not make more DynamoDB calls, read more items or
consume more capacity per request than ``make bench`` recorded in docs/benchmarks.json.

Only the deterministic figures are checked, never timings. The benchmark seeds its own data
(110 loans, loans of 50 participants), so it gets a DynamoDB Local of its own: the other
tests' tables stay as they expect them, and their data cannot change what a query reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from benchmarks.engine import Engine, dynamodb_client
from benchmarks.inprocess import InProcessApi
from benchmarks.meter import DynamoMeter
from benchmarks.recorded import RECORD, compare, load_record
from benchmarks.scenarios import Runner, seed
from benchmarks.seed import Seeder
from local.dynamodb_local import DynamoDBLocal
from local.template import Assembly, create_tables

pytestmark = pytest.mark.dynamodb

# The figures compared are the first request's (on data exactly as seeded) and the most round
# trips of any: one repetition per case measures them; the benchmark's 30 only firm up timings.
REPETITIONS = 2


@pytest.fixture(scope="module")
def bench_engine(dev_assembly: Assembly) -> Iterator[Engine]:
    with DynamoDBLocal() as process:
        tables = create_tables(process.client(), dev_assembly)
        yield Engine(process.endpoint, tables, dev_assembly.directory or RECORD.parent, False, process)


@pytest.fixture
def in_process_api(bench_engine: Engine) -> Iterator[InProcessApi]:
    """The benchmark's wiring of the handlers; their environment and services are put back after."""
    from lendbridge.handlers import lender as lender_handler
    from lendbridge.handlers import loans as loans_handler

    saved = dict(os.environ)
    try:
        yield InProcessApi(bench_engine, DynamoMeter())
    finally:
        os.environ.clear()
        os.environ.update(saved)
        loans_handler.services.reset()
        lender_handler.services.reset()


def test_no_request_makes_more_round_trips_or_reads_more_than_recorded(
    bench_engine: Engine, in_process_api: InProcessApi
) -> None:
    recorded = load_record()
    world = seed(Seeder(dynamodb_client(bench_engine.endpoint), bench_engine.tables), REPETITIONS, lambda _: None)
    scenarios = Runner(in_process_api, world, REPETITIONS).run_all(lambda _: None)

    regressions, improvements = compare(recorded, scenarios)

    assert not regressions, (
        f"DynamoDB cost per request above {RECORD.name} (run `make bench` to record an intended change):\n  "
        + "\n  ".join(regressions)
    )
    if improvements:
        # Not a failure: the record is a ceiling. Visible with -rP, and in the next `make bench`.
        print("cheaper than recorded (re-run `make bench` to record it):\n  " + "\n  ".join(improvements))
