"""The one place that maps failures to responses (lendbridge.http.errors): failures it has no
status for, and Powertools' own ServiceError, answered in the contract's envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from lendbridge import errors
from lendbridge.handlers import accounts as accounts_handler
from tests.events import FakeContext, api_event, body_of
from tests.unit.test_http_edge import FakeAccounts, assert_error_envelope, call

SECRET_DETAIL = "table lendbridge-main, key USER#42, connection pool exhausted"


class UnmappedFailure(errors.LendbridgeError):
    """A domain failure nobody gave an HTTP status."""


@pytest.fixture
def failing_accounts() -> Iterator[FakeAccounts]:
    fake = FakeAccounts()
    accounts_handler.accounts.override(fake)  # type: ignore[arg-type]
    yield fake
    accounts_handler.accounts.reset()


def _me() -> dict:
    return call(api_event("GET", "/v1/users/me", user_id="user-1"))


def test_a_failure_without_a_status_is_a_500_that_reveals_nothing(
    failing_accounts: FakeAccounts,
) -> None:
    failing_accounts.failure = UnmappedFailure(SECRET_DETAIL)

    response = _me()

    assert UnmappedFailure("x").status == 500
    assert response["statusCode"] == 500
    body = body_of(response)
    assert_error_envelope(body, "INTERNAL_ERROR")
    assert SECRET_DETAIL not in response["body"]


@pytest.mark.parametrize(
    ("status", "code"), [(409, "CONFLICT"), (405, "METHOD_NOT_ALLOWED"), (429, "TOO_MANY_REQUESTS")]
)
def test_a_powertools_service_error_keeps_its_status_in_the_envelope(
    failing_accounts: FakeAccounts, status: int, code: str
) -> None:
    failing_accounts.failure = ServiceError(status, "the resource says no")

    response = _me()

    assert response["statusCode"] == status
    body = body_of(response)
    assert_error_envelope(body, code)
    assert body["message"] == "the resource says no"


def test_a_service_error_the_contract_has_no_code_for_is_an_opaque_500(failing_accounts: FakeAccounts) -> None:
    failing_accounts.failure = ServiceError(502, SECRET_DETAIL)

    response = _me()

    assert response["statusCode"] == 500
    assert_error_envelope(body_of(response), "INTERNAL_ERROR")
    assert SECRET_DETAIL not in response["body"]


def _error_types(capsys: pytest.CaptureFixture[str]) -> list[str]:
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return [blob["ErrorType"] for blob in blobs if "ErrorType" in blob]


@pytest.mark.parametrize(
    ("event", "status", "error_type"),
    [
        (api_event("POST", "/v1/auth/register", body={"email": "x"}), 400, "ValidationError"),
        (api_event("POST", "/v1/auth/register", raw_body="x" * (1024 * 1024 + 1)), 413, "ValidationError"),
        (api_event("GET", "/v1/auth/nowhere"), 404, "NotFound"),
        (api_event("GET", "/v1/auth/register"), 405, "MethodNotAllowed"),
        (api_event("GET", "/v1/users/me"), 401, "Unauthorized"),
    ],
)
def test_every_refusal_names_its_error_type_without_the_body_being_read_back(
    failing_accounts: FakeAccounts,
    capsys: pytest.CaptureFixture[str],
    event: dict,
    status: int,
    error_type: str,
) -> None:
    capsys.readouterr()
    response = accounts_handler.handler(event, FakeContext())
    assert response["statusCode"] == status
    assert body_of(response)["error"] == errors.failure_of_code(body_of(response)["error"]).code
    assert _error_types(capsys) == [error_type]


def test_a_service_error_and_a_crash_name_their_error_type(
    failing_accounts: FakeAccounts, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    failing_accounts.failure = ServiceError(409, "the resource says no")
    _me()
    failing_accounts.failure = RuntimeError(SECRET_DETAIL)
    _me()
    failing_accounts.failure = errors.DamagedItem({"PK": "USER#1", "SK": "PROFILE"}, KeyError("email"))
    assert _me()["statusCode"] == 500
    assert _error_types(capsys) == ["Conflict", "UnexpectedError", "DamagedItem"]


def test_validation_items_become_field_errors_under_the_field_path() -> None:
    from lendbridge.http.errors import field_errors_of

    assert field_errors_of(
        [
            {"type": "missing", "loc": ("body", "amount"), "msg": "pydantic wording"},
            {"type": "string_too_long", "loc": ("header", "Idempotency-Key"), "msg": "Value error, too long"},
            {"type": "value_error", "loc": ("body",)},
            {"type": "json_invalid", "loc": ("body", 3)},
            {"loc": ("query", "limit"), "msg": "bad limit"},
        ]
    ) == {
        "amount": ["Field required"],
        "Idempotency-Key": ["too long"],
        "body": ["Invalid value", "Malformed JSON"],
        "limit": ["bad limit"],
    }
