"""Webhook subscriptions (the owner's API), the fan-out of events to them, and the delivery of
one message: signed, sent to a vetted address, retried on schedule, dead-lettered at the end.

Ports (store, secret box, queue, sender, resolver) are given; nothing here calls AWS or the network.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Clock
from lendbridge.domain.webhook_events import ViewerChange, WebhookEvent
from lendbridge.domain.webhook_rules import (
    DELIVERY_TIMEOUT_S,
    TEST_EVENT,
    Resolver,
    Target,
    UnsafeTarget,
    UrlPolicy,
    checked_url,
    message_id_of,
    new_secret,
    parse_target,
    signature_header,
    vetted_addresses,
    wait_before,
)
from lendbridge.errors import NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from lendbridge.timestamps import iso

PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)
MAX_QUEUE_DELAY_S = 900  # SQS's per-message DelaySeconds limit
ATTEMPT_RETENTION = timedelta(days=30)
# Live (not deleted) webhooks one user may have. Every event is queued once per matching
# subscription, so without a bound one caller could make each loan it creates thousands of
# requests to any public url; the fan-out reads at most MAX_SUBSCRIPTIONS_READ of them.
MAX_WEBHOOKS_PER_OWNER = 20


class Outcome(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    DEAD = "DEAD"


@dataclass(frozen=True)
class Subscription:
    webhook_id: str
    owner_id: str
    url: str
    events: tuple[str, ...]
    active: bool
    sealed_secret: bytes
    version: int
    created_at: datetime
    updated_at: datetime
    previous_secret: bytes | None = None
    previous_until: datetime | None = None
    disabled_reason: str | None = None
    deleted_at: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return self.active and self.deleted_at is None and (event_type in self.events or event_type == TEST_EVENT)


@dataclass(frozen=True)
class Job:
    """One message for one subscription: what a queued delivery carries (ids and amounts only)."""

    message_id: str
    webhook_id: str
    owner_id: str
    event_type: str
    occurred_at: str
    data: dict[str, Any]
    attempt: int
    scheduled_at: str  # when this attempt was planned: part of its record's key
    not_before: float  # epoch seconds; a message that arrives earlier is put back to wait


@dataclass(frozen=True)
class Attempt:
    webhook_id: str
    message_id: str
    event_type: str
    attempt: int
    scheduled_at: str
    outcome: Outcome
    attempted_at: datetime | None = None
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome | None  # None: the message was put back to wait for its time
    disabled: bool = False


class DeliveryFailed(Exception):
    """No HTTP answer: refused connection, TLS failure, timeout. The message names the kind only."""


class WebhookStore(Protocol):
    def create(self, subscription: Subscription) -> None: ...

    def get(self, owner_id: str, webhook_id: str) -> Subscription | None: ...

    def page(self, owner_id: str, limit: int, position: Position | None) -> Page[Subscription]: ...

    def subscriptions_of(self, owner_id: str) -> list[Subscription]:
        """The owner's subscriptions that are not deleted (active or not)."""
        ...

    def replace(self, subscription: Subscription, expected_version: int) -> bool:
        """Writes ``subscription`` if the stored one is still at ``expected_version``."""
        ...

    def record(self, attempt: Attempt, expires_at: datetime) -> None: ...

    def outcome_of(self, job: Job) -> Outcome | None: ...

    def attempts_page(self, webhook_id: str, limit: int, position: Position | None) -> Page[Attempt]: ...

    def set_viewer(self, change: ViewerChange) -> None: ...

    def viewers(self, loan_id: str) -> list[str]: ...


class SecretBox(Protocol):
    def seal(self, webhook_id: str, secret: str) -> bytes: ...

    def open(self, webhook_id: str, sealed: bytes) -> str: ...


class DeliveryQueue(Protocol):
    def enqueue(self, job: Job, delay_s: int) -> None: ...

    def dead_letter(self, job: Job) -> None: ...


class Sender(Protocol):
    def post(self, target: Target, address: str, headers: dict[str, str], body: bytes, timeout_s: float) -> int:
        """The answer's status code; raises DeliveryFailed when there is none."""
        ...


def time_ordered_id(now: datetime, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A UUID (version 7 layout) whose first 48 bits are the creation time in milliseconds,
    so ids sort by creation: the owner's list is newest first without an index."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | int.from_bytes(random_bytes(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def _first_job(
    subscription: Subscription, message_id: str, event_type: str, occurred_at: str, data: dict[str, Any], now: datetime
) -> Job:
    return Job(
        message_id,
        subscription.webhook_id,
        subscription.owner_id,
        event_type,
        occurred_at,
        data,
        1,
        iso(now),
        now.timestamp(),
    )


