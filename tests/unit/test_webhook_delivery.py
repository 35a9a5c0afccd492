"""Webhook subscriptions, fan-out and delivery on in-memory ports: who gets what, how each
attempt is recorded, retried, dead-lettered, and what a 410 does."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from lendbridge.domain.pages import Page, Position
from lendbridge.domain.webhook_events import ViewerChange, WebhookEvent
from lendbridge.domain.webhook_rules import Target, UrlPolicy, message_id_of
from lendbridge.domain.webhooks import (
    MAX_WEBHOOKS_PER_OWNER,
    Attempt,
    Deliverer,
    DeliveryFailed,
    FanOut,
    Job,
    Outcome,
    Subscription,
    Subscriptions,
    time_ordered_id,
)
from lendbridge.errors import NotFound, PreconditionFailed, PreconditionRequired, ValidationFailed
from lendbridge.timestamps import iso

PUBLIC = ("93.184.215.14",)


class Clock:
    def __init__(self) -> None:
        # The real time: the reference verifier refuses timestamps five minutes away from it.
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class MemoryStore:
    subscriptions: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    attempts: dict[tuple[str, str, str, int], Attempt] = field(default_factory=dict)
    expires: dict[tuple[str, str, str, int], datetime] = field(default_factory=dict)
    seen_by: dict[str, set[str]] = field(default_factory=dict)

    def create(self, subscription: Subscription) -> None:
        self.subscriptions[(subscription.owner_id, subscription.webhook_id)] = subscription

    def get(self, owner_id: str, webhook_id: str) -> Subscription | None:
        return self.subscriptions.get((owner_id, webhook_id))

    def page(self, owner_id: str, limit: int, position: Position | None) -> Page[Subscription]:
        mine = sorted(
            (s for (o, _), s in self.subscriptions.items() if o == owner_id and s.deleted_at is None),
            key=lambda s: s.webhook_id,
            reverse=True,
        )
        start = int(position["n"]) if position else 0
        rest = mine[start : start + limit]
        return Page(rest, {"n": str(start + limit)} if start + limit < len(mine) else None)

    def subscriptions_of(self, owner_id: str) -> list[Subscription]:
        return [s for (o, _), s in self.subscriptions.items() if o == owner_id and s.deleted_at is None]

    def replace(self, subscription: Subscription, expected_version: int) -> bool:
        key = (subscription.owner_id, subscription.webhook_id)
        if self.subscriptions[key].version != expected_version:
            return False
        self.subscriptions[key] = subscription
        return True

    def record(self, attempt: Attempt, expires_at: datetime) -> None:
        key = (attempt.webhook_id, attempt.scheduled_at, attempt.message_id, attempt.attempt)
        self.attempts[key] = attempt
        self.expires[key] = expires_at

    def outcome_of(self, job: Job) -> Outcome | None:
        found = self.attempts.get((job.webhook_id, job.scheduled_at, job.message_id, job.attempt))
        return found.outcome if found else None

    def attempts_page(self, webhook_id: str, limit: int, position: Position | None) -> Page[Attempt]:
        mine = [a for key, a in sorted(self.attempts.items(), reverse=True) if key[0] == webhook_id]
        start = int(position["n"]) if position else 0
        return Page(mine[start : start + limit], {"n": str(start + limit)} if start + limit < len(mine) else None)

    def set_viewer(self, change: ViewerChange) -> None:
        viewers = self.seen_by.setdefault(change.loan_id, set())
        (viewers.add if change.sees else viewers.discard)(change.user_id)

    def viewers(self, loan_id: str) -> list[str]:
        return sorted(self.seen_by.get(loan_id, set()))


class ClearBox:
    """Reversible and bound to the webhook, like the KMS context."""

    def seal(self, webhook_id: str, secret: str) -> bytes:
        return f"{webhook_id}|{secret}".encode()[::-1]

    def open(self, webhook_id: str, sealed: bytes) -> str:
        owner, secret = sealed[::-1].decode().split("|")
        assert owner == webhook_id
        return secret


@dataclass
class Queue:
    sent: list[tuple[Job, int]] = field(default_factory=list)
    dead: list[Job] = field(default_factory=list)

    def enqueue(self, job: Job, delay_s: int) -> None:
        self.sent.append((job, delay_s))

    def dead_letter(self, job: Job) -> None:
        self.dead.append(job)


@dataclass
class Receiver:
    answers: list[int | Exception] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def post(self, target: Target, address: str, headers: dict[str, str], body: bytes, timeout_s: float) -> int:
        assert timeout_s == 15
        self.received.append((address, headers, body))
        self.targets.append(target)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class World:
    clock: Clock = field(default_factory=Clock)
    store: MemoryStore = field(default_factory=MemoryStore)
    queue: Queue = field(default_factory=Queue)
    receiver: Receiver = field(default_factory=Receiver)
    addresses: tuple[str, ...] = PUBLIC

    def resolve(self, host: str, port: int) -> Sequence[str]:
        return self.addresses

    @property
    def subscriptions(self) -> Subscriptions:
        return Subscriptions(self.store, ClearBox(), self.queue, self.resolve, UrlPolicy(), self.clock, os.urandom)

    def deliverer(self, schedule: Sequence[int] = (0, 5, 300)) -> Deliverer:
        return Deliverer(
            self.store, ClearBox(), self.queue, self.receiver, self.resolve, UrlPolicy(), schedule, self.clock,
            lambda low, high: 1.0,
        )  # fmt: skip

    def run_queue(self, deliverer: Deliverer) -> list[Outcome | None]:
        """Delivers every queued message, moving the clock to each one's time."""
        outcomes = []
        while self.queue.sent:
            job, delay = self.queue.sent.pop(0)
            self.clock.now = max(self.clock.now, self.clock.now + timedelta(seconds=delay))
            outcomes.append(deliverer.deliver(job).outcome)
        return outcomes


