"""The Cognito post-confirmation trigger: one SendMessage for a verified sign-up, nothing else,
whatever the number of invitations; no email in the message, the logs or the trace."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lendbridge.handlers import cognito_triggers
from lendbridge.wiring import post_confirmation as post_confirmation_wiring
from tests.events import FakeContext

EMAIL = "Ada.Lovelace@Example.com"


def confirmation_event(
    trigger_source: str = "PostConfirmation_ConfirmSignUp", email_verified: str = "true"
) -> dict[str, Any]:
    """The event Cognito sends after ConfirmSignUp (the documented shape)."""
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_example",
        "userName": "ada.lovelace@example.com",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client-1"},
        "triggerSource": trigger_source,
        "request": {
            "userAttributes": {
                "sub": "0f5c0c46-1111-2222-3333-444455556666",
                "email": EMAIL,
                "email_verified": email_verified,
                "name": "Ada Lovelace",
                "cognito:user_status": "CONFIRMED",
            }
        },
        "response": {},
    }


class AwsCalls:
    """Every AWS operation the trigger's clients make, seen through botocore's event hook."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def client(self, service: str) -> Any:
        made = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
        made.meta.events.register("before-call.*.*", self._record)
        return made

    def _record(self, model: Any, **_: Any) -> None:
        self.operations.append(f"{model.service_model.service_name}:{model.name}")


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, AwsCalls]]:
    calls = AwsCalls()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="claims")["QueueUrl"]
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("CLAIMS_QUEUE_URL", url)
        # Where the old trigger claimed inline: any table access would be counted (and fail).
        monkeypatch.setenv("MAIN_TABLE", "main")
        monkeypatch.setenv("AUDIT_TABLE", "audit")
        monkeypatch.setattr(post_confirmation_wiring, "client", calls.client)
        cognito_triggers.confirmations.reset()
        yield sqs, url, calls
        cognito_triggers.confirmations.reset()


def _messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in received]


def test_a_verified_sign_up_is_handed_to_the_claim_worker_in_one_call(
    queue: tuple[Any, str, AwsCalls], caplog: pytest.LogCaptureFixture
) -> None:
    sqs, url, calls = queue
    event = confirmation_event()
    started = time.perf_counter()
    answer = cognito_triggers.handler(event, FakeContext())
    elapsed = time.perf_counter() - started
    assert answer == event, "Cognito expects its event back"
    assert calls.operations == ["sqs:SendMessage"]
    assert elapsed < 1.0, f"{elapsed:.3f} s"
    [message] = _messages(sqs, url)
    assert message == {
        "user_id": "0f5c0c46-1111-2222-3333-444455556666",
        "email_digest": hashlib.sha256(b"ada.lovelace@example.com").hexdigest(),
        "full_name": "Ada Lovelace",
        "request_id": "test-invocation",
    }
    logged = [vars(record) for record in caplog.records]
    assert [entry["msg"] for entry in logged] == ["invitation_claims_handed_off"]
    assert logged[0]["user_id"] == "0f5c0c46-1111-2222-3333-444455556666"
    assert "lovelace@" not in str(logged).lower()


@pytest.mark.parametrize(
    ("trigger_source", "email_verified"),
    [
        ("PostConfirmation_ConfirmSignUp", "false"),
        ("PostConfirmation_ConfirmSignUp", ""),
        ("PostConfirmation_ConfirmForgotPassword", "true"),
    ],
)
def test_nothing_is_handed_on_without_a_verified_sign_up(
    queue: tuple[Any, str, AwsCalls], trigger_source: str, email_verified: str
) -> None:
    sqs, url, calls = queue
    event = confirmation_event(trigger_source, email_verified)
    assert cognito_triggers.handler(event, FakeContext()) == event
    assert calls.operations == []
    assert _messages(sqs, url) == []


def test_a_failed_hand_off_fails_the_confirmation(queue: tuple[Any, str, AwsCalls]) -> None:
    """Cognito then reports the error to the client and the function's Errors alarm pages:
    a lost message would leave the invitations unclaimed without a trace."""
    sqs, url, _ = queue
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(Exception, match="NonExistentQueue|does not exist"):
        cognito_triggers.handler(confirmation_event(), FakeContext())


def test_what_the_trigger_hands_off_is_what_the_claim_worker_reads(queue: tuple[Any, str, AwsCalls]) -> None:
    # The two sides no longer share a model: the trigger writes with the standard library.
    from lendbridge.data.claim_messages import claim_request_of
    from lendbridge.domain.claims import ClaimRequest

    sqs, url, _ = queue
    event = confirmation_event()
    event["request"]["userAttributes"]["name"] = "Zoë Ångström"
    cognito_triggers.handler(event, FakeContext())
    [received] = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert claim_request_of(received["Body"]) == ClaimRequest(
        user_id="0f5c0c46-1111-2222-3333-444455556666",
        email_digest=hashlib.sha256(b"ada.lovelace@example.com").hexdigest(),
        full_name="Zoë Ångström",
        request_id="test-invocation",
    )
