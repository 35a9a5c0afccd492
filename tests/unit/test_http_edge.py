"""The HTTP edge every handler shares: envelopes, request ids, error mapping, body guards, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from lendbridge import errors
from lendbridge.domain.accounts import ClientContext, Tokens, UserProfile
from lendbridge.handlers import accounts as accounts_handler
from lendbridge.http.envelope import location
from lendbridge.http.params import select_fields
from lendbridge.http.request_context import Caller, caller_of, client_of
from tests.events import FakeContext, api_event, body_of, header_of

VALID_REGISTRATION = {"email": "Ada@Example.com", "password": "Correct-Horse-9", "full_name": "Ada Lovelace"}


@dataclass
class FakeAccounts:
    failure: Exception | None = None
    registered: list[tuple[str, str]] = field(default_factory=list)

    def register(self, email: str, password: str, full_name: str, request_id: str) -> UserProfile:
        if self.failure:
            raise self.failure
        self.registered.append((email, request_id))
        return UserProfile("user-1", email, full_name, datetime(2026, 1, 2, tzinfo=UTC))

    def login(self, email: str, password: str, context: ClientContext) -> Tokens:
        if self.failure:
            raise self.failure
        return Tokens(access_token="token", expires_in=3600, refresh_token="refresh")

    def profile(self, user_id: str) -> UserProfile:
        if self.failure:
            raise self.failure
        return UserProfile(user_id, "ada@example.com", "Ada", datetime(2026, 1, 2, tzinfo=UTC))


@pytest.fixture
def fake_accounts() -> Iterator[FakeAccounts]:
    fake = FakeAccounts()
    accounts_handler.accounts.override(fake)  # type: ignore[arg-type]
    yield fake
    accounts_handler.accounts.reset()


def call(event: dict) -> dict:
    return accounts_handler.handler(event, FakeContext())


def assert_error_envelope(body: dict, code: str) -> None:
    assert body["success"] is False
    assert body["error"] == code
    assert body["message"]
    assert body["request_id"]
    assert body["timestamp"].endswith("Z")
    datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))


def test_register_returns_201_in_the_success_envelope(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("POST", "/v1/auth/register", body=VALID_REGISTRATION))
    assert response["statusCode"] == 201
    assert body_of(response) == {
        "success": True,
        "data": {"user_id": "user-1", "email": "ada@example.com", "full_name": "Ada Lovelace"},
    }
    assert fake_accounts.registered[0][0] == "ada@example.com"


def test_a_valid_incoming_request_id_is_echoed_and_reaches_the_domain(fake_accounts: FakeAccounts) -> None:
    event = api_event("POST", "/v1/auth/register", body=VALID_REGISTRATION, headers={"X-Request-Id": "client-req-0001"})
    response = call(event)
    assert header_of(response, "X-Request-Id") == "client-req-0001"
    assert fake_accounts.registered[0][1] == "client-req-0001"


@pytest.mark.parametrize("incoming", [None, "short", "bad id with spaces", "x" * 200, "inject\r\nheader: 1"])
def test_an_invalid_or_missing_request_id_is_replaced_by_the_gateway_one(
    fake_accounts: FakeAccounts, incoming: str | None
) -> None:
    event = api_event("GET", "/v1/users/me", user_id="user-1", headers={"X-Request-Id": incoming} if incoming else {})
    response = call(event)
    assert header_of(response, "X-Request-Id") == event["requestContext"]["requestId"]


def test_malformed_json_is_a_400_naming_the_body(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("POST", "/v1/auth/register", raw_body='{"email": '))
    body = body_of(response)
    assert response["statusCode"] == 400
    assert_error_envelope(body, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Malformed JSON"]}
    assert body["request_id"] == header_of(response, "X-Request-Id")


def test_field_errors_name_each_failing_field(fake_accounts: FakeAccounts) -> None:
    response = call(
        api_event("POST", "/v1/auth/register", body={"email": "not-an-email", "password": "short", "extra": 1})
    )
    fields = body_of(response)["field_errors"]
    assert response["statusCode"] == 400
    assert set(fields) == {"email", "password", "full_name", "extra"}
    assert fields["email"] == ["Must be a valid email address"]
    assert fields["full_name"] == ["Field required"]


def test_wrong_types_are_400_not_500(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("POST", "/v1/auth/register", body={"email": 5, "password": [], "full_name": {}}))
    assert response["statusCode"] == 400
    assert set(body_of(response)["field_errors"]) == {"email", "password", "full_name"}


def test_a_json_array_body_is_a_400(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("POST", "/v1/auth/register", body=[1, 2]))
    assert response["statusCode"] == 400


def test_password_policy_is_checked_before_cognito(fake_accounts: FakeAccounts) -> None:
    weak = {**VALID_REGISTRATION, "password": "alllowercase1!"}
    response = call(api_event("POST", "/v1/auth/register", body=weak))
    assert response["statusCode"] == 400
    assert body_of(response)["field_errors"]["password"] == ["Must contain an uppercase letter"]
    assert fake_accounts.registered == []


def test_a_body_over_one_megabyte_is_a_413(fake_accounts: FakeAccounts) -> None:
    huge = json.dumps({**VALID_REGISTRATION, "full_name": "a" * (1024 * 1024)})
    response = call(api_event("POST", "/v1/auth/register", raw_body=huge))
    assert response["statusCode"] == 413
    assert_error_envelope(body_of(response), "VALIDATION_ERROR")
    assert fake_accounts.registered == []


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "text/plain", "application/xml"]
)
def test_non_json_bodies_are_415_not_500(fake_accounts: FakeAccounts, content_type: str) -> None:
    event = api_event("POST", "/v1/auth/register", raw_body="--x\r\n\r\n", headers={"Content-Type": content_type})
    response = call(event)
    assert response["statusCode"] == 415
    assert_error_envelope(body_of(response), "VALIDATION_ERROR")
    assert body_of(response)["field_errors"] == {"body": ["Unsupported content type"]}


def test_unknown_route_is_a_404_envelope(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("GET", "/v1/nothing-here"))
    assert response["statusCode"] == 404
    assert_error_envelope(body_of(response), "NOT_FOUND")


def test_wrong_method_is_a_405_with_allow(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("DELETE", "/v1/auth/register"))
    assert response["statusCode"] == 405
    assert header_of(response, "Allow") == "POST"
    assert_error_envelope(body_of(response), "METHOD_NOT_ALLOWED")


def test_a_route_that_needs_a_caller_refuses_an_event_without_claims(fake_accounts: FakeAccounts) -> None:
    response = call(api_event("GET", "/v1/users/me"))
    assert response["statusCode"] == 401
    assert_error_envelope(body_of(response), "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (errors.ValidationFailed("bad", field_errors={"x": ["y"]}), 400, "VALIDATION_ERROR"),
        (errors.Unauthorized("who?"), 401, "UNAUTHORIZED"),
        (errors.Forbidden("no"), 403, "FORBIDDEN"),
        (errors.NotFound("gone"), 404, "NOT_FOUND"),
        (errors.Conflict("state"), 409, "CONFLICT"),
        (errors.IdempotencyInProgress("wait"), 409, "IDEMPOTENCY_IN_PROGRESS"),
        (errors.IdempotencyKeyReused("other body"), 422, "IDEMPOTENCY_KEY_REUSED"),
    ],
)
def test_domain_errors_map_to_the_contract(
    fake_accounts: FakeAccounts, failure: Exception, status: int, code: str
) -> None:
    fake_accounts.failure = failure
    response = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    assert response["statusCode"] == status
    assert_error_envelope(body_of(response), code)


@pytest.mark.parametrize(
    ("failure", "status", "code", "retry_after"),
    [
        (errors.Throttled("slow down", retry_after=5), 429, "TOO_MANY_REQUESTS", 5),
        (errors.DependencyUnavailable("down", retry_after=10), 503, "SERVICE_UNAVAILABLE", 10),
    ],
)
def test_retryable_errors_carry_retry_after(
    fake_accounts: FakeAccounts, failure: Exception, status: int, code: str, retry_after: int
) -> None:
    fake_accounts.failure = failure
    response = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    body = body_of(response)
    assert response["statusCode"] == status
    assert body["retry_after"] == retry_after
    assert header_of(response, "Retry-After") == str(retry_after)


def test_an_unexpected_exception_is_a_500_that_reveals_nothing(fake_accounts: FakeAccounts) -> None:
    fake_accounts.failure = RuntimeError("table lendbridge-secret-name exploded at 10.0.0.1")
    response = call(api_event("GET", "/v1/users/me", user_id="user-1"))
    body = body_of(response)
    assert response["statusCode"] == 500
    assert_error_envelope(body, "INTERNAL_ERROR")
    assert "exploded" not in response["body"]
    assert "lendbridge-secret-name" not in response["body"]


def test_metrics_use_the_client_names_and_dimensions(
    fake_accounts: FakeAccounts, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_accounts.failure = errors.Throttled("slow down", retry_after=5)
    call(api_event("GET", "/v1/users/me", user_id="user-1"))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    by_name = {blob["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: blob for blob in blobs}
    latency, failure = by_name["APILatency"], by_name["APIError"]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PrivateLending/API"
    assert (latency["Endpoint"], latency["Status"]) == ("GetMe", "Error")
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
    assert (failure["Endpoint"], failure["ErrorType"]) == ("GetMe", "DatabaseThrottled")


def test_metrics_carry_exactly_the_client_dimensions(
    fake_accounts: FakeAccounts, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "lendbridge")
    call(api_event("GET", "/v1/users/me", user_id="user-1"))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for blob in blobs] == [[["Endpoint", "Status"]]]


def test_select_fields_returns_only_the_named_top_level_fields() -> None:
    from lendbridge.errors import ValidationFailed
    from lendbridge.http.params import select_fields

    payload = {"loan_id": "l", "status": "FUNDING", "amount": "1.00"}
    allowed = frozenset(payload)
    assert select_fields(payload, "status, amount", allowed) == {"status": "FUNDING", "amount": "1.00"}
    assert select_fields(payload, None, allowed) == payload
    with pytest.raises(ValidationFailed, match="Unknown field"):
        select_fields(payload, "status,secret", allowed)
    with pytest.raises(ValidationFailed, match="at least one"):
        select_fields(payload, " , ", allowed)


@pytest.mark.parametrize(
    ("failure", "error_type"),
    [
        (errors.Throttled("db", retry_after=5), "DatabaseThrottled"),
        (errors.IdentityThrottled("cognito", retry_after=5), "IdentityThrottled"),
        (errors.DependencyUnavailable("db", retry_after=10), "DatabaseUnavailable"),
        (errors.EncryptionUnavailable("kms", retry_after=5), "EncryptionUnavailable"),
        (errors.NotFound("gone"), "NotFound"),
    ],
)
def test_error_type_names_the_failing_dependency(
    fake_accounts: FakeAccounts, capsys: pytest.CaptureFixture[str], failure: Exception, error_type: str
) -> None:
    fake_accounts.failure = failure
    call(api_event("GET", "/v1/users/me", user_id="user-1"))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [b["ErrorType"] for b in blobs if "ErrorType" in b] == [error_type]


def test_cors_headers_only_for_the_stage_origins(fake_accounts: FakeAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    from lendbridge.http import app as front_door

    monkeypatch.setenv("CORS_ORIGINS", "https://app.example,http://localhost:3000")
    front_door._cors.cache_clear()
    allowed = call(api_event("GET", "/v1/users/me", user_id="u", headers={"Origin": "https://app.example"}))
    foreign = call(api_event("GET", "/v1/users/me", user_id="u", headers={"Origin": "https://evil.example"}))
    front_door._cors.cache_clear()
    assert header_of(allowed, "Access-Control-Allow-Origin") == "https://app.example"
    assert "X-Request-Id" in (header_of(allowed, "Access-Control-Expose-Headers") or "")
    assert header_of(foreign, "Access-Control-Allow-Origin") is None


@pytest.mark.parametrize(
    ("request_context", "expected"),
    [
        ({"domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "stage": "dev"}, "/dev/v1/loans/L1"),
        ({"domainName": "api.lendbridge.example", "stage": "dev"}, "/v1/loans/L1"),
        ({"domainName": "abc123.execute-api.eu-west-1.amazonaws.com"}, "/v1/loans/L1"),
        ({"stage": "dev"}, "/v1/loans/L1"),
        (None, "/v1/loans/L1"),
    ],
)
def test_a_location_carries_the_stage_only_on_the_default_endpoint(
    request_context: dict[str, str] | None, expected: str
) -> None:
    assert location({"requestContext": request_context}, "/v1/loans/L1") == expected


def test_select_fields_keeps_the_named_fields_and_names_what_is_wrong() -> None:
    allowed = frozenset({"status", "amount", "purpose"})
    payload: dict[str, object] = {"status": "PENDING", "amount": "10.00", "purpose": "Ovens"}
    assert select_fields(payload, None, allowed) is payload
    assert select_fields(payload, " status , amount", allowed) == {"status": "PENDING", "amount": "10.00"}

    def refusal(fields: str) -> dict[str, list[str]]:
        with pytest.raises(errors.ValidationFailed) as refused:
            select_fields(payload, fields, allowed)
        assert refused.value.message == refused.value.field_errors["fields"][0]
        return refused.value.field_errors

    assert refusal("status,zeta,alpha") == {"fields": ["Unknown field(s): alpha, zeta"]}
    assert refusal(" , ") == {"fields": ["Name at least one field"]}
    assert refusal("status,,amount") == {
        "fields": ["Separate the field names with commas (spaces around them are fine), without empty names"]
    }


def _authorized(claims: dict[str, str]) -> APIGatewayProxyEvent:
    return APIGatewayProxyEvent(
        {"headers": {"Authorization": "Bearer t"}, "requestContext": {"authorizer": {"claims": claims}}}
    )


def test_the_caller_is_the_verified_subject_named_by_its_username_claim() -> None:
    assert caller_of(_authorized({"sub": "s-1", "username": "u-1", "cognito:username": "c-1"})) == Caller("s-1", "u-1")
    assert caller_of(_authorized({"sub": "s-1", "cognito:username": "c-1"})) == Caller("s-1", "c-1")
    assert caller_of(_authorized({"sub": "s-1"})) == Caller("s-1", "s-1")
    for claims in ({}, {"sub": ""}):
        with pytest.raises(errors.Unauthorized):
            caller_of(_authorized(claims))


def test_the_client_is_the_source_ip_and_user_agent_the_gateway_saw() -> None:
    identity = {"sourceIp": "198.51.100.7", "userAgent": "gateway-agent"}
    assert client_of(APIGatewayProxyEvent({"requestContext": {"identity": identity}})) == (
        "198.51.100.7",
        "gateway-agent",
    )
    long_agent = "a" * 600
    event = APIGatewayProxyEvent({"headers": {"user-agent": long_agent}, "requestContext": {"identity": identity}})
    assert client_of(event) == ("198.51.100.7", "a" * 512)
    assert client_of(APIGatewayProxyEvent({"requestContext": {"identity": {"sourceIp": 7}}})) == (None, None)
    assert client_of(APIGatewayProxyEvent({})) == (None, None)
