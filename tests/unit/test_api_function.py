"""What every API function's module starts from (``lendbridge.http.app.ApiFunction``): services
built on first use only, and an entry point that runs each request through the front door with
the function's rate limiter."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types

from lendbridge.domain.rate_limits import RateLimiter
from lendbridge.http.app import ApiFunction
from tests.events import FakeContext, api_event, body_of, header_of


def test_services_are_built_on_the_first_request_that_needs_them_not_with_the_function() -> None:
    built: list[str] = []

    def build() -> str:
        built.append("services")
        return "the services"

    function = ApiFunction(build)
    assert built == []
    assert function.services.get() == "the services"
    assert function.services.get() == "the services"
    assert built == ["services"]


def test_the_entry_point_runs_the_request_through_the_front_door_with_the_limiter() -> None:
    asked: list[str] = []

    def limiter() -> RateLimiter | None:
        asked.append("limiter")
        return None

    function = ApiFunction(lambda: None, limiter)

    @function.app.get("/health/live")
    def live() -> Response[dict[str, str]]:
        return Response(200, content_types.APPLICATION_JSON, {"status": "alive"})

    answer = function.handler(api_event("GET", "/health/live"), FakeContext())
    assert (answer["statusCode"], body_of(answer)) == (200, {"status": "alive"})
    assert header_of(answer, "X-Request-Id")  # the front door's header: not the resolver's alone
    assert asked == ["limiter"]


def test_the_entry_point_logs_with_the_gateways_request_id_as_correlation_id() -> None:
    function = ApiFunction(lambda: None)

    @function.app.get("/health/live")
    def live() -> Response[dict[str, str]]:
        return Response(200, content_types.APPLICATION_JSON, {"status": "alive"})

    event = api_event("GET", "/health/live")
    function.handler(event, FakeContext())
    assert function.logger.get_correlation_id() == event["requestContext"]["requestId"]
