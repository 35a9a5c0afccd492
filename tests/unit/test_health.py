"""Liveness always answers; readiness names the failing dependency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lendbridge.handlers import health
from tests.events import FakeContext, api_event, body_of, header_of


@pytest.fixture
def probes() -> Iterator[dict[str, object]]:
    checks: dict[str, object] = {"dynamodb": lambda: None, "user_pool": lambda: None}
    health.probes.override(health.Probes(checks=checks))  # type: ignore[arg-type]
    yield checks
    health.probes.reset()


def test_live() -> None:
    response = health.handler(api_event("GET", "/health/live"), FakeContext())
    assert (response["statusCode"], body_of(response)) == (200, {"status": "alive"})


def test_ready_when_every_check_passes(probes: dict[str, object]) -> None:
    response = health.handler(api_event("GET", "/health/ready"), FakeContext())
    assert response["statusCode"] == 200
    assert body_of(response) == {"status": "ready", "checks": {"dynamodb": "ok", "user_pool": "ok"}}


def test_not_ready_names_the_failing_check(probes: dict[str, object]) -> None:
    def broken() -> None:
        raise ConnectionError("endpoint unreachable")

    probes["user_pool"] = broken
    response = health.handler(api_event("GET", "/health/ready"), FakeContext())
    body = body_of(response)
    assert response["statusCode"] == 503
    assert body["error"] == "SERVICE_UNAVAILABLE"
    assert body["message"] == "Not ready: user_pool"
    assert body["details"] == {"status": "not_ready", "checks": {"dynamodb": "ok", "user_pool": "failing"}}
    assert header_of(response, "Retry-After") == "10"
