"""The webhooks table on DynamoDB Local: subscriptions under their owner (newest first, deleted
ones out of the list), version-checked writes, attempts that expire, a loan's viewers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lendbridge.data.webhooks import DynamoWebhookStore
from lendbridge.domain.ports import new_id
from lendbridge.domain.webhook_events import ViewerChange
from lendbridge.domain.webhooks import Attempt, Job, Outcome, Subscription, time_ordered_id
from lendbridge.timestamps import iso

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(dynamodb: Any, tables: dict[str, str]) -> DynamoWebhookStore:
    return DynamoWebhookStore(dynamodb, tables["WebhooksTable"])


def _subscription(owner: str, at: datetime) -> Subscription:
    return Subscription(
        webhook_id=time_ordered_id(at),
        owner_id=owner,
        url="https://hooks.example.com/in",
        events=("loan.created", "loan.funded"),
        active=True,
        sealed_secret=b"\x00sealed\xff",
        version=1,
        created_at=at,
        updated_at=at,
    )


def test_subscriptions_round_trip_and_belong_to_their_owner(store: DynamoWebhookStore) -> None:
    owner = new_id()
    made = _subscription(owner, NOW)
    store.create(made)
    assert store.get(owner, made.webhook_id) == made
    assert store.get(new_id(), made.webhook_id) is None
    rotated = replace(made, previous_secret=b"old", previous_until=NOW + timedelta(hours=24), version=2)
    assert store.replace(rotated, 1) is True
    assert store.replace(replace(rotated, version=3), 1) is False  # someone else wrote version 2
    assert store.get(owner, made.webhook_id) == rotated


def test_the_owners_list_is_newest_first_pages_and_leaves_deleted_ones_out(store: DynamoWebhookStore) -> None:
    owner = new_id()
    made = [_subscription(owner, NOW + timedelta(seconds=n)) for n in range(4)]
    for subscription in made:
        store.create(subscription)
    store.replace(replace(made[1], deleted_at=NOW, active=False, version=2), 1)
    seen, position = [], None
    while True:
        page = store.page(owner, 2, position)
        seen += [s.webhook_id for s in page.items]
        if not page.has_more:
            break
        position = page.next_position
    assert seen == [made[3].webhook_id, made[2].webhook_id, made[0].webhook_id]
    # The fan-out's read leaves deleted ones out too: kept, they took its room from live ones.
    assert {s.webhook_id for s in store.subscriptions_of(owner)} == {made[n].webhook_id for n in (0, 2, 3)}


def test_attempts_are_listed_newest_first_and_expire(
    store: DynamoWebhookStore, dynamodb: Any, tables: dict[str, str]
) -> None:
    webhook_id = new_id()
    first = Attempt(webhook_id, "msg_a", "loan.funded", 1, iso(NOW), Outcome.PENDING, next_attempt_at=NOW)
    store.record(first, NOW + timedelta(days=30))
    job = Job("msg_a", webhook_id, "owner", "loan.funded", iso(NOW), {}, 1, iso(NOW), NOW.timestamp())
    assert store.outcome_of(job) is Outcome.PENDING
    store.record(replace(first, outcome=Outcome.FAILED, attempted_at=NOW, status_code=500, error="HTTP 500"), NOW)
    later = NOW + timedelta(seconds=5)
    store.record(Attempt(webhook_id, "msg_a", "loan.funded", 2, iso(later), Outcome.DELIVERED, later, 200), later)
    assert store.outcome_of(job) is Outcome.FAILED
    page = store.attempts_page(webhook_id, 10, None)
    assert [(a.attempt, a.outcome, a.status_code) for a in page.items] == [
        (2, Outcome.DELIVERED, 200),
        (1, Outcome.FAILED, 500),
    ]
    assert page.items[1].error == "HTTP 500"
    one = store.attempts_page(webhook_id, 1, None)
    assert one.has_more
    assert [a.attempt for a in store.attempts_page(webhook_id, 1, one.next_position).items] == [1]
    items = dynamodb.query(
        TableName=tables["WebhooksTable"],
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ATTEMPTS#{webhook_id}"}},
    )["Items"]
    assert all("expires_at" in item for item in items)


def test_a_loans_viewers_come_and_go(store: DynamoWebhookStore) -> None:
    loan_id = new_id()
    store.set_viewer(ViewerChange(loan_id, "lender-1", True))
    store.set_viewer(ViewerChange(loan_id, "lender-2", True))
    store.set_viewer(ViewerChange(loan_id, "lender-1", True))
    assert sorted(store.viewers(loan_id)) == ["lender-1", "lender-2"]
    store.set_viewer(ViewerChange(loan_id, "lender-1", False))
    assert store.viewers(loan_id) == ["lender-2"]
