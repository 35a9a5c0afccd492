"""The stream and queue handlers on in-memory ports: stream records become queued messages for
the right subscriptions (lenders learnt from participant images), queued messages become
recorded attempts, and a failing record is reported alone."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from lendbridge.domain.webhooks import FanOut
from lendbridge.handlers import webhook_delivery, webhook_events
from tests.events import FakeContext
from tests.unit.test_webhook_delivery import World, subscribe

_serialize = TypeSerializer().serialize


def _image(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serialize(value) for key, value in values.items()}


def _record(event_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None, sequence: str) -> dict[str, Any]:
    change: dict[str, Any] = {"SequenceNumber": sequence, "ApproximateCreationDateTime": 1764504000}
    if old is not None:
        change["OldImage"] = _image(old)
    if new is not None:
        change["NewImage"] = _image(new)
    return {
        "eventID": event_id,
        "eventName": "MODIFY" if old else "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    }


LOAN = {"entity": "loan", "loan_id": "L", "borrower_id": "B", "amount": 100, "total_funded": 0, "status": "FUNDING"}
PARTICIPANT = {
    "entity": "participant",
    "loan_id": "L",
    "participant_id": "P",
    "borrower_id": "B",
    "lender_id": "K",
    "lender_email": "k@example.com",
    "contribution_amount": 100,
    "status": "PENDING",
}


@pytest.fixture
def world() -> Any:
    made = World()
    webhook_events.fan_out.override(FanOut(made.store, made.queue, made.clock))
    webhook_delivery.deliverer.override(made.deliverer((0, 5)))
    yield made
    webhook_events.fan_out.reset()
    webhook_delivery.deliverer.reset()


def test_stream_records_become_one_message_per_matching_subscription(world: World) -> None:
    borrower_hook, _ = subscribe(world, "B", ["loan.funded", "participant.accepted"])
    lender_hook, _ = subscribe(world, "K", ["loan.funded"])
    accepted = {**PARTICIPANT, "status": "ACCEPTED"}
    funded = {**LOAN, "status": "FUNDED", "total_funded": 100}
    event = {
        "Records": [
            _record("e1", None, PARTICIPANT, "1"),
            _record("e2", PARTICIPANT, accepted, "2"),
            _record("e3", LOAN, funded, "3"),
        ]
    }
    result = webhook_events.handler(event, FakeContext())
    assert result == {"batchItemFailures": []}
    sent = [(job.event_type, job.webhook_id) for job, _ in world.queue.sent]
    assert sent == [
        ("participant.accepted", borrower_hook.webhook_id),
        ("loan.funded", borrower_hook.webhook_id),
        ("loan.funded", lender_hook.webhook_id),
    ]
    assert all("k@example.com" not in json.dumps(job.data) for job, _ in world.queue.sent)


def test_a_record_that_fails_is_reported_alone(world: World) -> None:
    subscribe(world, "B", ["loan.created"])
    broken = _record("e9", None, {**LOAN, "loan_id": "L2"}, "9")
    original = world.store.subscriptions_of

    def refuse(owner_id: str) -> Any:
        raise RuntimeError("table unavailable")

    world.store.subscriptions_of = refuse  # type: ignore[method-assign]
    quiet = _record("e8", LOAN, {**LOAN, "purpose": "no event"}, "8")
    result = webhook_events.handler({"Records": [quiet, broken]}, FakeContext())
    world.store.subscriptions_of = original  # type: ignore[method-assign]
    assert result == {"batchItemFailures": [{"itemIdentifier": "9"}]}


def test_queued_messages_are_delivered_and_recorded(world: World) -> None:
    hook, _ = subscribe(world, "B", ["loan.created"])
    world.subscriptions.send_test("B", hook.webhook_id)
    job, _ = world.queue.sent.pop()
    world.receiver.answers = [410]
    record = {
        "messageId": "m1",
        "receiptHandle": "r",
        "body": json.dumps(asdict(job)),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn",
        "awsRegion": "us-east-1",
    }
    broken = {**record, "messageId": "m2", "body": "{not json"}
    result = webhook_delivery.handler({"Records": [record, broken]}, FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert not world.store.get("B", hook.webhook_id).active  # type: ignore[union-attr]
