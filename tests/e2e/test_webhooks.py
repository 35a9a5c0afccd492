"""Webhooks over the local stack, delivered to receivers on this machine's loopback (the local
emulation's stage setting allows http://127.0.0.1; deployed stages never do).

Every delivery is verified with the reference implementation (PyPI ``standardwebhooks``), not
with the project's signing code. The local retry schedule is compressed to 0, 2, 4, 6 seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from local.stack import LocalLendbridge
from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

HANG_S = 20  # longer than the 15 s a delivery waits
ACH = {
    "account_holder_name": "Hook Lender",
    "routing_number": "011000015",
    "account_number": "000987654321",
    "account_type": "checking",
}


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: str
    arrived: float
    verified_with: list[str] = field(default_factory=list)


class Receivers:
    """One loopback HTTP server; each path is a receiver with its own behaviour and secrets."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.secrets: dict[str, list[str]] = {}
        self.answers: dict[str, list[int]] = {}
        self.hanging: set[str] = set()
        self.lock = threading.Lock()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                delivery = Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with receivers.lock:
                    for secret in receivers.secrets.get(self.path, []):
                        Webhook(secret).verify(body, delivery.headers)  # raises on a bad signature
                        delivery.verified_with.append(secret)
                    receivers.deliveries.append(delivery)
                    answers = receivers.answers.get(self.path) or [200]
                    status = answers.pop(0) if len(answers) > 1 else answers[0]
                if self.path in receivers.hanging:
                    time.sleep(HANG_S)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == path]


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    made = Receivers()
    yield made
    made.server.shutdown()


def until(check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def subscribe(api: Api, user: User, receivers: Receivers, path: str, events: list[str]) -> dict[str, Any]:
    created = api.post("/v1/webhooks", headers=user.bearer, json={"url": receivers.url(path), "events": events})
    assert created.status_code == 201, created.text
    data: dict[str, Any] = created.json()["data"]
    receivers.secrets[path] = [data["secret"]]
    return data


def deliveries(api: Api, user: User, webhook_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=user.bearer)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"]["deliveries"])


def send_test(api: Api, user: User, webhook_id: str) -> str:
    queued = api.post(f"/v1/webhooks/{webhook_id}/test", headers=user.bearer)
    assert queued.status_code == 202, queued.text
    return str(queued.json()["data"]["message_id"])


def test_subscriptions_follow_the_contract(api: Api, receivers: Receivers) -> None:
    owner, other = register_and_login(api, "hookowner"), register_and_login(api, "hookother")
    created = api.post(
        "/v1/webhooks", headers=owner.bearer, json={"url": receivers.url("/contract"), "events": ["loan.created"]}
    )
    assert created.status_code == 201, created.text
    hook = created.json()["data"]
    assert hook["secret"].startswith("whsec_")
    assert created.headers["Location"] == f"/v1/webhooks/{hook['webhook_id']}"
    path = f"/v1/webhooks/{hook['webhook_id']}"

    read = api.get(path, headers=owner.bearer)
    assert read.status_code == 200
    assert "secret" not in read.json()["data"]
    assert api.get(path, headers={**owner.bearer, "If-None-Match": read.headers["ETag"]}).status_code == 304

    # Another user's webhook does not exist for them, whatever they try.
    for method in ("GET", "DELETE"):
        assert_error_envelope(api.request(method, path, headers=other.bearer), 404, "NOT_FOUND")
    assert_error_envelope(api.get(f"{path}/deliveries", headers=other.bearer), 404, "NOT_FOUND")
    assert_error_envelope(api.post(f"{path}/rotate-secret", headers=other.bearer), 404, "NOT_FOUND")
    assert_error_envelope(api.post(f"{path}/test", headers=other.bearer), 404, "NOT_FOUND")
    stranger_patch = api.request("PATCH", path, headers={**other.bearer, "If-Match": '"1"'}, json={"active": False})
    assert_error_envelope(stranger_patch, 404, "NOT_FOUND")

    change = {"events": ["loan.created", "loan.funded"]}
    assert_error_envelope(api.request("PATCH", path, headers=owner.bearer, json=change), 428, "PRECONDITION_REQUIRED")
    stale = api.request("PATCH", path, headers={**owner.bearer, "If-Match": '"9"'}, json=change)
    assert_error_envelope(stale, 412, "PRECONDITION_FAILED")
    patched = api.request("PATCH", path, headers={**owner.bearer, "If-Match": read.headers["ETag"]}, json=change)
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["events"] == ["loan.created", "loan.funded"]
    assert patched.headers["ETag"] == '"2"'

    second = subscribe(api, owner, receivers, "/contract-2", ["loan.funded"])
    first_page = api.get("/v1/webhooks?limit=1", headers=owner.bearer).json()["data"]
    assert first_page["has_more"] is True
    assert [w["webhook_id"] for w in first_page["webhooks"]] == [second["webhook_id"]]  # newest first
    rest = api.get(f"/v1/webhooks?limit=1&next_token={first_page['next_token']}", headers=owner.bearer)
    assert [w["webhook_id"] for w in rest.json()["data"]["webhooks"]] == [hook["webhook_id"]]
    stolen = api.get(f"/v1/webhooks?limit=1&next_token={first_page['next_token']}", headers=other.bearer)
    assert_error_envelope(stolen, 400, "VALIDATION_ERROR")

    assert api.request("DELETE", path, headers=owner.bearer).status_code == 204
    assert_error_envelope(api.get(path, headers=owner.bearer), 404, "NOT_FOUND")
    listed = api.get("/v1/webhooks", headers=owner.bearer).json()["data"]["webhooks"]
    assert [w["webhook_id"] for w in listed] == [second["webhook_id"]]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://hooks.example.com/hook",
        "http://127.0.0.2/hook",
    ],
)
def test_urls_that_reach_private_addresses_are_refused(api: Api, user: User, url: str) -> None:
    refused = api.post("/v1/webhooks", headers=user.bearer, json={"url": url, "events": ["loan.created"]})
    body = assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert "url" in body["field_errors"]