def subscribe(world: World, owner: str = "B", events: Sequence[str] = ("loan.funded",)) -> tuple[Subscription, str]:
    return world.subscriptions.create(owner, "https://hooks.example.com/in", list(events))


def test_create_keeps_the_secret_sealed_and_shows_it_once() -> None:
    world = World()
    subscription, secret = subscribe(world)
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    stored = world.store.get("B", subscription.webhook_id)
    assert stored is not None
    assert secret.encode() not in stored.sealed_secret
    assert world.subscriptions.get("B", subscription.webhook_id).url == "https://hooks.example.com/in"
    with pytest.raises(NotFound):
        world.subscriptions.get("someone-else", subscription.webhook_id)


def test_create_refuses_a_host_that_resolves_to_a_private_address() -> None:
    world = World(addresses=("10.0.0.5",))
    with pytest.raises(ValidationFailed):
        subscribe(world)
    assert world.store.subscriptions == {}


def test_ids_sort_by_creation_time() -> None:
    early = time_ordered_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = time_ordered_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late
    assert early[14] == "7"  # version 7 layout


def test_update_needs_the_current_version_and_rechecks_the_url() -> None:
    world = World()
    subscription, _ = subscribe(world)
    webhook_id = subscription.webhook_id
    with pytest.raises(PreconditionRequired):
        world.subscriptions.update("B", webhook_id, None, {"active": False})
    with pytest.raises(PreconditionFailed):
        world.subscriptions.update("B", webhook_id, (7,), {"active": False})
    changed = world.subscriptions.update("B", webhook_id, (1,), {"events": ["loan.created", "loan.created"]})
    assert changed.events == ("loan.created",)
    assert changed.version == 2
    world.addresses = ("127.0.0.1",)
    with pytest.raises(ValidationFailed):
        world.subscriptions.update("B", webhook_id, (2,), {"url": "https://evil.example/"})
    stored = world.store.get("B", webhook_id)
    assert stored is not None
    world.store.subscriptions[("B", webhook_id)] = replace(stored, active=False, disabled_reason="gone")
    again = world.subscriptions.update("B", webhook_id, (2,), {"active": True})
    assert again.active
    assert again.disabled_reason is None


def test_a_concurrent_change_is_refused() -> None:
    world = World()
    subscription, _ = subscribe(world)
    store = world.store
    original = store.replace
    store.replace = lambda s, v: False  # type: ignore[method-assign]
    with pytest.raises(PreconditionFailed):
        world.subscriptions.delete("B", subscription.webhook_id)
    store.replace = original  # type: ignore[method-assign]


