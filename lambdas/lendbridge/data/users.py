"""User profiles and the email -> user lookup that keeps emails unique."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item, to_item, translated_errors
from lendbridge.data.transactions import Cancellation, Transaction
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
        txn = Transaction(self._client, self._table, audit_table=self._audit_table, new_id=self._new_id)
        txn.put(profile_item)
        txn.put(lookup_item)
        txn.audit(actor, created_at, "user", profile.user_id, "CREATE", None, audited)
        txn.commit(_email_taken)

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


def _email_taken(cancellation: Cancellation) -> Exception | None:
    """Only the two puts carry conditions: either failing means the email (or id) is taken."""
    return EmailTaken("An account with this email already exists") if cancellation.failed else None
