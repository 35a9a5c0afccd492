"""Webhook rules: which urls and addresses are refused, signatures a reference verifier accepts,
the retry schedule, and the events a main-table change makes."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lendbridge.data.webhook_adapters import resolve
from lendbridge.domain.webhook_events import ViewerChange, WebhookEvent, events_of, viewer_change
from lendbridge.domain.webhook_rules import (
    REAL_SCHEDULE_S,
    UnsafeTarget,
    UrlPolicy,
    checked_url,
    message_id_of,
    new_secret,
    parse_schedule,
    parse_target,
    refusal,
    signature_header,
    vetted_addresses,
    wait_before,
)
from lendbridge.errors import ValidationFailed

STRICT = UrlPolicy()
LOCAL = UrlPolicy(allow_loopback_http=True)


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the instance metadata service
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1: not a global address
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, its client 10.0.0.1
        "fe80::1%eth0",  # link-local with its zone, as getaddrinfo gives it
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "100.128.0.1",
        "2001:0:4136:e378:8000:63bf:a247:28f1",  # Teredo, judged by its client 93.184.215.14
        "2606:4700:4700::6440:1",  # its last 32 bits read as IPv4 would be CGNAT; it is IPv6
    ],
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert refusal(address) is None


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    target = parse_target("https://hooks.example.com/x", STRICT)
    with pytest.raises(UnsafeTarget, match="private"):
        vetted_addresses(target, resolver("93.184.215.14", "10.0.0.7"))
    assert vetted_addresses(target, resolver("93.184.215.14", "93.184.215.14")) == ["93.184.215.14"]


def test_an_unresolvable_host_is_refused() -> None:
    def fails(host: str, port: int) -> Sequence[str]:
        raise OSError("no such host")

    with pytest.raises(UnsafeTarget, match="does not resolve"):
        vetted_addresses(parse_target("https://nowhere.example/", STRICT), fails)
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        vetted_addresses(parse_target("https://nowhere.example/", STRICT), resolver())
    # A name the resolver cannot even encode (empty or over-long labels) is refused, not a crash.
    for host in ("a..b", "a" * 70 + ".com"):
        with pytest.raises(UnsafeTarget, match="does not resolve"):
            vetted_addresses(parse_target(f"https://{host}/", STRICT), resolve)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "https"),
        ("ftp://hooks.example.com/", "https"),
        ("https:///path", "host"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com:99999/", "malformed"),
        ("https://hooks.example.com/" + "a" * 2100, "too long"),
        ("https://hooks.example.com/" + "a" * (2048 - 25), "too long"),  # 2049 characters
        ("http://127.0.0.1:8080/", "https"),  # loopback http only where the stage allows it
    ],
)
def test_urls_refused_by_their_text(url: str, reason: str) -> None:
    with pytest.raises(UnsafeTarget, match=reason):
        parse_target(url, STRICT)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://Hooks.Example.COM./in", ("https", "hooks.example.com", 443, "/in")),
        ("https://hooks.example.com", ("https", "hooks.example.com", 443, "/")),
        ("https://hooks.example.com:8443/in?x=1&y=2", ("https", "hooks.example.com", 8443, "/in?x=1&y=2")),
        ("https://hooks.example.com/" + "a" * (2048 - 26), ("https", "hooks.example.com", 443, "/" + "a" * 2022)),
    ],
)
def test_a_url_is_read_into_the_canonical_host_port_and_request_path(url: str, parts: tuple[object, ...]) -> None:
    target = parse_target(url, STRICT)
    assert (target.scheme, target.host, target.port, target.path) == parts


def test_the_resolver_is_asked_for_the_urls_host_and_port() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        return ["93.184.215.14"]

    assert vetted_addresses(parse_target("https://Hooks.Example.com:8443/x", STRICT), resolve) == ["93.184.215.14"]
    assert asked == [("hooks.example.com", 8443)]


def test_the_local_policy_admits_http_to_the_loopback_literal_only() -> None:
    target = parse_target("http://127.0.0.1:8080/hook?x=1", LOCAL)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "127.0.0.1", 8080, "/hook?x=1")
    assert vetted_addresses(target, resolver("10.0.0.1")) == ["127.0.0.1"]  # never resolved
    assert parse_target("http://127.0.0.1/hook", LOCAL).port == 80
    with pytest.raises(UnsafeTarget):
        parse_target("http://localhost:8080/", LOCAL)
    with pytest.raises(UnsafeTarget):
        parse_target("http://10.0.0.1/", LOCAL)


def test_checked_url_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        checked_url("https://internal.example/", STRICT, resolver("192.168.0.10"))
    # The client learns why, in the message and under the field.
    assert "private" in refused.value.message
    assert "private" in refused.value.field_errors["url"][0]
    assert checked_url("https://hooks.example.com", STRICT, resolver("93.184.215.14")) == "https://hooks.example.com"
    assert parse_target("https://Hooks.Example.com.", STRICT).port == 443


def test_signatures_verify_with_the_reference_library_for_each_live_secret() -> None:
    old, new = new_secret(b"\x01" * 32), new_secret(b"\x02" * 32)
    assert old.startswith("whsec_")
    body = json.dumps({"type": "loan.funded", "timestamp": "2026-11-30T00:00:00Z", "data": {"loan_id": "l1"}})
    import time

    now = int(time.time())
    header = signature_header([new, old], "msg_1", now, body)
    assert len(header.split(" ")) == 2
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": header}
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["data"] == {"loan_id": "l1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret(b"\x03" * 32)).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("l1", "l2"), headers)


def test_the_real_schedule_spans_about_three_days() -> None:
    assert parse_schedule("") == REAL_SCHEDULE_S
    assert parse_schedule("0,2,4") == (0, 2, 4)
    span_hours = sum(REAL_SCHEDULE_S) / 3600
    assert 72 <= span_hours <= 80
    assert REAL_SCHEDULE_S[:8] == (0, 5, 300, 1800, 7200, 18000, 36000, 50400)


def test_waits_are_jittered_within_a_fifth_and_end_with_the_schedule() -> None:
    assert wait_before(2, REAL_SCHEDULE_S, lambda low, high: low) == pytest.approx(4.0)
    assert wait_before(2, REAL_SCHEDULE_S, lambda low, high: high) == pytest.approx(6.0)
    assert wait_before(1, REAL_SCHEDULE_S) == 0
    waits = {wait_before(5, REAL_SCHEDULE_S) for _ in range(20)}
    assert all(7200 * 0.8 <= wait <= 7200 * 1.2 for wait in waits if wait is not None)
    assert len(waits) > 1
    assert wait_before(len(REAL_SCHEDULE_S) + 1, REAL_SCHEDULE_S) is None
    assert wait_before(0, REAL_SCHEDULE_S) is None


def test_message_ids_are_stable_per_change_and_subscription() -> None:
    assert message_id_of("e1", "loan.funded", "w1") == message_id_of("e1", "loan.funded", "w1")
    assert message_id_of("e1", "loan.funded", "w1") != message_id_of("e1", "loan.funded", "w2")
    assert message_id_of("e1", "loan.funded", "w1") != message_id_of("e2", "loan.funded", "w1")
    assert re.fullmatch(r"msg_[0-9a-f]{32}", message_id_of("e1", "loan.funded", "w1"))


LOAN = {
    "entity": "loan",
    "loan_id": "L",
    "borrower_id": "B",
    "borrower_name": "Mary",
    "amount": 1000,
    "total_funded": 0,
    "status": "FUNDING",
}


def test_loan_changes_make_created_funded_and_cancelled_events_without_names() -> None:
    (created,) = events_of("e1", None, LOAN, "2026-11-30T00:00:00Z")
    assert created.type == "loan.created"
    assert created.data == {"loan_id": "L", "status": "FUNDING", "amount": "1000.00", "total_funded": "0.00"}
    assert "Mary" not in json.dumps(created.data)
    assert created.audience == {"B"}
    assert created.loan_id == "L"
    funded = {**LOAN, "status": "FUNDED", "total_funded": 1000}
    assert [e.type for e in events_of("e2", LOAN, funded, "t")] == ["loan.funded"]
    assert events_of("e3", funded, {**funded, "updated_at": "x"}, "t") == []  # still funded: no event
    cancelled = {**LOAN, "status": "CANCELLED"}
    assert [e.type for e in events_of("e4", LOAN, cancelled, "t")] == ["loan.cancelled"]
    assert events_of("e5", LOAN, {**LOAN, "purpose": "x"}, "t") == []
    assert events_of("e6", LOAN, None, "t") == []


PARTICIPANT = {
    "entity": "participant",
    "loan_id": "L",
    "participant_id": "P",
    "borrower_id": "B",
    "lender_id": None,
    "lender_email": "grace@example.com",
    "contribution_amount": 250,
    "status": "PENDING",
}


def test_participant_events_go_to_the_borrower_and_the_lender_with_ids_and_amounts_only() -> None:
    (invited,) = events_of("e1", None, PARTICIPANT, "t")
    assert invited.type == "participant.invited"
    assert invited.audience == {"B"}
    assert "grace" not in json.dumps(invited.data)
    claimed = {**PARTICIPANT, "lender_id": "K"}
    assert events_of("e2", PARTICIPANT, claimed, "t") == []
    accepted = {**claimed, "status": "ACCEPTED", "bank": {"account_number_last4": "4321"}}
    (event,) = events_of("e3", claimed, accepted, "t")
    assert (event.type, event.audience) == ("participant.accepted", {"B", "K"})
    assert "4321" not in json.dumps(event.data)
    assert event.data["contribution_amount"] == "250.00"
    (declined,) = events_of("e4", claimed, {**claimed, "status": "DECLINED"}, "t")
    assert declined.type == "participant.declined"


BOOKING = {
    "entity": "booking",
    "booking_id": "K1",
    "product_id": "sme-term",
    "customer_name": "Acme Ltd",
    "created_by": "O",
    "status": "DRAFT",
    "amount": 5,
    "currency": "EUR",
}
EXTRACTION = {
    "entity": "extraction",
    "extraction_id": "X",
    "booking_id": "K1",
    "document_id": "D",
    "created_by": "O",
    "status": "RUNNING",
}


def test_booking_and_extraction_events_go_to_their_creator() -> None:
    draft = {
        "entity": "booking",
        "booking_id": "K1",
        "created_by": "O",
        "status": "DRAFT",
        "amount": 5,
        "currency": "EUR",
    }
    assert events_of("e1", None, draft, "t") == []
    (booked,) = events_of("e2", draft, {**draft, "status": "BOOKED"}, "t")
    assert (booked.type, booked.audience, booked.data["amount"]) == ("booking.booked", {"O"}, "5.00")
    running = {"entity": "extraction", "extraction_id": "X", "booking_id": "K1", "created_by": "O", "status": "RUNNING"}
    (done,) = events_of("e3", running, {**running, "status": "SUCCEEDED"}, "t")
    assert (done.type, done.audience) == ("extraction.succeeded", {"O"})
    (failed,) = events_of("e4", running, {**running, "status": "FAILED"}, "t")
    assert failed.type == "extraction.failed"
    assert events_of("e5", None, {"entity": "user", "user_id": "U"}, "t") == []


def test_lenders_see_their_loans_events_until_removed() -> None:
    assert viewer_change(None, PARTICIPANT) is None  # no account yet
    claimed = {**PARTICIPANT, "lender_id": "K"}
    change = viewer_change(PARTICIPANT, claimed)
    assert change is not None
    assert (change.loan_id, change.user_id, change.sees) == ("L", "K", True)
    removed = viewer_change(claimed, {**claimed, "status": "REMOVED"})
    assert removed is not None
    assert not removed.sees
    assert viewer_change(None, LOAN) is None


def test_each_event_carries_its_change_id_time_audience_and_documented_data() -> None:
    at = {"updated_at": "2026-11-30T10:00:00Z"}
    assert events_of("e1", None, {**LOAN, **at}, "2026-11-30T10:00:01Z") == [
        WebhookEvent(
            "e1",
            "loan.created",
            "2026-11-30T10:00:00Z",
            {"loan_id": "L", "status": "FUNDING", "amount": "1000.00", "total_funded": "0.00"},
            frozenset({"B"}),
            loan_id="L",
        )
    ]
    claimed = {**PARTICIPANT, "lender_id": "K"}
    assert events_of("e2", claimed, {**claimed, **at, "status": "ACCEPTED"}, "t") == [
        WebhookEvent(
            "e2",
            "participant.accepted",
            "2026-11-30T10:00:00Z",
            {"loan_id": "L", "participant_id": "P", "contribution_amount": "250.00", "status": "ACCEPTED"},
            frozenset({"B", "K"}),
        )
    ]
    assert events_of("e3", BOOKING, {**BOOKING, **at, "status": "BOOKED"}, "t") == [
        WebhookEvent(
            "e3",
            "booking.booked",
            "2026-11-30T10:00:00Z",
            {"booking_id": "K1", "product_id": "sme-term", "amount": "5.00", "currency": "EUR"},
            frozenset({"O"}),
        )
    ]
    assert events_of("e4", EXTRACTION, {**EXTRACTION, **at, "status": "FAILED"}, "t") == [
        WebhookEvent(
            "e4",
            "extraction.failed",
            "2026-11-30T10:00:00Z",
            {"extraction_id": "X", "booking_id": "K1", "document_id": "D", "status": "FAILED"},
            frozenset({"O"}),
        )
    ]


def test_an_image_without_a_change_time_takes_the_streams() -> None:
    (created,) = events_of("e1", None, LOAN, "2026-11-30T00:00:00Z")
    assert created.occurred_at == "2026-11-30T00:00:00Z"


@pytest.mark.parametrize(
    ("image", "status"),
    [
        (LOAN, "CANCELLED"),
        (PARTICIPANT, "ACCEPTED"),
        (BOOKING, "BOOKED"),
        (EXTRACTION, "SUCCEEDED"),
    ],
)
def test_a_status_is_announced_once_not_at_each_later_change(image: dict[str, object], status: str) -> None:
    reached = {**image, "status": status}
    assert len(events_of("e1", image, reached, "t")) == 1
    assert events_of("e2", reached, {**reached, "updated_at": "later"}, "t") == []


def test_an_image_without_an_owner_or_an_amount_reaches_no_one_and_carries_null() -> None:
    ownerless = {key: value for key, value in LOAN.items() if key not in ("borrower_id", "total_funded")}
    (created,) = events_of("e1", None, ownerless, "t")
    assert created.audience == frozenset()
    assert created.data["total_funded"] is None
    unowned = {key: value for key, value in BOOKING.items() if key != "created_by"}
    (booked,) = events_of("e2", unowned, {**unowned, "status": "BOOKED"}, "t")
    assert booked.audience == frozenset()


def test_a_participation_that_disappears_stops_the_lender_seeing_the_loan() -> None:
    claimed = {**PARTICIPANT, "lender_id": "K"}
    assert viewer_change(claimed, None) == ViewerChange("L", "K", False)
    assert viewer_change(None, None) is None