def test_delete_is_soft_and_hides_the_webhook() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.delete("B", subscription.webhook_id)
    with pytest.raises(NotFound):
        world.subscriptions.get("B", subscription.webhook_id)
    assert world.store.get("B", subscription.webhook_id) is not None
    assert world.subscriptions.page("B", 10, None).items == []


def test_a_user_has_at_most_twenty_live_webhooks_and_deleting_one_frees_its_place() -> None:
    # Unbounded, one caller's webhooks made every loan it created a burst of requests to any url.
    world = World()
    made = [subscribe(world, "B")[0] for _ in range(MAX_WEBHOOKS_PER_OWNER)]
    with pytest.raises(ValidationFailed, match="At most 20 webhooks per user"):
        subscribe(world, "B")
    assert len(world.store.subscriptions) == MAX_WEBHOOKS_PER_OWNER
    subscribe(world, "someone-else")  # the bound is per user
    world.subscriptions.delete("B", made[0].webhook_id)
    subscribe(world, "B")
    with pytest.raises(ValidationFailed):
        subscribe(world, "B")


def test_fan_out_reaches_each_matching_subscription_of_each_viewer_once() -> None:
    world = World()
    borrower_hook, _ = subscribe(world, "B", ["loan.funded"])
    subscribe(world, "B", ["loan.created"])  # another event
    lender_hook, _ = subscribe(world, "K", ["loan.funded"])
    subscribe(world, "stranger", ["loan.funded"])
    fan_out = FanOut(world.store, world.queue, world.clock)
    fan_out.track(ViewerChange("L", "K", True))
    event = WebhookEvent("e1", "loan.funded", "t", {"loan_id": "L"}, frozenset({"B"}), loan_id="L")
    assert fan_out.publish(event) == 2
    assert {job.webhook_id for job, _ in world.queue.sent} == {borrower_hook.webhook_id, lender_hook.webhook_id}
    assert all(delay == 0 for _, delay in world.queue.sent)
    pending = [a for a in world.store.attempts.values() if a.outcome is Outcome.PENDING]
    assert len(pending) == 2
    fan_out.track(ViewerChange("L", "K", False))
    world.queue.sent.clear()
    assert fan_out.publish(event) == 1


def test_a_delivery_is_signed_for_the_reference_verifier_and_recorded() -> None:
    world = World()
    subscription, secret = subscribe(world)
    FanOut(world.store, world.queue, world.clock).publish(
        WebhookEvent("e1", "loan.funded", "2026-11-30T12:00:00Z", {"loan_id": "L"}, frozenset({"B"}))
    )
    assert world.run_queue(world.deliverer()) == [Outcome.DELIVERED]
    address, headers, body = world.receiver.received[0]
    assert address == PUBLIC[0]
    assert Webhook(secret).verify(body, headers) == {
        "type": "loan.funded",
        "timestamp": "2026-11-30T12:00:00Z",
        "data": {"loan_id": "L"},
    }
    (attempt,) = world.subscriptions.attempts("B", subscription.webhook_id, 10, None).items
    assert (attempt.outcome, attempt.status_code, attempt.attempt) == (Outcome.DELIVERED, 200, 1)
    assert attempt.attempted_at == world.clock.now


def test_failures_are_retried_on_schedule_with_the_same_id_then_dead_lettered() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [500, DeliveryFailed("No answer within 15 s"), 503]
    world.subscriptions.send_test("B", subscription.webhook_id)
    started = world.clock.now
    outcomes = world.run_queue(world.deliverer((0, 5, 300)))
    assert outcomes == [Outcome.FAILED, Outcome.FAILED, Outcome.DEAD]
    ids = {headers["webhook-id"] for _, headers, _ in world.receiver.received}
    assert len(ids) == 1
    assert world.clock.now - started == timedelta(seconds=305)
    assert len(world.queue.dead) == 1
    attempts = world.subscriptions.attempts("B", subscription.webhook_id, 10, None).items
    by_number = {a.attempt: a for a in attempts}
    assert by_number[1].outcome is Outcome.FAILED
    assert by_number[1].error == "HTTP 500"
    assert by_number[1].next_attempt_at == started + timedelta(seconds=5)
    assert by_number[2].error == "No answer within 15 s"
    assert by_number[2].status_code is None
    assert by_number[3].outcome is Outcome.DEAD
    assert by_number[3].status_code == 503