def test_a_receiver_that_fails_twice_gets_the_third_attempt_on_schedule(api: Api, receivers: Receivers) -> None:
    owner = register_and_login(api, "hookretry")
    hook = subscribe(api, owner, receivers, "/flaky", ["loan.created"])
    receivers.answers["/flaky"] = [500, 500, 200]
    message_id = send_test(api, owner, hook["webhook_id"])
    assert until(lambda: len(receivers.at("/flaky")) >= 3, 40), "three attempts"
    arrived = receivers.at("/flaky")
    assert {d.headers["webhook-id"] for d in arrived} == {message_id}  # stable across retries
    assert all(d.verified_with for d in arrived)
    assert json.loads(arrived[0].body)["type"] == "webhook.test"
    # The compressed schedule waits 2 s then 4 s (+/- 20 %); polling adds up to a second or two.
    first_gap, second_gap = arrived[1].arrived - arrived[0].arrived, arrived[2].arrived - arrived[1].arrived
    assert 1.5 <= first_gap <= 6, first_gap
    assert 3.0 <= second_gap <= 8, second_gap
    listed = until(
        lambda: [
            d for d in deliveries(api, owner, hook["webhook_id"]) if d["attempt"] == 3 and d["outcome"] == "DELIVERED"
        ]
    )
    assert listed
    outcomes = sorted(
        (d["attempt"], d["outcome"], d.get("status_code")) for d in deliveries(api, owner, hook["webhook_id"])
    )
    assert outcomes == [(1, "FAILED", 500), (2, "FAILED", 500), (3, "DELIVERED", 200)]


def test_a_receiver_that_never_accepts_is_dead_lettered(api: Api, receivers: Receivers, stack: LocalLendbridge) -> None:
    owner = register_and_login(api, "hookdead")
    hook = subscribe(api, owner, receivers, "/down", ["loan.created"])
    receivers.answers["/down"] = [503]
    message_id = send_test(api, owner, hook["webhook_id"])
    dead = until(lambda: [d for d in deliveries(api, owner, hook["webhook_id"]) if d["outcome"] == "DEAD"], 45)
    assert dead, deliveries(api, owner, hook["webhook_id"])
    assert dead[0]["attempt"] == 4
    assert len(receivers.at("/down")) == 4
    sqs = stack.aws_client("sqs")
    [dlq_url] = [url for url in sqs.list_queues()["QueueUrls"] if url.endswith("WebhookDlq")]
    parked = until(
        lambda: [
            m
            for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
            if json.loads(m["Body"])["message_id"] == message_id
        ],
        10,
    )
    assert parked


def test_410_disables_the_webhook(api: Api, receivers: Receivers) -> None:
    owner = register_and_login(api, "hookgone")
    hook = subscribe(api, owner, receivers, "/gone", ["loan.created"])
    receivers.answers["/gone"] = [410]
    send_test(api, owner, hook["webhook_id"])
    path = f"/v1/webhooks/{hook['webhook_id']}"
    disabled = until(lambda: not api.get(path, headers=owner.bearer).json()["data"]["active"])
    assert disabled
    shown = api.get(path, headers=owner.bearer).json()["data"]
    assert "410" in shown["disabled_reason"]
    (attempt,) = deliveries(api, owner, hook["webhook_id"])
    assert (attempt["outcome"], attempt["status_code"], attempt["next_attempt_at"]) == ("FAILED", 410, None)
    # Disabled: another event is recorded but not sent.
    send_test(api, owner, hook["webhook_id"])
    assert until(lambda: len(deliveries(api, owner, hook["webhook_id"])) == 2)
    time.sleep(1)
    assert len(receivers.at("/gone")) == 1


