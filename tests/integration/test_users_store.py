"""User profiles on DynamoDB Local: uniqueness, audit in the same transaction, error translation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item
from lendbridge.data.users import DynamoUserStore
from lendbridge.domain.accounts import EmailTaken, UserProfile
from lendbridge.domain.ports import Actor, new_id
from lendbridge.errors import DependencyUnavailable, Throttled
from tests.integration.faults import failing

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(dynamodb: Any, tables: dict[str, str]) -> DynamoUserStore:
    return DynamoUserStore(dynamodb, tables["MainTable"], tables["AuditTable"], new_id)


def profile(email: str) -> UserProfile:
    return UserProfile(user_id=str(uuid.uuid4()), email=email, full_name="Ada", created_at=NOW)


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def audit_entries(dynamodb: Any, table: str, user_id: str) -> list[dict[str, Any]]:
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.audit_pk("user", user_id)}},
        ConsistentRead=True,
    )["Items"]
    return [from_item(item) for item in items]


def test_create_then_get_round_trips_with_audit_fields(
    store: DynamoUserStore, dynamodb: Any, tables: dict[str, str]
) -> None:
    user = profile(unique_email())
    store.create(user, Actor(user_id=user.user_id, request_id="req-1", ip_address="203.0.113.7"))
    assert store.get(user.user_id) == user
    stored = from_item(
        dynamodb.get_item(
            TableName=tables["MainTable"], Key={"PK": {"S": keys.user_pk(user.user_id)}, "SK": {"S": "PROFILE"}}
        )["Item"]
    )
    assert (stored["version"], stored["created_by"], stored["updated_by"]) == (1, user.user_id, user.user_id)
    [entry] = audit_entries(dynamodb, tables["AuditTable"], user.user_id)
    assert (entry["action"], entry["entity"], entry["request_id"], entry["ip_address"]) == (
        "CREATE",
        "user",
        "req-1",
        "203.0.113.7",
    )
    assert entry["changes"]["after"]["full_name"] == "Ada"


def test_a_taken_email_writes_nothing_at_all(store: DynamoUserStore, dynamodb: Any, tables: dict[str, str]) -> None:
    email = unique_email()
    first, second = profile(email), profile(email.upper())
    store.create(first, Actor(user_id=first.user_id, request_id="req-1"))
    with pytest.raises(EmailTaken):
        store.create(second, Actor(user_id=second.user_id, request_id="req-2"))
    assert store.get(second.user_id) is None
    assert audit_entries(dynamodb, tables["AuditTable"], second.user_id) == []


def test_emails_are_not_stored_in_keys(store: DynamoUserStore, dynamodb: Any, tables: dict[str, str]) -> None:
    email = unique_email()
    store.create(profile(email), Actor(user_id="u", request_id="r"))
    lookup = dynamodb.get_item(
        TableName=tables["MainTable"], Key={"PK": {"S": keys.email_pk(email)}, "SK": {"S": "PROFILE"}}
    )["Item"]
    assert email not in lookup["PK"]["S"]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_throttling_after_botocore_retries_is_throttled(store: DynamoUserStore, dynamodb: Any, code: str) -> None:
    user = profile(unique_email())
    with failing(dynamodb, "TransactWriteItems", code) as attempts, pytest.raises(Throttled) as raised:
        store.create(user, Actor(user_id=user.user_id, request_id="r"))
    assert raised.value.retry_after == 5
    assert len(attempts) == 3, "botocore's standard retry mode makes 3 attempts"
    assert store.get(user.user_id) is None


@pytest.mark.parametrize(("code", "status"), [("InternalServerError", 500), ("ServiceUnavailable", 503)])
def test_server_errors_after_retries_are_unavailable(
    store: DynamoUserStore, dynamodb: Any, code: str, status: int
) -> None:
    with failing(dynamodb, "GetItem", code, status=status), pytest.raises(DependencyUnavailable) as raised:
        store.get("anyone")
    assert raised.value.retry_after == 10


def test_a_transient_throttle_is_absorbed_by_botocore(store: DynamoUserStore, dynamodb: Any) -> None:
    user = profile(unique_email())
    with failing(dynamodb, "TransactWriteItems", "ThrottlingException", times=1) as attempts:
        store.create(user, Actor(user_id=user.user_id, request_id="r"))
    assert len(attempts) == 1
    assert store.get(user.user_id) == user
