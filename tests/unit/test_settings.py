"""Each function's settings are checked on first use: a missing, empty or malformed variable
stops the function with a message naming it, instead of becoming "" and failing far away."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from lendbridge.handlers import invitation_claims, loan_stream
from lendbridge.handlers import loans as loans_handler
from lendbridge.settings import MisconfiguredFunction
from lendbridge.wiring.accounts import AccountsSettings
from lendbridge.wiring.lending import LendingSettings
from lendbridge.wiring.post_confirmation import PostConfirmationSettings
from tests.events import FakeContext, api_event

LENDING_ENV = {
    "STAGE": "dev",
    "MAIN_TABLE": "lendbridge-dev-MainTable",
    "AUDIT_TABLE": "lendbridge-dev-AuditTable",
    "IDEMPOTENCY_TABLE": "lendbridge-dev-IdempotencyTable",
    "BANK_DATA_KEY_ID": "arn:aws:kms:us-east-1:000000000000:key/3f1c2b7e",
    "PAGINATION_SECRET_ID": "arn:aws:secretsmanager:us-east-1:000000000000:secret:pagination",
    "IDEMPOTENCY_SECRET_ID": "arn:aws:secretsmanager:us-east-1:000000000000:secret:idempotency",
}
ACCOUNTS_ENV = {
    "MAIN_TABLE": "lendbridge-dev-MainTable",
    "AUDIT_TABLE": "lendbridge-dev-AuditTable",
    "USER_POOL_ID": "us-east-1_abc",
    "USER_POOL_CLIENT_ID": "client123",
    "AUTO_CONFIRM_EMAIL": "false",
    "CLAIMS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/claims",
}


def test_a_complete_environment_is_read_into_typed_fields() -> None:
    settings = LendingSettings.from_env(LENDING_ENV)
    assert (settings.stage, settings.main_table) == ("dev", "lendbridge-dev-MainTable")
    assert AccountsSettings.from_env({**ACCOUNTS_ENV, "AUTO_CONFIRM_EMAIL": "true"}).auto_confirm_email is True
    assert AccountsSettings.from_env(ACCOUNTS_ENV).auto_confirm_email is False


def test_a_missing_variable_is_named() -> None:
    env = {name: value for name, value in LENDING_ENV.items() if name != "IDEMPOTENCY_SECRET_ID"}
    with pytest.raises(MisconfiguredFunction) as raised:
        LendingSettings.from_env(env)
    assert str(raised.value) == "LendingSettings: IDEMPOTENCY_SECRET_ID is missing"


def test_every_bad_variable_is_named_at_once_without_its_value() -> None:
    env = {
        **ACCOUNTS_ENV,
        "MAIN_TABLE": "",
        "AUTO_CONFIRM_EMAIL": "perhaps-later",
        "CLAIMS_QUEUE_URL": "claims-queue-name",
    }
    del env["USER_POOL_ID"]
    with pytest.raises(MisconfiguredFunction) as raised:
        AccountsSettings.from_env(env)
    message = str(raised.value)
    assert "AUTO_CONFIRM_EMAIL is malformed" in message
    assert "CLAIMS_QUEUE_URL is malformed" in message
    assert "MAIN_TABLE is empty" in message
    assert "USER_POOL_ID is missing" in message
    assert "AUDIT_TABLE" not in message
    assert "perhaps-later" not in message
    assert "claims-queue-name" not in message


def test_a_function_reads_only_its_own_variables() -> None:
    settings = PostConfirmationSettings.from_env({"CLAIMS_QUEUE_URL": ACCOUNTS_ENV["CLAIMS_QUEUE_URL"]})
    assert settings.claims_queue_url == ACCOUNTS_ENV["CLAIMS_QUEUE_URL"]


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in {*LENDING_ENV, *ACCOUNTS_ENV}:
        monkeypatch.delenv(name, raising=False)
    for lazy in (loans_handler.services, loan_stream.writer, invitation_claims.claims):
        lazy.reset()
    yield
    for lazy in (loans_handler.services, loan_stream.writer, invitation_claims.claims):
        lazy.reset()


def test_an_api_function_without_its_settings_fails_the_invocation_not_the_request(bare_environment: None) -> None:
    """A 500 envelope would look like a bug in one request; the failed invocation is counted by
    the function's Errors alarm and the log names the variables."""
    event = api_event("GET", "/v1/loans/my-loans", user_id="user-1")
    with pytest.raises(MisconfiguredFunction, match="MAIN_TABLE is missing"):
        loans_handler.handler(event, FakeContext())


def test_a_batch_function_without_its_settings_fails_the_whole_batch(bare_environment: None) -> None:
    """Not each record apart (which would send every record to the dead-letter queue)."""
    with pytest.raises(MisconfiguredFunction, match="MAIN_TABLE is missing"):
        loan_stream.handler({"Records": []}, FakeContext())
    with pytest.raises(MisconfiguredFunction, match="AUDIT_TABLE is missing"):
        invitation_claims.handler({"Records": []}, FakeContext())


