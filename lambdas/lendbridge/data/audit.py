"""Audit entries, written as one more action inside the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from lendbridge.data.dynamo import put_action
from lendbridge.data.keys import audit_pk
from lendbridge.domain.history import AUDIT_ACTIONS, AuditAction, AuditEntry
from lendbridge.domain.ports import Actor
from lendbridge.timestamps import parse_time

Action = AuditAction

# Never copied into an audit entry, whatever a caller passes in before/after.
_NEVER_AUDITED = frozenset({"routing_number", "account_number", "routing_ciphertext", "account_ciphertext"})


def audit_put(
    *,
    table: str,
    audit_id: str,
    timestamp: str,
    entity: str,
    entity_id: str,
    action: Action,
    actor: Actor,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    scope_pk: str | None = None,
) -> dict[str, Any]:
    """A TransactWriteItems ``Put`` of one audit entry.

    ``scope_pk`` files the entry under another entity's partition (a participant's changes
    under its loan), so one query reads a loan's whole audit log.
    """
    entry = {
        "PK": scope_pk or audit_pk(entity, entity_id),
        "SK": f"{timestamp}#{audit_id}",
        "audit_id": audit_id,
        "timestamp": timestamp,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "user_id": actor.user_id,
        "changes": {"before": _scrub(before), "after": _scrub(after)},
        "ip_address": actor.ip_address,
        "user_agent": actor.user_agent,
        "request_id": actor.request_id,
    }
    return put_action(table, entry)


def _scrub(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v for k, v in values.items() if k not in _NEVER_AUDITED}


def audit_entry_of(item: dict[str, Any]) -> AuditEntry:
    action = item["action"]
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    timestamp = parse_time(item["timestamp"])
    if timestamp is None:
        raise ValueError("missing timestamp")
    return AuditEntry(
        audit_id=str(item["audit_id"]),
        timestamp=timestamp,
        entity=str(item["entity"]),
        entity_id=str(item["entity_id"]),
        action=cast(AuditAction, action),
        user_id=str(item["user_id"]),
        changes=dict(item.get("changes", {})),
        ip_address=item.get("ip_address"),
        user_agent=item.get("user_agent"),
        request_id=item.get("request_id"),
    )
