"""The front door on a freshly built resolver (handler modules build theirs at import), rule by
rule: what a request says about itself (its id, caller, client), what every answer and log line
carries, how the latency is measured, how refusals name their fields and request id, and what
the resolver's settings (codec, broken-response status, keyed routes) guarantee."""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

import lendbridge.handlers.accounts  # noqa: F401 - its Logger is the parent of the front door's child logger
from lendbridge import errors
from lendbridge.domain.ports import Actor
from lendbridge.http import answer, current, envelope
from lendbridge.http import app as front_door
from lendbridge.http.conditional import if_match_versions, stop_if_current
from lendbridge.http.errors import PreparedResponse, field_errors_of
from lendbridge.http.idempotency import Idempotency, IdempotentRoutes
from lendbridge.http.request_context import header, request_id_of
from lendbridge.lazy import Lazy
from tests.events import FakeContext, api_event, body_of
from tests.unit.test_idempotent_routes import MemoryPersistence


def serve(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    return front_door.serve(app, event, FakeContext())


# ---- what a request says about itself --------------------------------------------------------


def test_the_actor_of_a_request_is_its_caller_request_id_source_ip_and_user_agent() -> None:
    app = front_door.build_app()
    seen: list[Actor] = []

    @app.get("/whoami")
    def whoami() -> Response[Any]:
        seen.append(current.actor(app))
        return envelope.success({})

    headers = {"X-Request-Id": "req-actor-0001", "User-Agent": "lendbridge-sdk/1.0"}
    serve(app, api_event("GET", "/whoami", user_id="user-1", headers=headers))
    assert seen == [
        Actor(user_id="user-1", request_id="req-actor-0001", ip_address="203.0.113.7", user_agent="lendbridge-sdk/1.0")
    ]


def test_outside_the_front_door_a_route_sees_an_empty_request_id() -> None:
    app = front_door.build_app()
    seen: list[str] = []

    @app.get("/id")
    def request_id() -> Response[Any]:
        seen.append(current.request_id(app))
        return envelope.success({})

    app.resolve(api_event("GET", "/id"), FakeContext())
    assert seen == [""]


def _event(headers: dict[str, Any] | None = None, gateway_id: Any = None) -> APIGatewayProxyEvent:
    context = {} if gateway_id is None else {"requestId": gateway_id}
    return APIGatewayProxyEvent({"headers": headers or {}, "requestContext": context})


def test_without_a_usable_gateway_id_a_request_gets_a_fresh_uuid() -> None:
    assert request_id_of(_event(gateway_id="gw-request-1")) == "gw-request-1"
    for damaged in (_event(), _event(gateway_id=""), _event(gateway_id=12345)):
        made = request_id_of(damaged)
        assert uuid.UUID(made).version == 4
        assert request_id_of(damaged) != made


def test_a_header_that_is_not_text_in_a_damaged_event_counts_as_absent() -> None:
    event = _event({"X-Request-Id": 1234567890, "User-Agent": ["a", "b"]})
    assert header(event, "X-Request-Id") is None
    assert header(event, "User-Agent") is None
    assert uuid.UUID(request_id_of(event)).version == 4


# ---- what every answer and log line carries --------------------------------------------------


def test_a_log_line_written_while_serving_carries_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = front_door.build_app()

    @app.get("/boom")
    def boom() -> Response[Any]:
        raise RuntimeError("unexpected")

    with caplog.at_level(logging.ERROR):
        response = serve(app, api_event("GET", "/boom", headers={"X-Request-Id": "req-logged-0001"}))
    assert response["statusCode"] == 500
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled exception"]
    logged = json.loads(front_door.logger.registered_formatter.format(record))
    assert logged["request_id"] == "req-logged-0001"


def test_the_latency_metric_is_the_time_served_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = front_door.build_app()

    @app.get("/quick")
    def quick() -> Response[Any]:
        return envelope.success({})

    readings = iter([100.0, 100.25])
    monkeypatch.setattr(front_door, "perf_counter", lambda: next(readings))
    serve(app, api_event("GET", "/quick"))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [blob["APILatency"] for blob in blobs if "APILatency" in blob] == [[250.0]]


def test_a_refusal_by_a_route_carries_the_request_id_the_answer_is_sent_with() -> None:
    app = front_door.build_app()

    @app.get("/missing")
    def missing() -> Response[Any]:
        raise errors.NotFound("gone")

    response = serve(app, api_event("GET", "/missing", headers={"X-Request-Id": "req-refused-0002"}))
    assert (response["statusCode"], body_of(response)["request_id"]) == (404, "req-refused-0002")


def test_outside_the_front_door_the_answer_record_is_started_by_its_first_reader() -> None:
    def read_twice() -> tuple[answer.Answer, answer.Answer]:
        return answer.current(), answer.current()

    first, again = contextvars.Context().run(read_twice)
    assert isinstance(first, answer.Answer)
    assert again is first


def test_a_not_modified_answer_keeps_the_headers_the_full_answer_would_carry() -> None:
    """RFC 9110 15.4.5: a 304 sends the Cache-Control a 200 would have sent."""
    with pytest.raises(PreparedResponse) as stopped:
        stop_if_current('"7"', '"7"', headers={"Cache-Control": "public, max-age=300"})
    response = stopped.value.response
    assert (response.status_code, response.headers) == (304, {"Cache-Control": "public, max-age=300", "ETag": '"7"'})


def test_a_replayed_refusal_keeps_the_time_of_its_first_answer() -> None:
    first = "2026-11-29T09:00:00.000Z"
    refusal = envelope.error(409, "CONFLICT", "The loan is cancelled", "req-first-0001", timestamp=first)
    assert refusal.body["timestamp"] == first  # type: ignore[index]


# ---- how refusals name their fields ----------------------------------------------------------


def test_a_field_error_names_nested_fields_by_path_and_list_items_by_index() -> None:
    items = [
        {"type": "string_too_short", "loc": ("body", "lenders", 1, "email"), "msg": "too short"},
        {"type": "greater_than", "loc": ("body", "terms", "rate"), "msg": "too low"},
        {"type": "int_parsing", "loc": ("body", 0), "msg": "not a number"},
    ]
    assert field_errors_of(items) == {
        "lenders[1].email": ["too short"],
        "terms.rate": ["too low"],
        "[0]": ["not a number"],
    }


def test_an_error_item_without_a_location_or_type_is_the_bodys() -> None:
    # Powertools' own checks (not pydantic's) may report an item with a message alone.
    assert field_errors_of([{"msg": "Value error, Bad body"}]) == {"body": ["Bad body"]}


def test_a_malformed_if_match_is_refused_with_the_same_sentence_as_message_and_field_error() -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        if_match_versions("three")
    message = refused.value.message
    assert isinstance(message, str)
    assert message
    assert refused.value.field_errors == {"If-Match": [message]}


# ---- the resolver's settings -----------------------------------------------------------------


def test_the_resolver_writes_text_as_utf8_not_as_escapes() -> None:
    app = front_door.build_app()

    @app.get("/name")
    def name() -> Response[Any]:
        return envelope.success({"full_name": "Zoë Ångström"})

    assert '"full_name":"Zoë Ångström"' in serve(app, api_event("GET", "/name"))["body"]


def test_a_response_that_breaks_its_schema_is_documented_as_the_500_it_is_answered_with() -> None:
    app = front_door.build_app()

    @app.get("/thing")
    def thing() -> dict[str, int]:
        return {"count": 1}

    responses = app.get_openapi_schema().paths["/thing"].get.responses  # type: ignore[index,union-attr]
    assert 500 in responses
    assert not [status for status in responses if 500 < int(status) < 600]


class Thing(BaseModel):
    name: str


def test_a_keyed_route_reads_a_body_model_of_the_module_it_is_written_in() -> None:
    """Its annotations are resolved where the route was written (postponed annotations), not
    in the idempotency module that wraps it."""
    app = front_door.build_app()
    routes = IdempotentRoutes(app, lambda: Idempotency(Lazy(MemoryPersistence), lambda: b"k"))

    @routes.post("/things", summary="Make a thing", responses={201: {"description": "made"}})
    def make(thing: Annotated[Thing, Body()]) -> Response[Any]:
        return envelope.success({"name": thing.name}, 201)

    made = serve(app, api_event("POST", "/things", body={"name": "kettle"}, user_id="u1"))
    assert (made["statusCode"], body_of(made)["data"]) == (201, {"name": "kettle"})
    refused = serve(app, api_event("POST", "/things", body={"name": 7}, user_id="u1"))
    assert (refused["statusCode"], body_of(refused)["error"]) == (400, "VALIDATION_ERROR")
