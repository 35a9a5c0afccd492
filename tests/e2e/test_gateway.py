"""API Gateway's behaviour around the handlers: routing, gateway responses, body guards,
request ids and CORS, as the template declares them."""

from __future__ import annotations

import json

import pytest

from local.events import HttpRequest
from local.gateway import Gateway
from local.stack import LocalLendbridge
from local.workers import Invocation
from tests.e2e.support import PASSWORD, UUID, Api, User, assert_error_envelope, unique_email

REGISTER = "/v1/auth/register"


@pytest.mark.parametrize("path", ["/v1/nope", "/v1", "/", "/v1/users/me/extra", "/health"])
def test_an_unknown_route_is_the_not_found_envelope(api: Api, path: str) -> None:
    body = assert_error_envelope(api.get(path), 404, "NOT_FOUND")
    assert body["message"] == "No such resource"


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/health/live"), ("PUT", REGISTER), ("POST", "/v1/users/me"), ("TRACE", "/v1/loans/L1")],
)
def test_an_unknown_method_on_a_known_path_is_not_found_like_api_gateway(api: Api, method: str, path: str) -> None:
    # API Gateway answers a method the resource lacks as it answers an unknown path (the
    # template maps MISSING_AUTHENTICATION_TOKEN to 404), before any authorizer runs.
    assert_error_envelope(api.request(method, path), 404, "NOT_FOUND")


def test_malformed_json_is_a_validation_error_on_the_body(api: Api) -> None:
    response = api.post(REGISTER, data=b'{"email": "a@example.com", ', headers={"Content-Type": "application/json"})
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Malformed JSON"]}


def test_missing_and_unknown_fields_are_named(api: Api) -> None:
    response = api.post(REGISTER, json={"email": unique_email(), "nickname": "x"})
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert {"password", "full_name", "nickname"} <= set(body["field_errors"])


def test_a_body_over_one_megabyte_is_refused_by_the_handler(api: Api) -> None:
    padding = "x" * (1024 * 1024 + 10)
    payload = json.dumps({"email": unique_email(), "password": PASSWORD, "full_name": padding})
    response = api.post(REGISTER, data=payload, headers={"Content-Type": "application/json"})
    body = assert_error_envelope(response, 413, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Must be at most 1 MB"]}


def test_a_body_over_api_gateways_ten_megabytes_is_refused_by_the_gateway(api: Api) -> None:
    response = api.post(REGISTER, data=b"x" * (10 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert body["message"] == "The request body is too large"  # the TooLarge GatewayResponse


def test_multipart_without_a_boundary_is_an_unsupported_media_type_not_a_crash(api: Api) -> None:
    response = api.post(REGISTER, data=b"--x\r\n\r\nhello\r\n--x--", headers={"Content-Type": "multipart/form-data"})
    assert_error_envelope(response, 415, "VALIDATION_ERROR")


def test_a_valid_incoming_request_id_is_echoed_in_header_and_body(api: Api) -> None:
    sent = "e2e-client-request-0001"
    assert api.get("/health/live", headers={"X-Request-Id": sent}).headers["X-Request-Id"] == sent
    response = api.post(REGISTER, json={}, headers={"X-Request-Id": sent})
    assert assert_error_envelope(response, 400, "VALIDATION_ERROR")["request_id"] == sent


@pytest.mark.parametrize("sent", ["short", "has spaces in it", "x" * 200])
def test_an_invalid_incoming_request_id_is_replaced_by_a_generated_one(api: Api, sent: str) -> None:
    response = api.get("/health/live", headers={"X-Request-Id": sent})
    assert response.status_code == 200
    assert UUID.match(response.headers["X-Request-Id"])


def test_cors_preflight_answers_from_the_templates_mock_integration(api: Api) -> None:
    response = api.request(
        "OPTIONS",
        "/v1/auth/login",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert "POST" in response.headers["Access-Control-Allow-Methods"].split(",")
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"].split(",")
    assert response.content == b""


def test_handler_claims_reach_the_function_as_the_authorizer_passed_them(api: Api, user: User) -> None:
    # /v1/users/me resolves the caller from requestContext.authorizer.claims.sub only.
    response = api.get("/v1/users/me", headers={**user.bearer, "X-Request-Id": "e2e-claims-check-01"})
    assert response.status_code == 200
    assert response.json()["data"]["user_id"] == user.user_id
    assert response.headers["X-Request-Id"] == "e2e-claims-check-01"


def test_a_path_parameter_route_reaches_its_handler(api: Api, user: User) -> None:
    response = api.get("/v1/loans/no-such-loan", headers=user.bearer)
    body = assert_error_envelope(response, 404, "NOT_FOUND")
    assert body["message"] != "No such resource"  # the handler's own answer, not the gateway's
    assert "x-amzn-ErrorType" not in response.headers


class StubPool:
    """Stands in for a function's workers, returning a fixed invocation outcome."""

    def __init__(self, outcome: Invocation) -> None:
        self.outcome = outcome

    def invoke(self, event: dict, request_id: str | None = None) -> Invocation:
        return self.outcome


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(Invocation(error={"errorType": "Runtime.ExitError", "errorMessage": "boom"}), id="function error"),
        pytest.param(Invocation(error={"errorType": "Timeout"}, timed_out=True), id="timeout"),
        pytest.param(Invocation(result={"statusCode": 200, "body": {"not": "a string"}}), id="malformed response"),
        pytest.param(Invocation(result={"statusCode": 200, "body": "", "extra": 1}), id="unknown response key"),
    ],
)
def test_a_failed_invocation_is_the_templates_default_5xx(stack: LocalLendbridge, outcome: Invocation) -> None:
    method = stack.api.method("/health/live", "GET")
    assert method is not None
    assert method.function is not None
    pools = {(method.function.stack, method.function.logical_id): StubPool(outcome)}
    gateway = Gateway(stack.api, pools, {}, log=lambda _: None)  # type: ignore[arg-type]
    response = gateway.handle(HttpRequest("GET", "/health/live", [("Host", "127.0.0.1")], b"", "127.0.0.1"))
    assert response.status == 503  # the Default5xx GatewayResponse's status (API Gateway's own is 502)
    body = json.loads(response.body)
    assert (body["success"], body["error"], body["message"]) == (False, "SERVICE_UNAVAILABLE", "Service unavailable")
    assert response.header("x-amzn-RequestId") == body["request_id"]
    assert response.header("X-Request-Id") is None  # a gateway response only echoes the caller's


def test_a_proxy_response_merges_headers_like_api_gateway(stack: LocalLendbridge) -> None:
    method = stack.api.method("/health/live", "GET")
    assert method is not None
    assert method.function is not None
    result = {
        "statusCode": 202,
        "headers": {"X-One": "single", "X-Both": "from-headers"},
        "multiValueHeaders": {"X-Both": ["a", "b"], "Set-Cookie": ["c=1", "d=2"]},
        "body": "aGVsbG8=",
        "isBase64Encoded": True,
    }
    pools = {(method.function.stack, method.function.logical_id): StubPool(Invocation(result=result))}
    gateway = Gateway(stack.api, pools, {}, log=lambda _: None)  # type: ignore[arg-type]
    response = gateway.handle(HttpRequest("GET", "/health/live", [], b"", "127.0.0.1"))
    assert response.status == 202
    assert response.body == b"hello"
    assert [value for name, value in response.headers if name == "X-Both"] == ["a", "b"]
    assert [value for name, value in response.headers if name == "Set-Cookie"] == ["c=1", "d=2"]
    assert response.header("X-One") == "single"
