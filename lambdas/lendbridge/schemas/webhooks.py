"""Request and response bodies of /v1/webhooks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, model_validator

from lendbridge.domain.webhook_rules import EVENT_TYPES, MAX_URL_LENGTH
from lendbridge.domain.webhooks import Attempt, Subscription
from lendbridge.schemas.common import Omittable, Strict, selection_of
from lendbridge.timestamps import iso

EventType = Literal[
    "loan.created",
    "loan.funded",
    "loan.cancelled",
    "participant.invited",
    "participant.accepted",
    "participant.declined",
    "extraction.succeeded",
    "extraction.failed",
    "booking.booked",
]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]  # noqa: S101

# The text rule only; the host is resolved by the server, which refuses any that reaches a
# private, loopback, link-local, shared or reserved address (400 on url).
WebhookUrl = Annotated[
    str,
    Field(
        min_length=9,
        max_length=MAX_URL_LENGTH,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
        description=(
            "An https:// url whose host resolves only to public addresses (checked now and at every delivery); "
            "redirects are not followed. http:// is refused, except http://127.0.0.1 on the local stack"
        ),
        examples=["https://hooks.example.com/lendbridge"],
    ),
]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


class CreateWebhookRequest(Strict):
    EXAMPLE = {"url": "https://hooks.example.com/lendbridge", "events": ["loan.funded", "participant.accepted"]}

    url: WebhookUrl
    events: Events


class PatchWebhookRequest(Strict):
    EXAMPLE = {"events": ["loan.funded"], "active": True}

    url: Omittable[WebhookUrl] = None
    events: Omittable[Events] = None
    # Strict: pydantic would otherwise read 0, "no" and "off" as false and 1, "yes" as true.
    active: Omittable[StrictBool] = None

    AT_LEAST_ONE_OF = ("url", "events", "active")

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("url", "events", "active") if name in self.model_fields_set}

    @model_validator(mode="after")
    def _something_to_change(self) -> PatchWebhookRequest:
        if not self.changes():
            raise ValueError("Name at least one of url, events, active")
        return self


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    active: bool
    disabled_reason: str | None = Field(None, description="Why the server disabled it (a 410 Gone answer)")
    version: int
    created_at: str
    updated_at: str


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_ + base64): shown only in this answer",
        pattern=r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$",
    )


class SecretOut(BaseModel):
    secret: str = Field(description="The new signing secret; the old one also signs for 24 hours")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]
    count: int
    has_more: bool
    next_token: str | None


class DeliveryOut(BaseModel):
    message_id: str
    event_type: str
    attempt: int
    status_code: int | None = None
    error: str | None = None
    attempted_at: str | None = Field(description="When the attempt was made; null while PENDING")
    next_attempt_at: str | None = None
    outcome: Literal["PENDING", "DELIVERED", "FAILED", "DEAD"]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    count: int
    has_more: bool
    next_token: str | None


class TestQueuedOut(BaseModel):
    message_id: str
    event_type: Literal["webhook.test"] = "webhook.test"


def present_webhook(subscription: Subscription) -> WebhookOut:
    return WebhookOut(
        webhook_id=subscription.webhook_id,
        url=subscription.url,
        events=list(subscription.events),
        active=subscription.active,
        disabled_reason=subscription.disabled_reason,
        version=subscription.version,
        created_at=iso(subscription.created_at),
        updated_at=iso(subscription.updated_at),
    )


def present_attempt(attempt: Attempt) -> DeliveryOut:
    return DeliveryOut(
        message_id=attempt.message_id,
        event_type=attempt.event_type,
        attempt=attempt.attempt,
        status_code=attempt.status_code,
        error=attempt.error,
        attempted_at=iso(attempt.attempted_at) if attempt.attempted_at else None,
        next_attempt_at=iso(attempt.next_attempt_at) if attempt.next_attempt_at else None,
        outcome=attempt.outcome.value,
    )


# What a GET with ``fields=a,b`` answers, and the names it takes.
WebhookSelection = selection_of(WebhookOut)
WEBHOOK_FIELDS = frozenset(WebhookOut.model_fields)
