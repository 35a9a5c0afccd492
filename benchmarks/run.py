"""``make bench``: seed DynamoDB Local, drive the real handlers, print and record the results.

    .venv/bin/python -m benchmarks.run [--repetitions 30] [--no-http] [--output docs/benchmarks.md]

Besides the markdown report it writes the round-trip figures beside it (docs/benchmarks.json),
which tests/integration/test_round_trips.py holds every later run to.

Every process started here (DynamoDB Local, and the local stack's services when measured over
HTTP) is stopped before it returns, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from benchmarks import PROJECT_ROOT, cold_start
from benchmarks.costs import comparisons, cost_table, price_note
from benchmarks.docs import headline, page_calls, render, write
from benchmarks.engine import ASSEMBLY_ENV, dynamodb_client, dynamodb_engine
from benchmarks.http_api import HttpOutcome, measure_over_http
from benchmarks.inprocess import InProcessApi
from benchmarks.meter import DynamoMeter
from benchmarks.rate_limits import measure_rate_limits, print_section, render_section
from benchmarks.recorded import render_record
from benchmarks.report import RunInfo, anomalies, latency_table, round_trip_table
from benchmarks.samples import Scenario
from benchmarks.scenarios import Runner, seed
from benchmarks.seed import Seeder

DEFAULT_REPETITIONS = 30
DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "benchmarks.md"
_STARTED = time.monotonic()


def progress(message: str) -> None:
    # Progress goes to stderr so stdout carries only the results.
    sys.stderr.write(f"[bench {time.monotonic() - _STARTED:5.1f}s] {message}\n")
    sys.stderr.flush()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=DEFAULT_REPETITIONS, help="requests per case (default 30)")
    parser.add_argument("--no-http", action="store_true", help="skip the latency through the local HTTP API")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown report (default docs/)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the markdown report alone")
    options = parser.parse_args(argv)
    if options.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return options


def command_line(argv: list[str] | None) -> str:
    given = sys.argv[1:] if argv is None else argv
    return " ".join([".venv/bin/python -m benchmarks.run", *given]) if given else "make bench"


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    # SIGTERM unwinds like Ctrl-C, through every context manager that stops a process.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    # Latency on a shared machine means little without how busy it was.
    load_before = os.getloadavg()[0]
    progress("starting DynamoDB Local" + ("" if os.environ.get(ASSEMBLY_ENV) else " and synthesizing the dev stage"))
    with dynamodb_engine() as engine:
        progress(f"DynamoDB Local at {engine.endpoint}; seeding through the domain layer")
        world = seed(Seeder(dynamodb_client(engine.endpoint), engine.tables), options.repetitions, progress)
        meter = DynamoMeter()
        api = InProcessApi(engine, meter)
        scenarios = Runner(api, world, options.repetitions).run_all(progress)
        cold = cold_start.measure(engine, cold_start.DEFAULT_RUNS, progress)
        limiter = measure_rate_limits(api, meter, engine, world, options.repetitions, progress)
        engine.stop()
        if options.no_http:
            http = HttpOutcome(False, "skipped with --no-http", [])
        else:
            # After the in-process runs, with their DynamoDB Local stopped: the local stack
            # starts its own, and nothing else competes for the cores.
            http = measure_over_http(engine.assembly_dir, options.repetitions, progress)
            if not http.available:
                progress(f"no HTTP latency: {http.note}")
    info = RunInfo(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=command_line(argv),
        repetitions=options.repetitions,
        machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end",
        seconds=time.monotonic() - started,
        assembly="dev stage synthesized for this run" if engine.synthesized else f"assembly from {ASSEMBLY_ENV}",
    )
    print_results(info, scenarios, http)
    print(f"\n{cold_start.render_section(cold, info.command)}")
    print_section(limiter)
    if not options.no_write:
        limiter_section = render_section(limiter, options.repetitions, info.command)
        cold_section = cold_start.render_section(cold, info.command)
        write(options.output, f"{render(info, scenarios, http)}\n{cold_section}\n{limiter_section}")
        # The same measurements, machine-readable: the round-trip gate of `make test` reads them.
        record = options.output.with_suffix(".json")
        write(record, render_record(scenarios, f"{info.date} with `{info.command}`"))
        progress(f"wrote {options.output} and {record}")
    return 0


def print_results(info: RunInfo, scenarios: Sequence[Scenario], http: HttpOutcome) -> None:
    print(f"\nLendbridge benchmark, {info.date}: DynamoDB round trips and consumed capacity per request\n")
    print(round_trip_table(scenarios))
    print()
    print(latency_table(scenarios, http))
    print("\nDollars per 1,000 requests:\n")
    print(cost_table(scenarios))
    print(f"\n{price_note()}")
    print("\nAgainst the client's old system:")
    for line in headline(scenarios) + page_calls(scenarios) + comparisons(scenarios):
        print(f"  {line}")
    notes = anomalies(scenarios)
    print("\nFindings:" if notes else "\nFindings: every case met its target; no retries, no unexpected errors.")
    for note in notes:
        print(f"  - {note}")
    print(f"\n({info.repetitions} repetitions per case, {info.seconds:.0f} s, {info.machine})")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        progress("interrupted; every process started here has been stopped")
        sys.exit(130)
