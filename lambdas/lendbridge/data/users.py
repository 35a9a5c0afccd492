"""User profiles and the email -> user lookup that keeps emails unique."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data import keys
from lendbridge.data.audit import audit_put
from lendbridge.data.dynamo import cancellation_codes, error_code, from_item, put_action, to_item, translated_errors
from lendbridge.domain.accounts import EmailTaken, UserProfile
from lendbridge.domain.ports import Actor, IdGenerator
from lendbridge.timestamps import iso


class DynamoUserStore:
    def __init__(self, client: Any, table: str, audit_table: str, new_id: IdGenerator) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id

    def create(self, profile: UserProfile, actor: Actor) -> None:
        """Profile, email lookup and audit entry in one transaction; a taken email cancels all."""
        created_at = iso(profile.created_at)
        profile_item = {
            "PK": keys.user_pk(profile.user_id),
            "SK": keys.PROFILE,
            "entity": "user",
            "user_id": profile.user_id,
            "email": keys.normalise_email(profile.email),
            "full_name": profile.full_name,
            "created_at": created_at,
            "created_by": actor.user_id,
            "updated_at": created_at,
            "updated_by": actor.user_id,
            "version": 1,
        }
        lookup_item = {
            "PK": keys.email_pk(profile.email),
            "SK": keys.PROFILE,
            "entity": "email_lookup",
            "user_id": profile.user_id,
            "full_name": profile.full_name,
            "created_at": created_at,
            "created_by": actor.user_id,
            "updated_at": created_at,
            "updated_by": actor.user_id,
            "version": 1,
        }
        audited = {k: profile_item[k] for k in ("user_id", "full_name", "created_at")}
        actions = [
            put_action(self._table, profile_item),
            put_action(self._table, lookup_item),
            audit_put(
                table=self._audit_table,
                audit_id=self._new_id(),
                timestamp=created_at,
                entity="user",
                entity_id=profile.user_id,
                action="CREATE",
                actor=actor,
                before=None,
                after=audited,
            ),
        ]
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and "ConditionalCheckFailed" in cancellation_codes(
                error
            ):
                raise EmailTaken("An account with this email already exists") from error
            raise

    def get(self, user_id: str) -> UserProfile | None:
        with translated_errors():
            response = self._client.get_item(
                TableName=self._table, Key=to_item({"PK": keys.user_pk(user_id), "SK": keys.PROFILE})
            )
        item = response.get("Item")
        return profile_of(from_item(item)) if item else None


def profile_of(item: dict[str, Any]) -> UserProfile:
    return UserProfile(
        user_id=item["user_id"],
        email=item["email"],
        full_name=item["full_name"],
        created_at=datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")),
    )
