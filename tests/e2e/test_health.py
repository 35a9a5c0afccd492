"""The health probes, through the gateway to the deployed health handler."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from local.stack import LocalLendbridge
from tests.e2e.support import UUID, Api


def test_live_answers_alive_with_a_generated_request_id(api: Api) -> None:
    response = api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert UUID.match(response.headers["X-Request-Id"])


def test_ready_checks_the_table_the_user_pool_and_the_bookings_dependencies(api: Api) -> None:
    response = api.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"dynamodb": "ok", "user_pool": "ok", "documents": "ok", "extraction_queue": "ok"},
        # The local stack cannot reach Bedrock: its extractor reads PDFs itself, and says so.
        "extraction_reader": "local",
    }


def test_concurrent_requests_are_served_by_at_most_the_pools_workers(api: Api, stack: LocalLendbridge) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.get("/health/live"), range(16)))
    assert [response.status_code for response in responses] == [200] * 16
    assert len({response.headers["X-Request-Id"] for response in responses}) == 16
    (health,) = [pool for pool in stack.pools.values() if pool.function.handler.endswith("health.handler")]
    # The pool's size comes from the function's reserved concurrency, capped by LOCAL_MAX_WORKERS.
    assert 1 <= len(health.pids()) <= health.size
