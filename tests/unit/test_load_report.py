"""The load report's reading of locust's CSV and of the CPU samples (benchmarks/load.py, cpu.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import cpu, load

HEADER = (
    '"Type","Name","Request Count","Failure Count","Median Response Time","Average Response Time",'
    '"Min Response Time","Max Response Time","Average Content Size","Requests/s","Failures/s",'
    '"50%","66%","75%","80%","90%","95%","98%","99%","99.9%","99.99%","100%"\n'
)


def _level(
    users: int,
    cores: dict[str, float],
    peaks: dict[str, float],
    rps: float = 1.0,
    routes: list[load.Route] | None = None,
) -> load.Level:
    usage = cpu.Usage(seconds=10.0)
    for part, used in cores.items():
        usage.cpu_seconds[part] = used * 10.0
    usage.peak_process.update(peaks)
    total = load.Route("all requests", 10, 0, rps, "5", "9", "9")
    return load.Level(users, 10, routes or [], total, [], usage)


def test_locust_statistics_are_read_per_route_with_the_aggregate_apart(tmp_path: Path) -> None:
    (tmp_path / "users4_stats.csv").write_text(
        HEADER + '"GET","/v1/loans/my-loans","40","1","48","60","20","300","900","1.33","0.03",'
        '"48","55","60","70","90","140","200","250","300","300","300"\n'
        + '"","Aggregated","52","2","50","70","20","900","800","1.73","0.07",'
        '"50","60","70","80","100","400","800","880","900","900","900"\n'
    )

    routes, total = load._read_stats(tmp_path / "users4")

    assert routes == [load.Route("GET /v1/loans/my-loans", 40, 1, 1.33, "48", "140", "250", 60.0)]
    assert total == load.Route("all requests", 52, 2, 1.73, "50", "400", "880", 70.0)


def test_processes_are_told_apart_by_command_line() -> None:
    root = 100
    assert cpu.classify(100, root, "/x/python -m local.run") == cpu.GATEWAY
    assert cpu.classify(7, root, "/x/python -P /p/local/worker.py lendbridge.handlers.loans.handler") == cpu.HANDLERS
    assert cpu.classify(8, root, "java -Xmx512m -jar DynamoDBLocal.jar -inMemory") == cpu.DYNAMODB
    assert cpu.classify(9, root, "/x/python -m local.moto_server --port 5000") == cpu.MOTO
    assert cpu.classify(10, root, "/x/python /x/locust -f benchmarks/locustfile.py") == cpu.LOAD


def test_the_first_process_to_reach_a_core_is_named_at_the_lowest_level() -> None:
    levels = [
        _level(4, {cpu.HANDLERS: 0.5}, {cpu.HANDLERS: 0.6, cpu.LOAD: 1.0}),
        _level(16, {cpu.GATEWAY: 0.95, cpu.HANDLERS: 1.2}, {cpu.GATEWAY: 0.97, cpu.HANDLERS: 0.8}),
    ]

    verdict = load.saturation(levels)

    assert verdict.startswith(f"**{cpu.GATEWAY}**: at 16 users")  # locust's own core does not count


def test_without_a_full_core_the_largest_share_of_the_stack_is_named() -> None:
    levels = [_level(64, {cpu.GATEWAY: 0.2, cpu.HANDLERS: 0.9, cpu.DYNAMODB: 0.3}, {cpu.HANDLERS: 0.5})]

    verdict = load.saturation(levels)
    assert verdict.startswith("no single process reached a core and no function had more requests in flight")
    assert f"64% of it in {cpu.HANDLERS}" in verdict


def test_the_level_where_throughput_per_user_falls_is_named() -> None:
    levels = [
        _level(4, {cpu.HANDLERS: 0.1}, {}, rps=12.0),
        _level(16, {cpu.HANDLERS: 0.4}, {}, rps=46.0),
        _level(64, {cpu.HANDLERS: 0.8}, {}, rps=90.0),
    ]

    assert "stopped scaling between 16 and 64 users (2.88 -> 1.41 req/s per user)" in load.saturation(levels)


def test_a_function_with_more_requests_in_flight_than_workers_is_named_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_MAX_WORKERS", "4")
    pending = load.Route("GET /v1/lender/pending", 1000, 0, 25.0, "600", "900", "990", 640.0)
    my_loans = load.Route("GET /v1/loans/my-loans", 1000, 0, 25.0, "100", "300", "400", 120.0)
    quiet = _level(
        16, {cpu.HANDLERS: 0.3}, {}, routes=[load.Route("GET /v1/lender/pending", 9, 0, 5.0, "", "", "", 50.0)]
    )
    busy = _level(64, {cpu.HANDLERS: 0.5}, {}, routes=[pending, my_loans])

    assert load.in_flight(busy) == pytest.approx({"lender": 16.0, "loans": 3.0})
    verdict = load.saturation([quiet, busy])
    assert verdict.startswith(f"**{cpu.HANDLERS}**, the `lender` function's pool first: at 64 users about 16.0")


def test_handler_cpu_per_request_is_per_function() -> None:
    routes = [
        load.Route("GET /v1/lender/pending", 300, 0, 7.5, "", "", "", 10.0),
        load.Route("POST /v1/lender/invitations/{participant_id}/accept", 100, 0, 2.5, "", "", "", 10.0),
        load.Route("GET /v1/loans/my-loans", 200, 0, 5.0, "", "", "", 10.0),
    ]
    level = _level(16, {}, {}, routes=routes)
    level.usage.functions.update({"lender.handler": 2.0, "loans.handler": 1.0})

    assert load.worker_cpu_ms(level) == pytest.approx({"lender": 5.0, "loans": 5.0})
