"""The local API's HTTP front door under the load a browser, a test suite or a small load test
gives it: many connections at once, and many requests on one kept-alive connection.

The first two put a stand-in application behind it, so they measure the server alone; the last
ones go through the whole local stack. Loopback only."""

from __future__ import annotations

import http.client
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from local.events import HttpRequest, HttpResponse
from local.http_server import HttpServer
from local.net import free_port
from local.stack import LocalLendbridge
from local.workers import DEFAULT_MAX_WORKERS

CONNECTIONS = 100
# Nagle's algorithm meeting a delayed ACK holds the second send of a response for ~40 ms on
# Linux loopback; without it a request to the stand-in takes well under a millisecond. The bound
# sits between the two with room for a busy machine.
KEEP_ALIVE_BOUND_MS = 20.0


def slow_enough(request: HttpRequest) -> HttpResponse:
    """About what a warm health check costs, so connections pile up as they do in real use."""
    time.sleep(0.005)
    return HttpResponse(200, [("Content-Type", "application/json")], b'{"status": "alive"}')


@pytest.fixture
def server() -> Iterator[HttpServer]:
    running = HttpServer(free_port(), slow_enough).start()
    yield running
    running.stop()


def one_request(port: int, start: threading.Event, outcomes: list[tuple[str, float]]) -> None:
    start.wait()
    began = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        outcome = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as error:
        outcome = type(error).__name__
    outcomes.append((outcome, (time.monotonic() - began) * 1000))


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_methods_the_api_never_defines_reach_the_application_instead_of_a_501(server: HttpServer, method: str) -> None:
    """The base HTTP server answered these 501 by itself (a 5xx, found by contract fuzzing);
    API Gateway answers them like any method a resource does not define."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(method, "/health/live")
    answered = connection.getresponse()
    assert (answered.status, answered.read()) == (200, b'{"status": "alive"}')
    connection.close()


def test_a_hundred_concurrent_connections_all_get_answers(server: HttpServer) -> None:
    outcomes: list[tuple[str, float]] = []
    start = threading.Event()
    threads = [threading.Thread(target=one_request, args=(server.port, start, outcomes)) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeout=60)

    statuses = [status for status, _ in outcomes]
    assert statuses.count("HTTP/1.1 200 OK") == CONNECTIONS, sorted(set(statuses))
    latencies = sorted(ms for _, ms in outcomes)
    p99 = latencies[int(0.99 * len(latencies)) - 1]
    p50 = statistics.median(latencies)
    print(f"{CONNECTIONS} concurrent connections: 0 resets, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    # A refused SYN is retried after a second: no connection may wait for that.
    assert p99 < 1000, latencies[-5:]


def test_requests_on_a_kept_alive_connection_are_not_held_by_nagle(server: HttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    timings = []
    try:
        for _ in range(20):
            began = time.monotonic()
            connection.request("GET", "/health/live")
            response = connection.getresponse()
            assert response.read() == b'{"status": "alive"}'
            timings.append((time.monotonic() - began) * 1000 - 5)  # less the stand-in's own sleep
    finally:
        connection.close()
    per_request = statistics.median(timings)
    print(f"keep-alive: {per_request:.2f} ms per request (median of 20)")
    assert per_request < KEEP_ALIVE_BOUND_MS, timings


def test_the_whole_stack_answers_a_hundred_concurrent_connections(stack: LocalLendbridge) -> None:
    """Through the gateway to the health function's workers, sized from the template."""
    outcomes: list[tuple[str, float]] = []
    start = threading.Event()
    threads = [threading.Thread(target=one_request, args=(stack.api_port, start, outcomes)) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeout=120)

    statuses = [status for status, _ in outcomes]
    assert statuses.count("HTTP/1.1 200 OK") == CONNECTIONS, sorted(set(statuses))
    latencies = sorted(ms for _, ms in outcomes)
    p50, p99 = statistics.median(latencies), latencies[98]
    print(f"stack, {CONNECTIONS} concurrent /health/live: 0 resets, p50 {p50:.0f} ms, p99 {p99:.0f} ms")


def test_each_function_runs_as_many_workers_as_its_template_reserves(stack: LocalLendbridge) -> None:
    for (stack_name, logical_id), pool in stack.pools.items():
        reserved = stack.assembly.resource(stack_name, logical_id)["Properties"].get("ReservedConcurrentExecutions")
        expected = DEFAULT_MAX_WORKERS if reserved is None else max(1, min(int(reserved), DEFAULT_MAX_WORKERS))
        assert pool.size == expected, (logical_id, reserved)
