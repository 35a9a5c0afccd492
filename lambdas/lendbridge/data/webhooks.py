"""Webhook subscriptions, delivery attempts and loan viewers in the webhooks table.

Keys (docs/decisions.md): a subscription lives under its owner (``OWNER#<user>``,
``WEBHOOK#<id>``; ids sort by creation, so the list is a Query, newest first, and another
owner's id simply finds nothing); attempts under their webhook (``ATTEMPTS#<id>``,
``<scheduled_at>#<message_id>#<attempt>``, expiring by TTL); a loan's lenders under the loan
(``VIEWERS#<loan>``, ``USER#<user>``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lendbridge.data.dynamo import from_item, to_item, to_values, translated_errors
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.webhook_events import ViewerChange
from lendbridge.domain.webhooks import Attempt, Job, Outcome, Subscription
from lendbridge.timestamps import iso, parse_time

SUBSCRIPTION_PREFIX = "WEBHOOK#"
MAX_SUBSCRIPTIONS_READ = 100


def _owner_key(owner_id: str) -> str:
    return f"OWNER#{owner_id}"


def _attempts_key(webhook_id: str) -> str:
    return f"ATTEMPTS#{webhook_id}"


def _attempt_sort_key(scheduled_at: str, message_id: str, attempt: int) -> str:
    return f"{scheduled_at}#{message_id}#{attempt:03d}"


def subscription_item(subscription: Subscription) -> dict[str, Any]:
    return {
        "PK": _owner_key(subscription.owner_id),
        "SK": SUBSCRIPTION_PREFIX + subscription.webhook_id,
        "entity": "webhook",
        "webhook_id": subscription.webhook_id,
        "owner_id": subscription.owner_id,
        "url": subscription.url,
        "events": list(subscription.events),
        "active": subscription.active,
        "sealed_secret": subscription.sealed_secret,
        "previous_secret": subscription.previous_secret,
        "previous_until": iso(subscription.previous_until) if subscription.previous_until else None,
        "disabled_reason": subscription.disabled_reason,
        "deleted_at": iso(subscription.deleted_at) if subscription.deleted_at else None,
        "version": subscription.version,
        "created_at": iso(subscription.created_at),
        "updated_at": iso(subscription.updated_at),
    }


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def subscription_of(item: dict[str, Any]) -> Subscription:
    created = parse_time(item["created_at"])
    assert created is not None  # noqa: S101 - written by subscription_item, always present
    return Subscription(
        webhook_id=item["webhook_id"],
        owner_id=item["owner_id"],
        url=item["url"],
        events=tuple(item.get("events") or ()),
        active=bool(item.get("active")),
        sealed_secret=bytes(item["sealed_secret"]),
        version=int(item["version"]),
        created_at=created,
        updated_at=parse_time(item.get("updated_at")) or created,
        previous_secret=_bytes(item.get("previous_secret")),
        previous_until=parse_time(item.get("previous_until")),
        disabled_reason=item.get("disabled_reason"),
        deleted_at=parse_time(item.get("deleted_at")),
    )


def attempt_of(item: dict[str, Any]) -> Attempt:
    status = item.get("status_code")
    return Attempt(
        webhook_id=item["webhook_id"],
        message_id=item["message_id"],
        event_type=item["event_type"],
        attempt=int(item["attempt"]),
        scheduled_at=item["scheduled_at"],
        outcome=Outcome(item["outcome"]),
        attempted_at=parse_time(item.get("attempted_at")),
        status_code=None if status is None else int(status),
        error=item.get("error"),
        next_attempt_at=parse_time(item.get("next_attempt_at")),
    )


class DynamoWebhookStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, subscription: Subscription) -> None:
        with translated_errors():
            self._client.put_item(
                TableName=self._table,
                Item=to_item(subscription_item(subscription)),
                ConditionExpression="attribute_not_exists(PK)",
            )

    def get(self, owner_id: str, webhook_id: str) -> Subscription | None:
        key = {"PK": _owner_key(owner_id), "SK": SUBSCRIPTION_PREFIX + webhook_id}
        with translated_errors():
            found = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return subscription_of(from_item(found)) if found else None

    def page(self, owner_id: str, limit: int, position: Position | None) -> Page[Subscription]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            # Deleted subscriptions stay (their attempts are still listed) but leave the list.
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": to_values({":pk": _owner_key(owner_id), ":prefix": SUBSCRIPTION_PREFIX}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if position:
            request["ExclusiveStartKey"] = to_item({"PK": _owner_key(owner_id), "SK": position["SK"]})
        with translated_errors():
            response = self._client.query(**request)
        items = [subscription_of(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items, {"SK": from_item(last)["SK"]} if last else None)

    def subscriptions_of(self, owner_id: str) -> list[Subscription]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            # Deleted ones stay in the table; left in, they took the read's room from live ones.
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": to_values({":pk": _owner_key(owner_id), ":prefix": SUBSCRIPTION_PREFIX}),
        }
        found: list[Subscription] = []
        while True:
            with translated_errors():
                response = self._client.query(**request)
            found += [subscription_of(from_item(item)) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response or len(found) >= MAX_SUBSCRIPTIONS_READ:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def replace(self, subscription: Subscription, expected_version: int) -> bool:
        with translated_errors():
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=to_item(subscription_item(subscription)),
                    ConditionExpression="version = :expected",
                    ExpressionAttributeValues=to_values({":expected": expected_version}),
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def record(self, attempt: Attempt, expires_at: datetime) -> None:
        item = {
            "PK": _attempts_key(attempt.webhook_id),
            "SK": _attempt_sort_key(attempt.scheduled_at, attempt.message_id, attempt.attempt),
            "entity": "webhook_attempt",
            "webhook_id": attempt.webhook_id,
            "message_id": attempt.message_id,
            "event_type": attempt.event_type,
            "attempt": attempt.attempt,
            "scheduled_at": attempt.scheduled_at,
            "outcome": attempt.outcome.value,
            "attempted_at": iso(attempt.attempted_at) if attempt.attempted_at else None,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "next_attempt_at": iso(attempt.next_attempt_at) if attempt.next_attempt_at else None,
            "expires_at": int(expires_at.timestamp()),
        }
        with translated_errors():
            self._client.put_item(TableName=self._table, Item=to_item(item))

    def outcome_of(self, job: Job) -> Outcome | None:
        key = {
            "PK": _attempts_key(job.webhook_id),
            "SK": _attempt_sort_key(job.scheduled_at, job.message_id, job.attempt),
        }
        with translated_errors():
            found = self._client.get_item(
                TableName=self._table,
                Key=to_item(key),
                ConsistentRead=True,
                ProjectionExpression="outcome",
            ).get("Item")
        return Outcome(from_item(found)["outcome"]) if found else None

    def attempts_page(self, webhook_id: str, limit: int, position: Position | None) -> Page[Attempt]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": to_values({":pk": _attempts_key(webhook_id)}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if position:
            request["ExclusiveStartKey"] = to_item({"PK": _attempts_key(webhook_id), "SK": position["SK"]})
        with translated_errors():
            response = self._client.query(**request)
        items = [attempt_of(from_item(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items, {"SK": from_item(last)["SK"]} if last else None)

    def set_viewer(self, change: ViewerChange) -> None:
        key = {"PK": f"VIEWERS#{change.loan_id}", "SK": f"USER#{change.user_id}"}
        with translated_errors():
            if change.sees:
                item = {**key, "entity": "webhook_viewer", "loan_id": change.loan_id, "user_id": change.user_id}
                self._client.put_item(TableName=self._table, Item=to_item(item))
            else:
                self._client.delete_item(TableName=self._table, Key=to_item(key))

    def viewers(self, loan_id: str) -> list[str]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": to_values({":pk": f"VIEWERS#{loan_id}"}),
            "ProjectionExpression": "user_id",
        }
        found: list[str] = []
        while True:
            with translated_errors():
                response = self._client.query(**request)
            found += [str(from_item(item)["user_id"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
