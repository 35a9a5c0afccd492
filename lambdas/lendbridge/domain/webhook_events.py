"""Webhook events from main-table changes (the stream's old and new images, as plain values).

The table is the source of truth: an event exists only because the change it describes was
written. Each event carries ids and amounts only (no names, emails or bank data) and who may
see the resource it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Image = Mapping[str, Any]

PARTICIPANT_OUTCOMES = {"ACCEPTED": "participant.accepted", "DECLINED": "participant.declined"}
EXTRACTION_OUTCOMES = {"SUCCEEDED": "extraction.succeeded", "FAILED": "extraction.failed"}


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # the change's own id (the stream record's), stable across replays
    type: str
    occurred_at: str  # ISO-8601 UTC
    data: dict[str, Any]
    # Users who may see the resource, known from the change itself; a loan's lenders are added
    # by the fan-out from what it has recorded about the loan's participants.
    audience: frozenset[str]
    loan_id: str | None = None


def _money(value: Any) -> str | None:
    return None if value is None else f"{Decimal(str(value)):.2f}"


def _status_became(old: Image | None, new: Image, *statuses: str) -> str | None:
    status = new.get("status")
    if status in statuses and (old is None or old.get("status") != status):
        return str(status)
    return None


def events_of(event_id: str, old: Image | None, new: Image | None, occurred_at: str) -> list[WebhookEvent]:
    """The events one change makes: none for a removal or an entity webhooks do not cover."""
    if new is None:
        return []
    entity = new.get("entity")
    when = str(new.get("updated_at") or occurred_at)
    if entity == "loan":
        return _loan_events(event_id, old, new, when)
    if entity == "participant":
        return _participant_events(event_id, old, new, when)
    if entity == "booking" and _status_became(old, new, "BOOKED"):
        data = {
            "booking_id": new.get("booking_id"),
            "product_id": new.get("product_id"),
            "amount": _money(new.get("amount")),
            "currency": new.get("currency"),
        }
        return [WebhookEvent(event_id, "booking.booked", when, data, _owner(new))]
    if entity == "extraction":
        became = _status_became(old, new, *EXTRACTION_OUTCOMES)
        if became:
            data = {
                "extraction_id": new.get("extraction_id"),
                "booking_id": new.get("booking_id"),
                "document_id": new.get("document_id"),
                "status": became,
            }
            return [WebhookEvent(event_id, EXTRACTION_OUTCOMES[became], when, data, _owner(new))]
    return []


def _owner(image: Image) -> frozenset[str]:
    owner = image.get("created_by")
    return frozenset({str(owner)}) if owner else frozenset()


def _loan_events(event_id: str, old: Image | None, new: Image, when: str) -> list[WebhookEvent]:
    if old is None:
        kind = "loan.created"
    elif _status_became(old, new, "FUNDED"):
        kind = "loan.funded"
    elif _status_became(old, new, "CANCELLED"):
        kind = "loan.cancelled"
    else:
        return []
    data = {
        "loan_id": new.get("loan_id"),
        "status": new.get("status"),
        "amount": _money(new.get("amount")),
        "total_funded": _money(new.get("total_funded")),
    }
    audience = frozenset({str(new["borrower_id"])}) if new.get("borrower_id") else frozenset()
    return [WebhookEvent(event_id, kind, when, data, audience, loan_id=str(new.get("loan_id")))]


def _participant_events(event_id: str, old: Image | None, new: Image, when: str) -> list[WebhookEvent]:
    if old is None:
        kind = "participant.invited"
    else:
        became = _status_became(old, new, *PARTICIPANT_OUTCOMES)
        if became is None:
            return []
        kind = PARTICIPANT_OUTCOMES[became]
    data = {
        "loan_id": new.get("loan_id"),
        "participant_id": new.get("participant_id"),
        "contribution_amount": _money(new.get("contribution_amount")),
        "status": new.get("status"),
    }
    audience = frozenset(str(who) for who in (new.get("borrower_id"), new.get("lender_id")) if who)
    return [WebhookEvent(event_id, kind, when, data, audience)]


@dataclass(frozen=True)
class ViewerChange:
    """A loan's participant who may (or no longer may) see the loan's events."""

    loan_id: str
    user_id: str
    sees: bool


def viewer_change(old: Image | None, new: Image | None) -> ViewerChange | None:
    """Lenders see their loan while their participation is not REMOVED (as GET /v1/loans/{id})."""
    image = new if new is not None else old
    if image is None or image.get("entity") != "participant" or not image.get("lender_id"):
        return None
    sees = new is not None and new.get("status") != "REMOVED"
    return ViewerChange(str(image["loan_id"]), str(image["lender_id"]), sees)