class Subscriptions:
    """The owner's side: every read and change names the caller, so another owner's
    subscription is simply not found (404), never refused (which would reveal it)."""

    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        queue: DeliveryQueue,
        resolve: Resolver,
        policy: UrlPolicy,
        clock: Clock,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._store, self._box, self._queue = store, box, queue
        self._resolve, self._policy, self._clock, self._random = resolve, policy, clock, random_bytes

    def create(self, owner_id: str, url: str, events: Sequence[str]) -> tuple[Subscription, str]:
        """The subscription and its secret, which is shown this once and stored only sealed.
        Counted before writing, so parallel requests can pass the bound by a few; the fan-out's
        own read bound leaves room for that."""
        if len(self._store.subscriptions_of(owner_id)) >= MAX_WEBHOOKS_PER_OWNER:
            raise ValidationFailed(f"At most {MAX_WEBHOOKS_PER_OWNER} webhooks per user; delete one to add another")
        checked_url(url, self._policy, self._resolve)
        now = self._clock()
        webhook_id = time_ordered_id(now)
        secret = new_secret(self._random(32))
        subscription = Subscription(
            webhook_id=webhook_id,
            owner_id=owner_id,
            url=url,
            events=tuple(dict.fromkeys(events)),
            active=True,
            sealed_secret=self._box.seal(webhook_id, secret),
            version=1,
            created_at=now,
            updated_at=now,
        )
        self._store.create(subscription)
        return subscription, secret

    def get(self, owner_id: str, webhook_id: str) -> Subscription:
        found = self._store.get(owner_id, webhook_id)
        if found is None or found.deleted_at is not None:
            raise NotFound("Webhook not found")
        return found

    def page(self, owner_id: str, limit: int, position: Position | None) -> Page[Subscription]:
        return self._store.page(owner_id, limit, position)

    def update(
        self, owner_id: str, webhook_id: str, versions: tuple[int, ...] | None, changes: dict[str, Any]
    ) -> Subscription:
        if versions is None:
            raise PreconditionRequired("Send If-Match with the webhook's ETag")
        current = self.get(owner_id, webhook_id)
        if current.version not in versions:
            raise PreconditionFailed("The webhook has changed since you read it")
        if "url" in changes:
            checked_url(changes["url"], self._policy, self._resolve)
        fields: dict[str, Any] = {name: value for name, value in changes.items() if name in ("url", "active")}
        if "events" in changes:
            fields["events"] = tuple(dict.fromkeys(changes["events"]))
        if changes.get("active") is True:
            fields["disabled_reason"] = None
        return self._write(current, **fields)

    def delete(self, owner_id: str, webhook_id: str) -> None:
        current = self.get(owner_id, webhook_id)
        self._write(current, active=False, deleted_at=self._clock())

    def rotate_secret(self, owner_id: str, webhook_id: str) -> str:
        """A new secret; the old one keeps signing (beside it) for 24 hours."""
        current = self.get(owner_id, webhook_id)
        secret = new_secret(self._random(32))
        self._write(
            current,
            sealed_secret=self._box.seal(webhook_id, secret),
            previous_secret=current.sealed_secret,
            previous_until=self._clock() + PREVIOUS_SECRET_LIFETIME,
        )
        return secret

    def attempts(self, owner_id: str, webhook_id: str, limit: int, position: Position | None) -> Page[Attempt]:
        self.get(owner_id, webhook_id)
        return self._store.attempts_page(webhook_id, limit, position)

    def send_test(self, owner_id: str, webhook_id: str) -> str:
        subscription = self.get(owner_id, webhook_id)
        now = self._clock()
        message_id = message_id_of(time_ordered_id(now), TEST_EVENT, webhook_id)
        data = {"webhook_id": webhook_id}
        schedule(self._store, self._queue, _first_job(subscription, message_id, TEST_EVENT, iso(now), data, now), now)
        return message_id

    def _write(self, current: Subscription, **fields: Any) -> Subscription:
        updated = replace(current, **fields, version=current.version + 1, updated_at=self._clock())
        if not self._store.replace(updated, current.version):
            raise PreconditionFailed("The webhook has changed since you read it")
        return updated


def schedule(store: WebhookStore, queue: DeliveryQueue, job: Job, now: datetime) -> None:
    """Records the attempt as PENDING, then queues it: a queued message always has a record."""
    store.record(
        Attempt(
            job.webhook_id,
            job.message_id,
            job.event_type,
            job.attempt,
            job.scheduled_at,
            Outcome.PENDING,
            next_attempt_at=datetime.fromtimestamp(job.not_before, now.tzinfo),
        ),
        now + ATTEMPT_RETENTION,
    )
    queue.enqueue(job, min(MAX_QUEUE_DELAY_S, max(0, round(job.not_before - now.timestamp()))))