def test_rotation_signs_with_both_secrets(api: Api, receivers: Receivers) -> None:
    owner = register_and_login(api, "hookrotate")
    hook = subscribe(api, owner, receivers, "/rotated", ["loan.created"])
    rotated = api.post(f"/v1/webhooks/{hook['webhook_id']}/rotate-secret", headers=owner.bearer)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["data"]["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != hook["secret"]
    receivers.secrets["/rotated"] = [hook["secret"], new_secret]
    send_test(api, owner, hook["webhook_id"])
    arrived = until(lambda: receivers.at("/rotated"))
    assert arrived[0].verified_with == [hook["secret"], new_secret]
    assert len(arrived[0].headers["webhook-signature"].split(" ")) == 2


def test_a_hanging_receiver_delays_no_other_subscriber(api: Api, receivers: Receivers) -> None:
    borrower = register_and_login(api, "hookhang")
    receivers.hanging.add("/hang")
    hanging = subscribe(api, borrower, receivers, "/hang", ["loan.created"])
    subscribe(api, borrower, receivers, "/prompt", ["loan.created"])
    started = time.monotonic()
    created = api.post(
        "/v1/loans", headers=borrower.bearer, json={"amount": "1000", "interest_rate": "5", "term_months": 12}
    )
    assert created.status_code == 201, created.text
    assert time.monotonic() - started < 5, "the API never waits for receivers"
    prompt = until(lambda: receivers.at("/prompt"), 20)
    assert prompt, "the prompt receiver got its delivery"
    assert receivers.at("/hang"), "both were sent"
    hang_started = receivers.at("/hang")[0].arrived
    # Delivered while the other receiver was still hanging (it answers only after HANG_S).
    assert prompt[0].arrived < hang_started + 10
    assert json.loads(prompt[0].body)["data"]["loan_id"] == created.json()["data"]["loan_id"]
    timed_out = until(
        lambda: [d for d in deliveries(api, borrower, hanging["webhook_id"]) if d["outcome"] != "PENDING"], 40
    )
    assert timed_out
    assert "15 s" in (timed_out[-1]["error"] or "")
    receivers.hanging.discard("/hang")


def test_events_reach_the_borrower_and_the_participating_lender_with_ids_and_amounts_only(
    api: Api, receivers: Receivers
) -> None:
    borrower, lender = register_and_login(api, "hookborrower"), register_and_login(api, "hooklender")
    stranger = register_and_login(api, "hookstranger")
    events = ["loan.created", "loan.funded", "participant.invited", "participant.accepted"]
    subscribe(api, borrower, receivers, "/borrower", events)
    subscribe(api, lender, receivers, "/lender", ["participant.accepted", "loan.funded"])
    subscribe(api, stranger, receivers, "/stranger", events)
    created = api.post(
        "/v1/loans",
        headers=borrower.bearer,
        json={
            "amount": "500",
            "interest_rate": "5",
            "term_months": 12,
            "lenders": [{"email": lender.email, "contribution_amount": "500"}],
        },
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    participant_id = loan["participants"][0]["participant_id"]
    assert until(lambda: len(receivers.at("/borrower")) >= 2)
    accepted = api.post(f"/v1/lender/invitations/{participant_id}/accept", headers=lender.bearer, json={"ach": ACH})
    assert accepted.status_code == 200, accepted.text

    def types(path: str) -> set[str]:
        return {json.loads(d.body)["type"] for d in receivers.at(path)}

    assert until(lambda: types("/borrower") == set(events), 30), types("/borrower")
    assert until(lambda: types("/lender") == {"participant.accepted", "loan.funded"}, 30), types("/lender")
    bodies = [d.body for d in [*receivers.at("/borrower"), *receivers.at("/lender")]]
    for body in bodies:
        assert lender.email not in body
        assert borrower.email not in body
        assert "0987654321" not in body
        assert json.loads(body)["data"]["loan_id"] == loan["loan_id"]
    funded = next(json.loads(b) for b in bodies if json.loads(b)["type"] == "loan.funded")
    assert funded["data"]["total_funded"] == "500.00"
    assert all(d.verified_with for d in [*receivers.at("/borrower"), *receivers.at("/lender")])
    time.sleep(1)
    assert receivers.at("/stranger") == []


def test_a_user_has_at_most_twenty_webhooks(api: Api, receivers: Receivers) -> None:
    # Unbounded, each loan an owner of many webhooks created was that many requests to one url.
    owner = register_and_login(api, "hookmany")
    made = [subscribe(api, owner, receivers, f"/many/{n}", ["loan.created"]) for n in range(20)]
    refused = api.post(
        "/v1/webhooks", headers=owner.bearer, json={"url": receivers.url("/many/x"), "events": ["loan.created"]}
    )
    assert_error_envelope(refused, 400, "VALIDATION_ERROR")
    assert api.request("DELETE", f"/v1/webhooks/{made[0]['webhook_id']}", headers=owner.bearer).status_code == 204
    subscribe(api, owner, receivers, "/many/again", ["loan.created"])