def test_a_wait_longer_than_sqs_allows_is_covered_in_stretches() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [500, 200]
    world.subscriptions.send_test("B", subscription.webhook_id)
    deliverer = world.deliverer((0, 2000))
    outcomes = world.run_queue(deliverer)
    assert outcomes == [Outcome.FAILED, None, None, Outcome.DELIVERED]
    assert len(world.receiver.received) == 2


def test_a_redelivered_message_is_not_sent_twice() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.send_test("B", subscription.webhook_id)
    job, _ = world.queue.sent[0]
    world.run_queue(world.deliverer())
    assert world.deliverer().deliver(job).outcome is None
    assert len(world.receiver.received) == 1


def test_410_disables_the_webhook_and_stops_retries() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [410]
    world.subscriptions.send_test("B", subscription.webhook_id)
    job, _ = world.queue.sent[0]
    world.queue.sent.clear()
    result = world.deliverer().deliver(job)
    assert (result.outcome, result.disabled) == (Outcome.FAILED, True)
    assert world.queue.sent == []
    stored = world.subscriptions.get("B", subscription.webhook_id)
    assert not stored.active
    assert stored.disabled_reason
    # Later messages to a disabled webhook are recorded, not sent.
    world.subscriptions.send_test("B", subscription.webhook_id)
    assert world.run_queue(world.deliverer()) == [Outcome.FAILED]
    assert len(world.receiver.received) == 1


def test_every_delivery_resolves_again_and_refuses_a_rebound_address() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.addresses = ("169.254.169.254",)
    outcomes = world.run_queue(world.deliverer((0,)))
    assert outcomes == [Outcome.DEAD]
    assert world.receiver.received == []
    (attempt, *_) = world.subscriptions.attempts("B", subscription.webhook_id, 10, None).items
    assert "link-local" in (attempt.error or "")


def test_after_a_rotation_both_secrets_sign_for_a_day() -> None:
    world = World()
    subscription, old = subscribe(world)
    new = world.subscriptions.rotate_secret("B", subscription.webhook_id)
    assert new != old
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.run_queue(world.deliverer())
    _, headers, body = world.receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
    world.clock.now += timedelta(hours=24, seconds=1)
    stored = world.store.get("B", subscription.webhook_id)
    assert stored is not None
    signed_now = world.deliverer()._secrets(stored, world.clock.now)
    assert signed_now == [new]


def test_lists_page_through_the_owners_webhooks() -> None:
    world = World()
    made = []
    for _ in range(3):
        made.append(subscribe(world)[0].webhook_id)
        world.clock.now += timedelta(milliseconds=5)
    first = world.subscriptions.page("B", 2, None)
    second = world.subscriptions.page("B", 2, first.next_position)
    assert [s.webhook_id for s in [*first.items, *second.items]] == sorted(made, reverse=True)
    assert not second.has_more


def _attempt(world: World, webhook_id: str, number: int) -> Attempt:
    attempts = world.subscriptions.attempts("B", webhook_id, 50, None).items
    (found,) = [a for a in attempts if a.attempt == number]
    return found


def test_ids_are_version_7_uuids_of_the_creation_millisecond_and_random_bits() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, 123000, tzinfo=UTC)
    millis = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    asked: list[int] = []

    def all_ones(n: int) -> bytes:
        asked.append(n)
        return b"\xff" * n

    made = uuid.UUID(time_ordered_id(now, all_ones))
    assert asked == [10]
    assert made.int >> 80 == millis  # an odd count: the lowest time bit survives too
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    # Every bit that is neither time, version nor variant is one of the random bits, untouched.
    assert str(made)[14:] == "7fff-bfff-ffffffffffff"


def test_create_stamps_the_times_and_makes_a_32_byte_secret() -> None:
    world = World()
    subscription, secret = subscribe(world)
    assert (subscription.created_at, subscription.updated_at) == (world.clock.now, world.clock.now)
    assert (subscription.active, subscription.version) == (True, 1)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    world.clock.now += timedelta(minutes=1)
    rotated = world.subscriptions.rotate_secret("B", subscription.webhook_id)
    assert len(base64.b64decode(rotated.removeprefix("whsec_"))) == 32