class FanOut:
    """Turns one event into one queued message per matching subscription of each user who may
    see its resource: every subscriber is delivered to independently."""

    def __init__(self, store: WebhookStore, queue: DeliveryQueue, clock: Clock) -> None:
        self._store, self._queue, self._clock = store, queue, clock

    def track(self, change: ViewerChange) -> None:
        self._store.set_viewer(change)

    def publish(self, event: WebhookEvent) -> int:
        audience = set(event.audience)
        if event.loan_id is not None:
            audience.update(self._store.viewers(event.loan_id))
        now = self._clock()
        queued = 0
        for owner_id in sorted(audience):
            for subscription in self._store.subscriptions_of(owner_id):
                if not subscription.wants(event.type) or event.type == TEST_EVENT:
                    continue
                message_id = message_id_of(event.event_id, event.type, subscription.webhook_id)
                job = _first_job(subscription, message_id, event.type, event.occurred_at, event.data, now)
                schedule(self._store, self._queue, job, now)
                queued += 1
        return queued


def payload(job: Job) -> str:
    return json.dumps({"type": job.event_type, "timestamp": job.occurred_at, "data": job.data}, separators=(",", ":"))


class Deliverer:
    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        queue: DeliveryQueue,
        sender: Sender,
        resolve: Resolver,
        policy: UrlPolicy,
        retry_schedule: Sequence[int],
        clock: Clock,
        draw: Callable[[float, float], float] | None = None,
    ) -> None:
        self._store, self._box, self._queue, self._sender = store, box, queue, sender
        self._resolve, self._policy, self._schedule, self._clock = resolve, policy, retry_schedule, clock
        self._draw = draw

    def deliver(self, job: Job) -> DeliveryResult:
        now = self._clock()
        waiting = job.not_before - now.timestamp()
        if waiting > 1:
            # Longer than SQS can delay one message: put it back for the next stretch.
            self._queue.enqueue(job, min(MAX_QUEUE_DELAY_S, round(waiting)))
            return DeliveryResult(None)
        if self._store.outcome_of(job) not in (None, Outcome.PENDING):
            return DeliveryResult(None)  # a redelivered message whose attempt is already recorded
        subscription = self._store.get(job.owner_id, job.webhook_id)
        if subscription is None or not subscription.wants(job.event_type):
            self._record(job, Outcome.FAILED, now, error="The webhook is disabled or deleted; not sent")
            return DeliveryResult(Outcome.FAILED)
        status, error = self._send(subscription, job, now)
        if status is not None and 200 <= status < 300:
            self._record(job, Outcome.DELIVERED, now, status=status)
            return DeliveryResult(Outcome.DELIVERED)
        if status == 410:
            self._disable(subscription)
            self._record(job, Outcome.FAILED, now, status=status, error="410 Gone: the webhook was disabled")
            return DeliveryResult(Outcome.FAILED, disabled=True)
        return self._retry_or_bury(job, now, status, error)

    def _send(self, subscription: Subscription, job: Job, now: datetime) -> tuple[int | None, str | None]:
        try:
            target = parse_target(subscription.url, self._policy)
            # Resolved again now, not trusted from the subscription's day (DNS rebinding).
            address = vetted_addresses(target, self._resolve)[0]
        except UnsafeTarget as unsafe:
            return None, str(unsafe)
        body = payload(job)
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Lendbridge-Webhooks/1.0",
            "webhook-id": job.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(self._secrets(subscription, now), job.message_id, timestamp, body),
        }
        try:
            status = self._sender.post(target, address, headers, body.encode(), DELIVERY_TIMEOUT_S)
        except DeliveryFailed as failed:
            return None, str(failed)
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    def _secrets(self, subscription: Subscription, now: datetime) -> list[str]:
        live = [self._box.open(subscription.webhook_id, subscription.sealed_secret)]
        if subscription.previous_secret and subscription.previous_until and subscription.previous_until > now:
            live.append(self._box.open(subscription.webhook_id, subscription.previous_secret))
        return live

    def _disable(self, subscription: Subscription) -> None:
        disabled = replace(
            subscription,
            active=False,
            disabled_reason="The receiver answered 410 Gone",
            version=subscription.version + 1,
            updated_at=self._clock(),
        )
        self._store.replace(disabled, subscription.version)

    def _retry_or_bury(self, job: Job, now: datetime, status: int | None, error: str | None) -> DeliveryResult:
        wait = wait_before(job.attempt + 1, self._schedule, *(() if self._draw is None else (self._draw,)))
        if wait is None:
            self._record(job, Outcome.DEAD, now, status=status, error=error)
            self._queue.dead_letter(job)
            return DeliveryResult(Outcome.DEAD)
        next_at = now + timedelta(seconds=wait)
        self._record(job, Outcome.FAILED, now, status=status, error=error, next_attempt_at=next_at)
        following = replace(job, attempt=job.attempt + 1, scheduled_at=iso(next_at), not_before=next_at.timestamp())
        schedule(self._store, self._queue, following, now)
        return DeliveryResult(Outcome.FAILED)

    def _record(
        self,
        job: Job,
        outcome: Outcome,
        now: datetime,
        *,
        status: int | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        attempt = Attempt(
            job.webhook_id,
            job.message_id,
            job.event_type,
            job.attempt,
            job.scheduled_at,
            outcome,
            now,
            status,
            error,
            next_attempt_at,
        )
        self._store.record(attempt, now + ATTEMPT_RETENTION)
