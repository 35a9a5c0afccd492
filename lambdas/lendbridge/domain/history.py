"""A loan's version history and funding time series, derived from each change's before and
after images (the main table's stream), so every version is recorded exactly as stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from lendbridge.domain.loans import LOAN_FIELDS
from lendbridge.domain.money import percentage

AuditAction = Literal["CREATE", "UPDATE", "DELETE"]
AUDIT_ACTIONS: frozenset[str] = frozenset({"CREATE", "UPDATE", "DELETE"})


class HistoryKind(StrEnum):
    """The records kept about a loan besides its current state. The values name the lists
    (and are part of their signed cursors), so they never change."""

    VERSION = "VERSION"
    FUNDING = "FUNDING"
    AUDIT = "audit"


@dataclass(frozen=True)
class VersionRecord:
    """A loan version exactly as stored: ``snapshot`` holds its stored attributes."""

    version: int
    snapshot: dict[str, Any]
    changed_fields: tuple[str, ...]
    changed_by: str | None
    changed_at: datetime | None
    change_reason: str | None


@dataclass(frozen=True)
class FundingPoint:
    timestamp: datetime
    version: int
    total_funded: Decimal
    funding_percentage: Decimal
    participant_count: int
    accepted_count: int
    pending_count: int


@dataclass(frozen=True)
class AuditEntry:
    audit_id: str
    timestamp: datetime
    entity: str
    entity_id: str
    action: AuditAction
    user_id: str
    changes: dict[str, Any]
    ip_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


# ``open_slots`` only enforces the cap; ``change_reason`` is recorded beside the snapshot.
SNAPSHOT_FIELDS = tuple(name for name in LOAN_FIELDS if name not in {"open_slots", "change_reason"})
_NOT_CHANGES = frozenset({"version", "updated_at", "updated_by"})
FUNDING_FIELDS = ("total_funded", "participant_count", "pending_count", "accepted_count", "declined_count")


def snapshot(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: image[name] for name in SNAPSHOT_FIELDS if name in image}


def version_entry(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    after = snapshot(new)
    before = snapshot(old) if old else {}
    changed = sorted(
        name
        for name in after.keys() | before.keys()
        if name not in _NOT_CHANGES and before.get(name) != after.get(name)
    )
    return {
        "version": int(new["version"]),
        "snapshot": after,
        "changed_fields": changed,
        "changed_by": new.get("updated_by"),
        "changed_at": new.get("updated_at"),
        "change_reason": new.get("change_reason"),
    }


def funding_point(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any] | None:
    """A point whenever the funded total or a participant count moved (and at creation)."""
    if old is not None and all(old.get(name) == new.get(name) for name in FUNDING_FIELDS):
        return None
    total_funded = Decimal(new.get("total_funded", 0))
    return {
        "timestamp": new.get("updated_at"),
        "version": int(new["version"]),
        "total_funded": total_funded,
        "funding_percentage": percentage(total_funded, Decimal(new["amount"])),
        "participant_count": int(new.get("participant_count", 0)),
        "accepted_count": int(new.get("accepted_count", 0)),
        "pending_count": int(new.get("pending_count", 0)),
    }