def test_an_update_moves_the_url_and_the_change_time() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.clock.now += timedelta(minutes=1)
    changed = world.subscriptions.update("B", subscription.webhook_id, (1,), {"url": "https://other.example.com/hook"})
    assert changed.url == "https://other.example.com/hook"
    assert (changed.created_at, changed.updated_at) == (subscription.created_at, world.clock.now)
    assert world.store.get("B", subscription.webhook_id) == changed


def test_a_deleted_webhook_is_kept_inactive_with_its_deletion_time() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.clock.now += timedelta(minutes=1)
    world.subscriptions.delete("B", subscription.webhook_id)
    stored = world.store.get("B", subscription.webhook_id)
    assert stored is not None
    assert (stored.active, stored.deleted_at, stored.version) == (False, world.clock.now, 2)


def test_the_deliveries_list_pages() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [500, 500]
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.run_queue(world.deliverer((0, 5, 5)))
    first = world.subscriptions.attempts("B", subscription.webhook_id, 2, None)
    second = world.subscriptions.attempts("B", subscription.webhook_id, 2, first.next_position)
    assert len(first.items) == 2
    assert sorted(a.attempt for a in [*first.items, *second.items]) == [1, 2, 3]


def test_every_attempt_is_recorded_with_its_event_its_plan_and_a_30_day_expiry() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [500]
    FanOut(world.store, world.queue, world.clock).publish(
        WebhookEvent("e1", "loan.funded", "2026-11-30T12:00:00Z", {"loan_id": "L"}, frozenset({"B"}))
    )
    started = world.clock.now
    ((key, pending),) = world.store.attempts.items()
    assert (pending.outcome, pending.event_type, pending.attempted_at) == (Outcome.PENDING, "loan.funded", None)
    assert world.store.expires[key] == started + timedelta(days=30)
    assert pending.next_attempt_at == started  # an aware time: the first attempt is due at once
    world.run_queue(world.deliverer((0, 5)))
    first, second = _attempt(world, subscription.webhook_id, 1), _attempt(world, subscription.webhook_id, 2)
    assert (first.outcome, first.status_code, first.event_type) == (Outcome.FAILED, 500, "loan.funded")
    assert first.next_attempt_at == started + timedelta(seconds=5)
    # Each attempt is keyed by the time it was planned for, so the list reads in the order they ran.
    assert (first.scheduled_at, second.scheduled_at) == (iso(started), iso(started + timedelta(seconds=5)))
    assert (second.outcome, second.event_type) == (Outcome.DELIVERED, "loan.funded")
    for key, expires_at in world.store.expires.items():
        recorded = world.store.attempts[key]
        written_at = recorded.attempted_at or started
        assert expires_at == written_at + timedelta(days=30)


def test_the_message_is_dead_lettered_whole_with_its_last_answer() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [503]
    world.subscriptions.send_test("B", subscription.webhook_id)
    (job, _) = world.queue.sent[0]
    assert world.run_queue(world.deliverer((0,))) == [Outcome.DEAD]
    assert world.queue.dead == [job]
    dead = _attempt(world, subscription.webhook_id, 1)
    assert (dead.outcome, dead.status_code, dead.error, dead.next_attempt_at) == (Outcome.DEAD, 503, "HTTP 503", None)


def test_a_3xx_answer_is_a_failure_since_redirects_are_not_followed() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [300]
    world.subscriptions.send_test("B", subscription.webhook_id)
    assert world.run_queue(world.deliverer((0, 5))) == [Outcome.FAILED, Outcome.DELIVERED]
    refused = _attempt(world, subscription.webhook_id, 1)
    assert (refused.status_code, refused.error) == (300, "HTTP 300")


def test_without_a_draw_each_wait_is_jittered_within_a_fifth() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [500]
    world.subscriptions.send_test("B", subscription.webhook_id)
    (job, _) = world.queue.sent.pop()
    deliverer = Deliverer(
        world.store, ClearBox(), world.queue, world.receiver, world.resolve, UrlPolicy(), (0, 100), world.clock
    )
    assert deliverer.deliver(job).outcome is Outcome.FAILED
    retry = _attempt(world, subscription.webhook_id, 1).next_attempt_at
    assert retry is not None
    assert timedelta(seconds=80) <= retry - world.clock.now <= timedelta(seconds=120)