@pytest.mark.parametrize(
    ("module", "others"),
    [
        ("lendbridge.wiring.accounts", ("lending", "health", "claims", "stream", "integrity", "post_confirmation")),
        ("lendbridge.wiring.lending", ("accounts", "health", "claims", "stream", "integrity", "post_confirmation")),
        ("lendbridge.wiring.health", ("accounts", "lending", "claims", "stream", "integrity", "post_confirmation")),
        ("lendbridge.wiring.stream", ("accounts", "lending", "health", "claims", "integrity", "post_confirmation")),
    ],
)
def test_importing_one_functions_wiring_imports_no_other(module: str, others: tuple[str, ...]) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {['lendbridge.wiring.' + other for other in others]!r} if m in sys.modules]\n"
        "lazy = [m for m in ('aws_lambda_powertools.utilities.parameters',) if m in sys.modules]\n"
        "print(loaded, lazy)\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="lambdas"
    )
    assert result.stdout.strip() == "[] []"


@pytest.fixture
def no_webhook_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from lendbridge.handlers import webhook_delivery, webhook_events

    for name in ("WEBHOOKS_TABLE", "WEBHOOK_QUEUE_URL", "WEBHOOK_DLQ_URL", "DATA_KEY_ID", "WEBHOOK_RETRY_SCHEDULE"):
        monkeypatch.delenv(name, raising=False)
    for lazy in (webhook_events.fan_out, webhook_delivery.deliverer):
        lazy.reset()
    yield
    for lazy in (webhook_events.fan_out, webhook_delivery.deliverer):
        lazy.reset()


def test_the_webhook_workers_without_their_settings_fail_the_whole_batch(no_webhook_environment: None) -> None:
    from lendbridge.handlers import webhook_delivery, webhook_events

    with pytest.raises(MisconfiguredFunction, match="WEBHOOKS_TABLE is missing"):
        webhook_events.handler({"Records": []}, FakeContext())
    with pytest.raises(MisconfiguredFunction, match="WEBHOOK_DLQ_URL is missing"):
        webhook_delivery.handler({"Records": []}, FakeContext())


def test_a_retry_schedule_must_start_at_once() -> None:
    from lendbridge.wiring.webhook_workers import DeliverySettings

    env = {
        "WEBHOOKS_TABLE": "webhooks-table",
        "WEBHOOK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
        "WEBHOOK_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/d",
        "DATA_KEY_ID": "arn:aws:kms:us-east-1:1:key/k",
        "WEBHOOK_RETRY_SCHEDULE": "0,5,300",
        "WEBHOOK_ALLOW_LOOPBACK": "false",
    }
    assert DeliverySettings.from_env(env).webhook_retry_schedule == "0,5,300"
    with pytest.raises(MisconfiguredFunction, match="WEBHOOK_RETRY_SCHEDULE is malformed"):
        DeliverySettings.from_env({**env, "WEBHOOK_RETRY_SCHEDULE": "5,300"})


def test_a_parsed_variable_that_does_not_parse_is_named_without_its_text() -> None:
    from lendbridge.wiring.rate_limits import RateLimitSettings

    env = {"RATE_LIMIT_TABLE": "counters", "RATE_LIMIT_KEY_SECRET_ID": "arn:key", "RATE_LIMITS": '{"caller": "s3cr3t"}'}
    with pytest.raises(MisconfiguredFunction) as raised:
        RateLimitSettings.from_env(env)
    assert str(raised.value) == "RateLimitSettings: RATE_LIMITS is malformed (expected a JSON rate-limit policy)"


def test_optional_variables_may_be_absent_but_not_empty() -> None:
    from lendbridge.wiring.rate_limits import RateLimitSettings

    assert RateLimitSettings.from_env({}).rate_limit_table is None
    with pytest.raises(MisconfiguredFunction, match="^RateLimitSettings: RATE_LIMIT_TABLE is empty$"):
        RateLimitSettings.from_env({"RATE_LIMIT_TABLE": ""})


@pytest.mark.parametrize(("text", "value"), [("true", True), ("True", True), ("1", True), ("no", False), ("0", False)])
def test_booleans_take_the_usual_spellings(text: str, value: bool) -> None:
    assert AccountsSettings.from_env({**ACCOUNTS_ENV, "AUTO_CONFIRM_EMAIL": text}).auto_confirm_email is value


def test_a_pattern_must_match_the_whole_value() -> None:
    # A trailing newline (a heredoc in a deploy script) is not part of a table name.
    with pytest.raises(MisconfiguredFunction, match="MAIN_TABLE is malformed"):
        LendingSettings.from_env({**LENDING_ENV, "MAIN_TABLE": "lendbridge-dev-MainTable\n"})


def test_settings_are_frozen() -> None:
    import dataclasses

    settings = LendingSettings.from_env(LENDING_ENV)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.main_table = "other"  # type: ignore[misc]


def test_a_field_of_a_type_no_variable_can_hold_is_a_programming_error() -> None:
    from lendbridge.settings import FunctionSettings

    class Odd(FunctionSettings):
        retries: int

    with pytest.raises(TypeError, match="cannot be read as"):
        Odd.from_env({"RETRIES": "3"})
