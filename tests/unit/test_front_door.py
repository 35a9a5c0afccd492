"""The front door (lendbridge.http.app.serve) rule by rule: body limits and content types refused
before the resolver, the request id and CORS headers on every answer, the resolver's settings."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from lendbridge.handlers import accounts as accounts_handler
from lendbridge.http import app as front_door
from lendbridge.http import envelope
from tests.events import FakeContext, api_event, body_of, header_of
from tests.unit.test_http_edge import VALID_REGISTRATION, FakeAccounts, call

MB = 1024 * 1024


@pytest.fixture
def accounts() -> Iterator[FakeAccounts]:
    fake = FakeAccounts()
    accounts_handler.accounts.override(fake)  # type: ignore[arg-type]
    yield fake
    accounts_handler.accounts.reset()


def register(raw_body: str, **options: Any) -> dict[str, Any]:
    return call(api_event("POST", "/v1/auth/register", raw_body=raw_body, **options))


def padded(size: int) -> str:
    """A registration of exactly ``size`` characters (the name padded with spaces, which JSON allows)."""
    text = json.dumps(VALID_REGISTRATION)
    return text[:-1] + " " * (size - len(text)) + "}"


def assert_refused(response: dict[str, Any], status: int, message: str, fields: dict[str, list[str]]) -> None:
    body = body_of(response)
    assert response["statusCode"] == status
    assert response["isBase64Encoded"] is False
    assert header_of(response, "Content-Type") == "application/json"
    assert (body["success"], body["error"], body["message"]) == (False, "VALIDATION_ERROR", message)
    assert body["field_errors"] == fields
    assert body["request_id"] == header_of(response, "X-Request-Id")


def test_a_body_of_exactly_one_megabyte_is_read_and_one_byte_more_is_413(accounts: FakeAccounts) -> None:
    assert register(padded(MB))["statusCode"] == 201
    too_big = register(padded(MB + 1))
    assert_refused(too_big, 413, "The request body exceeds 1 MB", {"body": ["Must be at most 1 MB"]})
    assert len(accounts.registered) == 1


def test_a_base64_body_is_measured_by_what_it_decodes_to(accounts: FakeAccounts) -> None:
    encoded = base64.b64encode(padded(MB - 2).encode()).decode()
    assert MB < len(encoded) <= MB * 4 / 3
    event = api_event("POST", "/v1/auth/register", raw_body=encoded)
    event["isBase64Encoded"] = True
    assert call(event)["statusCode"] == 201
    event["body"] = "A" * (int(MB * 4 / 3) + 4)
    assert call(event)["statusCode"] == 413


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", " application/json ;x=1"],
)
def test_json_content_types_are_read(accounts: FakeAccounts, content_type: str) -> None:
    response = register(json.dumps(VALID_REGISTRATION), headers={"Content-Type": content_type})
    assert response["statusCode"] == 201


def test_a_body_without_a_content_type_is_read_as_json(accounts: FakeAccounts) -> None:
    event = api_event("POST", "/v1/auth/register", body=VALID_REGISTRATION)
    for headers in (event["headers"], event["multiValueHeaders"]):
        del headers["Content-Type"]
    assert call(event)["statusCode"] == 201


def test_the_content_type_header_is_found_in_any_case(accounts: FakeAccounts) -> None:
    event = api_event("POST", "/v1/auth/register", raw_body="a=b")
    for headers in (event["headers"], event["multiValueHeaders"]):
        del headers["Content-Type"]
    event["headers"]["content-type"] = "text/plain"
    event["multiValueHeaders"]["content-type"] = ["text/plain"]
    response = call(event)
    assert_refused(response, 415, "Content-Type must be application/json", {"body": ["Unsupported content type"]})


# The resolver reads no other spelling of JSON (a case variant or a +json type were 500s).
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/jsonx",
        "application/json-seq",
        "json",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_other_content_types_are_415(accounts: FakeAccounts, content_type: str) -> None:
    response = register(json.dumps(VALID_REGISTRATION), headers={"Content-Type": content_type})
    assert_refused(response, 415, "Content-Type must be application/json", {"body": ["Unsupported content type"]})
    assert accounts.registered == []


@pytest.mark.parametrize("body", ["!!!not base64!!!", "e30=!", base64.b64encode(b"\xff\xfe{}").decode()])
def test_a_base64_body_that_is_not_utf8_text_is_400(accounts: FakeAccounts, body: str) -> None:
    event = api_event("POST", "/v1/auth/register", raw_body=body)
    event["isBase64Encoded"] = True
    assert_refused(call(event), 400, "The request body is not UTF-8 text", {"body": ["Must be UTF-8 text"]})
    assert accounts.registered == []


def test_a_base64_json_body_is_decoded_and_read(accounts: FakeAccounts) -> None:
    event = api_event(
        "POST", "/v1/auth/register", raw_body=base64.b64encode(json.dumps(VALID_REGISTRATION).encode()).decode()
    )
    event["isBase64Encoded"] = True
    assert call(event)["statusCode"] == 201


def test_a_refusal_at_the_door_is_counted_as_a_validation_error(
    accounts: FakeAccounts, capsys: pytest.CaptureFixture[str]
) -> None:
    register("x", headers={"Content-Type": "text/plain"})
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [(b["Endpoint"], b["ErrorType"]) for b in blobs if "ErrorType" in b] == [("Register", "ValidationError")]
    assert [b["Status"] for b in blobs if "Status" in b] == ["Error"]


def test_a_success_is_counted_without_an_error_type(accounts: FakeAccounts, capsys: pytest.CaptureFixture[str]) -> None:
    register(json.dumps(VALID_REGISTRATION))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [b.get("ErrorType") for b in blobs] == [None]
    assert [b["Status"] for b in blobs] == ["Success"]


def test_every_answer_carries_the_request_id_and_no_replay_mark(accounts: FakeAccounts) -> None:
    event = api_event("GET", "/v1/users/me", user_id="u", headers={"X-Request-Id": "req-front-door-1"})
    response = call(event)
    assert response["multiValueHeaders"]["X-Request-Id"] == ["req-front-door-1"]
    assert header_of(response, "Idempotent-Replayed") is None
    refused = register("x", headers={"Content-Type": "text/plain", "X-Request-Id": "req-front-door-2"})
    assert refused["multiValueHeaders"]["X-Request-Id"] == ["req-front-door-2"]


@pytest.fixture
def origins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example,,http://localhost:3000")
    front_door._cors.cache_clear()
    yield
    front_door._cors.cache_clear()


def test_every_stage_origin_may_read_the_answer_and_its_headers(accounts: FakeAccounts, origins: None) -> None:
    for origin in ("https://app.example", "http://localhost:3000"):
        response = call(api_event("GET", "/v1/users/me", user_id="u", headers={"Origin": origin}))
        headers = response["multiValueHeaders"]
        assert headers["Access-Control-Allow-Origin"] == [origin]
        assert headers["Vary"] == ["Origin"]
        exposed = headers["Access-Control-Expose-Headers"][0].split(",")
        assert exposed == [
            "X-Request-Id",
            "Retry-After",
            "Idempotent-Replayed",
            "ETag",
            "Location",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ]


def test_cors_headers_reach_the_refusals_of_the_front_door(accounts: FakeAccounts, origins: None) -> None:
    response = register("x", headers={"Content-Type": "text/plain", "Origin": "https://app.example"})
    assert response["statusCode"] == 415
    assert response["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["https://app.example"]


def test_a_foreign_or_missing_origin_gets_no_cors_headers(accounts: FakeAccounts, origins: None) -> None:
    assert front_door.cors_headers("https://evil.example") == {}
    assert front_door.cors_headers(None) == {}
    assert front_door.cors_headers("") == {}


def test_without_stage_origins_nobody_gets_cors_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    front_door._cors.cache_clear()
    try:
        assert front_door.cors_headers("https://app.example") == {}
        assert front_door._cors() is None
    finally:
        front_door._cors.cache_clear()


def _resolve(app: Any, path: str, body: Any = None) -> dict[str, Any]:
    raw = json.dumps(body) if body is not None else None
    return front_door.serve(app, api_event("POST" if body is not None else "GET", path, raw_body=raw), FakeContext())


def test_the_resolver_writes_decimals_as_exact_strings_through_the_project_codec() -> None:
    app = front_door.build_app()

    @app.get("/money")
    def money() -> Response[Any]:
        return envelope.success({"amount": Decimal("12.50")})

    assert json.loads(_resolve(app, "/money")["body"]) == {"success": True, "data": {"amount": "12.50"}}


class Counted(BaseModel):
    count: int


def test_the_resolver_validates_requests_and_its_own_responses() -> None:
    app = front_door.build_app()

    @app.post("/count")
    def count(body: Annotated[Counted, Body()]) -> Counted:
        return Counted(count=body.count)

    @app.get("/broken")
    def broken() -> Counted:
        return {"count": "not a number"}  # type: ignore[return-value]

    assert body_of(_resolve(app, "/count", {"count": 3})) == {"count": 3}
    refused = _resolve(app, "/count", {"count": "three"})
    assert (refused["statusCode"], body_of(refused)["error"]) == (400, "VALIDATION_ERROR")
    assert body_of(refused)["field_errors"] == {
        "count": ["Input should be a valid integer, unable to parse string as an integer"]
    }
    crashed = _resolve(app, "/broken")
    assert (crashed["statusCode"], body_of(crashed)["error"]) == (500, "INTERNAL_ERROR")
    assert body_of(crashed)["message"] == "An unexpected error occurred"


def test_the_resolver_refuses_json_nested_too_deep_as_400() -> None:
    app = front_door.build_app()

    @app.post("/anything")
    def anything(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return {"ok": True}

    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    refused = _resolve(app, "/anything", {"x": deep})
    assert (refused["statusCode"], body_of(refused)["error"]) == (400, "VALIDATION_ERROR")
    assert body_of(refused)["message"] == "The request body is nested more than 32 levels deep"
    assert body_of(refused)["field_errors"] == {"body": ["Nested more than 32 levels deep"]}


def test_a_refusal_carries_the_request_id_the_answer_is_sent_with(accounts: FakeAccounts) -> None:
    from lendbridge import errors

    accounts.failure = errors.NotFound("No such user")
    response = call(api_event("GET", "/v1/users/me", user_id="u", headers={"X-Request-Id": "req-refused-1"}))
    assert body_of(response)["request_id"] == "req-refused-1" == header_of(response, "X-Request-Id")


def test_a_refusal_outside_the_front_door_says_its_request_id_is_unknown() -> None:
    from lendbridge import errors

    app = front_door.build_app()

    @app.get("/missing")
    def missing() -> Response[Any]:
        raise errors.NotFound("gone")

    response = app.resolve(api_event("GET", "/missing"), FakeContext())
    assert (response["statusCode"], body_of(response)["request_id"]) == (404, "unknown")


def test_objects_nested_too_deep_are_refused_like_lists() -> None:
    app = front_door.build_app()

    @app.post("/anything")
    def anything(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return {"ok": True}

    deep: Any = 1
    for _ in range(40):
        deep = {"a": deep}
    refused = _resolve(app, "/anything", deep)
    assert body_of(refused)["message"] == "The request body is nested more than 32 levels deep"


def test_a_number_longer_than_python_converts_is_a_400_naming_the_body() -> None:
    app = front_door.build_app()

    @app.post("/anything")
    def anything(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return {"ok": True}

    event = api_event("POST", "/anything", raw_body='{"amount": ' + "9" * 5000 + "}")
    refused = front_door.serve(app, event, FakeContext())
    assert refused["statusCode"] == 400
    assert body_of(refused)["message"] == "A number in the body is too long"
    assert body_of(refused)["field_errors"] == {"body": ["A number in the body is too long"]}
