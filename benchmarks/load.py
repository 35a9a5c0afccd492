"""``make load``: locust against the local API at 1, 4, 16 and 64 users; writes docs/load.md.

    .venv/bin/python -m benchmarks.load [--users 1,4,16,64] [--seconds 40] [--url URL] [--output docs/load.md]

Without ``--url`` (or ``LOAD_URL``) it starts the local stack as ``make run`` does (warm
workers, ``LOCAL_MAX_WORKERS`` per function) on a free loopback port and stops it at the end;
with one, it drives that running ``make run`` and measures the processes behind its port. Only
loopback URLs are accepted. Every level is bounded by users and seconds; locust runs headless in
its own process (``LOCUST_BIN`` overrides which), and CPU per part of the stack is sampled from
/proc meanwhile (benchmarks/cpu.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlparse

from benchmarks import PROJECT_ROOT
from benchmarks.cpu import GATEWAY, HANDLERS, LOAD, OTHER, PARTS, Sampler, Usage

DEFAULT_USERS = (1, 4, 16, 64)
DEFAULT_SECONDS = 40
DEFAULT_THINK = "0.1,0.5"
DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "load.md"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
FUNCTIONS_SHOWN = ("accounts", "loans", "lender")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# A single Python process cannot use more than one core for Python code.
ONE_CORE = 0.9
_STARTED = time.monotonic()


def progress(message: str) -> None:
    sys.stderr.write(f"[load {time.monotonic() - _STARTED:5.1f}s] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class Route:
    name: str
    requests: int
    failures: int
    rps: float
    p50: str
    p95: str
    p99: str
    mean_ms: float = 0.0


@dataclass(frozen=True)
class Level:
    users: int
    seconds: int
    routes: list[Route]
    total: Route
    errors: list[tuple[str, str, int]]
    usage: Usage


def max_workers() -> int:
    """Worker processes per function, as ``make run`` reads it."""
    return int(os.environ.get("LOCAL_MAX_WORKERS", "4"))


def in_flight(level: Level) -> dict[str, float]:
    """Requests in flight per function, by Little's law (throughput x mean latency): above the
    function's worker count, requests wait in the gateway for a free worker."""
    from lendbridge.routes import ROUTES

    function_of = {f"{route.method} {route.path}": route.function for route in ROUTES}
    busy: dict[str, float] = {}
    for route in level.routes:
        function = function_of.get(route.name, "unknown")
        busy[function] = busy.get(function, 0.0) + route.rps * route.mean_ms / 1000
    return busy


def worker_cpu_ms(level: Level) -> dict[str, float]:
    """Handler CPU per request for each function: set against the worker time a request holds,
    it tells a pool that is busy computing from one that is waiting (on DynamoDB Local, moto, or
    a CPU the machine cannot give)."""
    from lendbridge.routes import ROUTES

    function_of = {f"{route.method} {route.path}": route.function for route in ROUTES}
    requests: dict[str, int] = {}
    for route in level.routes:
        name = function_of.get(route.name, "unknown")
        requests[name] = requests.get(name, 0) + route.requests
    return {
        name: level.usage.functions.get(f"{name}.handler", 0.0) * 1000 / count
        for name, count in requests.items()
        if count
    }


def locust_binary() -> str:
    return os.environ.get("LOCUST_BIN") or str(Path(sys.executable).parent / "locust")


def _read_stats(prefix: Path) -> tuple[list[Route], Route]:
    routes, total = [], None
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            aggregate = row["Name"] == "Aggregated"
            route = Route(
                name="all requests" if aggregate else f"{row['Type']} {row['Name']}",
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50=row["50%"],
                p95=row["95%"],
                p99=row["99%"],
                mean_ms=float(row["Average Response Time"]),
            )
            if aggregate:
                total = route
            else:
                routes.append(route)
    if total is None:
        raise RuntimeError(f"locust wrote no aggregate row to {prefix}_stats.csv")
    return routes, total


def _read_errors(prefix: Path) -> list[tuple[str, str, int]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(f"{row['Method']} {row['Name']}", row["Error"], int(row["Occurrences"])) for row in rows]