def test_a_delivery_goes_to_the_urls_host_and_path_as_json_from_lendbridge() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.run_queue(world.deliverer())
    assert world.receiver.targets == [Target("https", "hooks.example.com", 443, "/in")]
    _, headers, _ = world.receiver.received[0]
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("Lendbridge-Webhooks/")


def test_a_test_event_names_its_webhook_and_each_one_is_a_new_message() -> None:
    world = World()
    subscription, secret = subscribe(world)
    sent_at = world.clock.now
    first = world.subscriptions.send_test("B", subscription.webhook_id)
    second = world.subscriptions.send_test("B", subscription.webhook_id)
    assert first != second
    world.run_queue(world.deliverer())
    _, headers, body = world.receiver.received[0]
    assert headers["webhook-id"] == first
    assert Webhook(secret).verify(body, headers) == {
        "type": "webhook.test",
        "timestamp": iso(sent_at),
        "data": {"webhook_id": subscription.webhook_id},
    }


def test_each_subscription_of_an_owner_is_considered_and_replays_keep_their_ids() -> None:
    world = World()
    subscribe(world, "B", ["loan.created"])  # first in the owner's list, and not interested
    wanted, _ = subscribe(world, "B", ["loan.funded"])
    fan_out = FanOut(world.store, world.queue, world.clock)
    event = WebhookEvent("e1", "loan.funded", "t", {"loan_id": "L"}, frozenset({"B"}))
    assert fan_out.publish(event) == 1
    assert fan_out.publish(event) == 1  # the stream replays a record
    ids = [job.message_id for job, _ in world.queue.sent]
    # Receivers deduplicate on webhook-id: one id per (stream record, event type, subscription).
    assert ids == [message_id_of("e1", "loan.funded", wanted.webhook_id)] * 2
    assert fan_out.publish(replace(event, event_id="e2")) == 1
    assert world.queue.sent[-1][0].message_id != ids[0]


def test_a_message_up_to_a_second_early_is_sent_and_an_earlier_one_waits() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.send_test("B", subscription.webhook_id)
    (job, _) = world.queue.sent.pop()
    deliverer = world.deliverer()
    now = world.clock.now.timestamp()
    assert deliverer.deliver(replace(job, not_before=now + 1.5)).outcome is None
    assert world.queue.sent.pop()[1] == 2
    assert deliverer.deliver(replace(job, not_before=now + 1)).outcome is Outcome.DELIVERED


def test_410_is_recorded_and_disables_under_a_new_version() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.receiver.answers = [410]
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.clock.now += timedelta(minutes=1)
    world.run_queue(world.deliverer())
    gone = _attempt(world, subscription.webhook_id, 1)
    assert (gone.outcome, gone.status_code, gone.next_attempt_at) == (Outcome.FAILED, 410, None)
    assert gone.error
    stored = world.subscriptions.get("B", subscription.webhook_id)
    assert (stored.active, stored.version, stored.updated_at) == (False, 2, world.clock.now)
    # The owner's ETag from before the 410 no longer matches; the new one re-enables it.
    with pytest.raises(PreconditionFailed):
        world.subscriptions.update("B", subscription.webhook_id, (1,), {"active": True})
    assert world.subscriptions.update("B", subscription.webhook_id, (2,), {"active": True}).active


def test_a_message_for_a_disabled_webhook_is_recorded_as_failed_with_why() -> None:
    world = World()
    subscription, _ = subscribe(world)
    world.subscriptions.send_test("B", subscription.webhook_id)
    world.subscriptions.update("B", subscription.webhook_id, (1,), {"active": False})
    assert world.run_queue(world.deliverer()) == [Outcome.FAILED]
    skipped = _attempt(world, subscription.webhook_id, 1)
    assert (skipped.outcome, skipped.status_code) == (Outcome.FAILED, None)
    assert skipped.error
    assert world.receiver.received == []


def test_the_previous_secret_signs_until_its_end_and_not_at_it() -> None:
    world = World()
    subscription, old = subscribe(world)
    new = world.subscriptions.rotate_secret("B", subscription.webhook_id)
    stored = world.store.get("B", subscription.webhook_id)
    assert stored is not None
    assert stored.previous_until == world.clock.now + timedelta(hours=24)
    deliverer = world.deliverer()
    assert deliverer._secrets(stored, stored.previous_until - timedelta(microseconds=1)) == [new, old]
    assert deliverer._secrets(stored, stored.previous_until) == [new]
