"""A user invited to 100 loans confirms their sign-up: the post-confirmation trigger makes one
SendMessage and touches no table; the claim worker then claims all 100 on DynamoDB Local,
page by page, each in its own conditional write; replaying its message changes nothing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lendbridge.domain.lending import InvitationClaims, LoanTerms
from lendbridge.domain.loans import Invitee, ParticipantStatus
from lendbridge.domain.ports import utc_now
from lendbridge.handlers import cognito_triggers, invitation_claims
from lendbridge.wiring import claims as claims_wiring
from lendbridge.wiring import post_confirmation as post_confirmation_wiring
from tests.events import FakeContext
from tests.integration.conftest import World

TERMS = LoanTerms(Decimal("1000.00"), Decimal("5.0"), 12, "Claims")
INVITATIONS = 100
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/claims"


class CountedClients:
    """Clients as ``lendbridge.aws.client`` makes them, each AWS operation recorded; SQS is
    stubbed (its request validated against the service model) and keeps the bodies sent."""

    def __init__(self, dynamodb: Any) -> None:
        self.operations: list[str] = []
        self.sent: list[str] = []
        self._dynamodb = dynamodb
        self._stubbers: list[Stubber] = []
        dynamodb.meta.events.register("before-parameter-build.*.*", self._record)

    def __call__(self, service: str) -> Any:
        if service == "dynamodb":
            return self._dynamodb
        made = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
        stubber = Stubber(made)
        for _ in range(5):
            stubber.add_response("send_message", {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": "0" * 32})
        stubber.activate()
        self._stubbers.append(stubber)
        made.meta.events.register("before-parameter-build.*.*", self._record)
        return made

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.operations.append(f"{model.service_model.service_name}:{model.name}")
        if model.name == "SendMessage":
            self.sent.append(params["MessageBody"])

    def close(self) -> None:
        for stubber in self._stubbers:
            stubber.deactivate()
        self._dynamodb.meta.events.unregister("before-parameter-build.*.*", self._record)


@pytest.fixture
def clients(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountedClients]:
    counted = CountedClients(world.dynamodb)
    monkeypatch.setenv("CLAIMS_QUEUE_URL", QUEUE_URL)
    monkeypatch.setenv("AUDIT_TABLE", world.tables["AuditTable"])
    monkeypatch.setattr(post_confirmation_wiring, "client", counted)
    monkeypatch.setattr(claims_wiring, "client", counted)
    cognito_triggers.confirmations.reset()
    invitation_claims.claims.reset()
    yield counted
    counted.close()
    cognito_triggers.confirmations.reset()
    invitation_claims.claims.reset()


def invite_to_loans(world: World, email: str, count: int) -> list[str]:
    """``count`` loans, each inviting ``email``; returns the participant ids, oldest first."""
    _, actor = world.user("borrower")
    ids = []
    for _ in range(count):
        loan = world.lending.create_loan(actor, TERMS, [Invitee(email, Decimal("10"))])
        [participant] = world.store.get(loan.loan_id).participants  # type: ignore[union-attr]
        ids.append(participant.participant_id)
    return ids


def newcomer(world: World, email: str) -> str:
    """Registration as in prod: the profile exists, the email is not verified yet."""
    from lendbridge.domain.accounts import UserProfile
    from lendbridge.domain.ports import Actor

    user_id = str(uuid.uuid4())
    world.users.create(UserProfile(user_id, email, "New Comer", datetime.now(UTC)), Actor(user_id, "register"))
    return user_id


def confirmation(user_id: str, email: str) -> dict[str, Any]:
    return {
        "version": "1",
        "region": "us-east-1",
        "userPoolId": "us-east-1_example",
        "userName": email,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client-1"},
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "request": {"userAttributes": {"sub": user_id, "email": email, "email_verified": "true", "name": "New Comer"}},
        "response": {},
    }


def sqs_event(*bodies: str) -> dict[str, Any]:
    """What Lambda's SQS poller hands the worker."""
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:claims",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def pending_ids(world: World, user_id: str) -> list[str]:
    page = world.lending.lender_participations(user_id, ParticipantStatus.PENDING, 100, None)
    assert page.next_position is None
    return sorted(participant.participant_id for participant, _ in page.items)


def test_a_user_invited_to_100_loans_confirms_in_one_call_and_the_worker_claims_them_all(
    world: World, clients: CountedClients
) -> None:
    email = f"invited-{uuid.uuid4().hex[:10]}@example.com"
    invited = invite_to_loans(world, email, INVITATIONS)
    user_id = newcomer(world, email)

    clients.operations.clear()
    cognito_triggers.handler(confirmation(user_id, email), FakeContext())
    # Constant work whatever the number of invitations: the count of calls, not a timing, is the
    # guarantee (time on a shared machine proves nothing).
    assert clients.operations == ["sqs:SendMessage"], "constant work: no table access, one message"
    [body] = clients.sent
    assert email.split("@")[0] not in body
    assert pending_ids(world, user_id) == [], "nothing is claimed before the worker runs"

    # Small pages, so the worker must follow the index's pages to the end.
    invitation_claims.claims.override(InvitationClaims(world.store, utc_now, page_size=30))
    clients.operations.clear()
    result = invitation_claims.handler(sqs_event(body), FakeContext())
    assert result == {"batchItemFailures": []}
    assert clients.operations.count("dynamodb:Query") == 4  # 30 + 30 + 30 + 10
    assert clients.operations.count("dynamodb:TransactWriteItems") == INVITATIONS
    assert pending_ids(world, user_id) == sorted(invited)

    # A redelivered message claims nothing again and changes nothing.
    versions = {p.participant_id: p.version for p, _ in _pending(world, user_id)}
    assert invitation_claims.handler(sqs_event(body), FakeContext()) == {"batchItemFailures": []}
    assert {p.participant_id: p.version for p, _ in _pending(world, user_id)} == versions


def _pending(world: World, user_id: str) -> list[Any]:
    return list(world.lending.lender_participations(user_id, ParticipantStatus.PENDING, 100, None).items)


def test_the_worker_claims_through_its_own_wiring_and_reports_only_the_bad_message(
    world: World, clients: CountedClients
) -> None:
    email = f"invited-{uuid.uuid4().hex[:10]}@example.com"
    invited = invite_to_loans(world, email, 3)
    user_id = newcomer(world, email)
    cognito_triggers.handler(confirmation(user_id, email), FakeContext())
    [good] = clients.sent
    event = sqs_event("{not json", good, json.dumps({"user_id": user_id, "email_digest": "not-a-digest"}))
    result = invitation_claims.handler(event, FakeContext())
    failed = [record["messageId"] for record in event["Records"][::2]]
    assert result == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    assert pending_ids(world, user_id) == sorted(invited)