def run_level(url: str, users: int, seconds: int, root: int, scratch: Path, think: str) -> Level:
    prefix = scratch / f"users{users}"
    command = [
        locust_binary(),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(min(users, 16)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    progress(f"{users} users for {seconds} s")
    with Sampler(root) as sampler:
        finished = subprocess.run(  # noqa: S603 - the pinned locust, fixed argv, no shell
            command,
            env={**os.environ, "LOAD_THINK": think},
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
    if finished.returncode != 0:
        raise RuntimeError(f"locust failed ({finished.returncode}):\n{finished.stderr[-3000:]}")
    routes, total = _read_stats(prefix)
    return Level(users, seconds, routes, total, _read_errors(prefix), sampler.usage)


def _listener_pid(port: int) -> int:
    """The process listening on a loopback TCP port (``make run``'s stack process)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    return int(entry.name)
        except OSError:
            continue
    raise SystemExit(f"nothing of ours listens on port {port}: start `make run` or omit --url")


@contextmanager
def target(url: str | None) -> Iterator[tuple[str, int]]:
    """(base URL, pid of the stack process): the given ``make run``, or a stack started here."""
    if url:
        parsed = urlparse(url)
        if parsed.hostname not in LOOPBACK:
            raise SystemExit(f"{url}: only loopback URLs are load-tested")
        yield url.rstrip("/"), _listener_pid(parsed.port or 80)
        return
    from local.net import free_port
    from local.stack import LocalLendbridge

    log_path = PROJECT_ROOT / ".local" / "load-stack.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            log_file.write(line + "\n")

        progress(f"starting the local stack (its log: {log_path.relative_to(PROJECT_ROOT)})")
        stack = LocalLendbridge(
            api_port=free_port(),
            log=log,
            reload_code=False,
            max_workers=max_workers(),
        )
        with stack:
            progress(f"stack ready in {stack.startup_seconds:.1f} s on {stack.api_url}")
            yield stack.api_url, os.getpid()


def _git(*args: str) -> str:
    # git from PATH, fixed argv, no shell
    done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)  # noqa: S603,S607
    return done.stdout.strip() or "unknown"


def saturation(levels: list[Level]) -> str:
    """The part that reaches its ceiling at the lowest level: one core for a single process
    (a Python process cannot use more), or a function's worker pool (more requests in flight
    than workers); failing both, the part with the largest share of the stack's CPU."""
    workers = max_workers()
    for level in levels:
        usage = level.usage
        for part in PARTS:
            if part not in (LOAD, OTHER) and usage.peak_process[part] >= ONE_CORE:
                return (
                    f"**{part}**: at {level.users} users its busiest process used "
                    f"{usage.peak_process[part]:.0%} of a core in a one-second sample "
                    f"(average {usage.cores_used(part):.2f} cores over the run). {_scaling(levels)}"
                )
        full = {name: count for name, count in in_flight(level).items() if count >= workers}
        if full:
            name, count = max(full.items(), key=lambda item: item[1])
            return (
                f"**{HANDLERS}**, the `{name}` function's pool first: at {level.users} users about "
                f"{count:.1f} of its requests were in flight for {workers} workers (throughput x mean "
                f"latency), so requests queued for a worker while no single process used a full core. "
                f"{_scaling(levels)} {_cpu_note(levels[-1])}"
            )
    top = levels[-1].usage
    busiest = max((part for part in PARTS if part not in (LOAD, OTHER)), key=top.cores_used)
    return (
        f"no single process reached a core and no function had more requests in flight than workers. "
        f"{_scaling(levels)} {_cpu_note(levels[-1])} The machine's cores run out first; within the stack "
        f"{busiest} needs them most."
    )


def _cpu_note(level: Level) -> str:
    usage = level.usage
    stack_parts = [part for part in PARTS if part not in (LOAD, OTHER)]
    used = sum(usage.cores_used(part) for part in stack_parts)
    busiest = max(stack_parts, key=usage.cores_used)
    share = usage.cores_used(busiest) / used if used else 0.0
    return (
        f"At {level.users} users the stack used {used:.2f} of {usage.cores} cores, {share:.0%} of it in "
        f"{busiest}, and the machine was {usage.machine_busy:.0%} busy (load average {usage.load_average:.1f}, "
        "other work included)."
    )


def _scaling(levels: list[Level]) -> str:
    """Where throughput per user fell by a quarter or more from one level to the next."""
    for previous, level in pairwise(levels):
        before, after = previous.total.rps / previous.users, level.total.rps / level.users
        if before and after < 0.75 * before:
            return (
                f"Throughput stopped scaling between {previous.users} and {level.users} users "
                f"({before:.2f} -> {after:.2f} req/s per user)."
            )
    return "Throughput per user held up to the last level (the offered load never exceeded what was served)."


def render(levels: list[Level], url: str, started_stack: bool, think: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") not in ("", "unknown") else ""
    lines = [
        "# Load profile of the local stack",
        "",
        "Written by `make load` (`benchmarks/load.py`, profile in `benchmarks/locustfile.py`). Re-run it to",
        "refresh this page; `LOAD_USERS=1,4 LOAD_SECONDS=20 make load` for a quicker look, `LOAD_URL=http://127.0.0.1:3000",
        "make load` to drive a running `make run`. Not part of `make test`.",
        "",
        f"- Measured {stamp} on commit `{commit}`{dirty}, "
        f"{'a local stack started by the run' if started_stack else url}, "
        f"{levels[0].usage.cores} cores (shared: other work on the machine shows in the machine busy column).",
        "- This is the current local server: the stand-in gateway's concurrency (listen backlog,",
        "  TCP_NODELAY, worker pools) is being reworked on another branch; re-run after it lands.",
        "- The local stack is a development tool, not the deployed API: API Gateway, Lambda and DynamoDB",
        "  scale differently. The numbers rank the local parts and catch regressions in them.",
        "- Mix per member: register and log in once, then create a loan inviting two other members (1/9),",
        "  read my loans (3/9), read pending invitations (3/9), accept one with valid ACH details (2/9);",
        f"  think time {think.replace(',', '-')} s (`LOAD_THINK`). At one user nobody else can be invited, so",
        "  nothing is accepted.",
        "",
        "## Summary",
        "",
        "| users | seconds | requests | req/s | req/s per user | p50 ms | p95 ms | p99 ms | errors | machine busy "
        "| load avg | listen overflows |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        total = level.total
        lines.append(
            f"| {level.users} | {level.seconds} | {total.requests} | {total.rps:.1f} | {total.rps / level.users:.2f} "
            f"| {total.p50} | {total.p95} "
            f"| {total.p99} | {total.failures} | {level.usage.machine_busy:.0%} | {level.usage.load_average:.1f} "
            f"| {level.usage.listen_overflows} |"
        )
    lines += [
        "",
        "Listen overflows: connections the kernel refused because an accept queue was full during the level",
        "(machine-wide; the gateway listens with the standard library's backlog of 5). A client sees them as",
        "connection resets or slow connects.",
        "",
        f"**Saturates first:** {saturation(levels)}",
        "",
    ]
    lines += [
        "## CPU per part (cores used on average; busiest single process in a one-second sample)",
        "",
        "| users | " + " | ".join(PARTS) + " |",
        "|---:|" + "---:|" * len(PARTS),
    ]
    for level in levels:
        cells = [f"{level.usage.cores_used(p):.2f} ({level.usage.peak_process[p]:.0%})" for p in PARTS]
        lines.append(f"| {level.users} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{GATEWAY}: the `make run` process (HTTP server, authorizer, proxy events, stream pumps). "
        f"{HANDLERS}: one process per warm function instance, `LOCAL_MAX_WORKERS` per function.",
        "",
        f"Requests in flight per function (throughput x mean latency; each function has {max_workers()} "
        "workers, so more means requests waited for one):",
        "",
        "| users | " + " | ".join(FUNCTIONS_SHOWN) + " |",
        "|---:|" + "---:|" * len(FUNCTIONS_SHOWN),
        *[
            f"| {level.users} | "
            + " | ".join(f"{in_flight(level).get(name, 0.0):.1f}" for name in FUNCTIONS_SHOWN)
            + " |"
            for level in levels
        ],
        "",
        "Handler CPU per request, ms (the rest of the time a request holds a worker is waiting):",
        "",
        "| users | " + " | ".join(FUNCTIONS_SHOWN) + " |",
        "|---:|" + "---:|" * len(FUNCTIONS_SHOWN),
        *[
            f"| {level.users} | "
            + " | ".join(f"{worker_cpu_ms(level).get(name, 0.0):.1f}" for name in FUNCTIONS_SHOWN)
            + " |"
            for level in levels
        ],
        "",
        "Handler CPU seconds per function: "
        + "; ".join(
            f"{level.users} users: "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(level.usage.functions.items()))
            for level in levels
        ),
        "",
    ]
    for level in levels:
        lines += [
            f"## {level.users} user{'s' if level.users != 1 else ''}",
            "",
            "| route | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for route in [*level.routes, level.total]:
            lines.append(
                f"| {route.name} | {route.requests} | {route.rps:.1f} | {route.p50} | {route.p95} | {route.p99} "
                f"| {route.failures} |"
            )
        if level.errors:
            lines += ["", "Errors:", ""]
            lines += [f"- {name}: {error} ({count}x)" for name, error, count in level.errors]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default=os.environ.get("LOAD_USERS", ",".join(map(str, DEFAULT_USERS))))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("LOAD_SECONDS", DEFAULT_SECONDS)))
    parser.add_argument("--url", default=os.environ.get("LOAD_URL"))
    parser.add_argument("--think", default=os.environ.get("LOAD_THINK", DEFAULT_THINK), help="min,max seconds")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    user_levels = [int(value) for value in args.users.split(",") if value.strip()]
    if not Path(locust_binary()).exists():
        raise SystemExit(f"locust is not installed at {locust_binary()}: run `make install`")
    if not 0 < args.seconds <= 120 or not user_levels or max(user_levels) > 64:
        raise SystemExit("bounded runs only: 1-120 seconds per level and at most 64 users")
    levels = []
    with tempfile.TemporaryDirectory(prefix="lendbridge-load-") as scratch, target(args.url) as (url, root):
        for users in user_levels:
            level = run_level(url, users, args.seconds, root, Path(scratch), args.think)
            total = level.total
            progress(f"{users} users: {total.rps:.1f} req/s, p95 {total.p95} ms, {total.failures} errors")
            levels.append(level)
    args.output.write_text(render(levels, url, started_stack=not args.url, think=args.think))
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
