"""A loan's version history and funding time series, derived from each change's before and
after images (the main table's stream), so every version is recorded exactly as stored."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lendbridge.domain.money import percentage

SNAPSHOT_FIELDS = (
    "loan_id",
    "borrower_id",
    "borrower_name",
    "amount",
    "interest_rate",
    "term_months",
    "purpose",
    "status",
    "total_invited",
    "total_funded",
    "remaining",
    "funding_percentage",
    "is_fully_funded",
    "participant_count",
    "pending_count",
    "accepted_count",
    "declined_count",
    "average_contribution",
    "largest_contribution",
    "smallest_contribution",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "deleted_at",
    "deleted_by",
    "deletion_reason",
)
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
