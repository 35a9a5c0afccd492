"""The delivery sender over real sockets on loopback: it connects to the address it is given
(never resolving the url's host), keeps the url's host in Host, follows no redirect, gives up
after its timeout, and refuses to send a body without TLS to an https url."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lendbridge.data.webhook_sender import PinnedSender
from lendbridge.domain.webhook_rules import Target
from lendbridge.domain.webhooks import DeliveryFailed


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Recorder.seen.append((self.path, self.headers.get("Host", ""), body))
        if self.path == "/slow":
            time.sleep(3)
        status = {"/moved": 302, "/gone": 410}.get(self.path, 204)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[int]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


def _target(port: int, path: str) -> Target:
    # A host that cannot resolve: the request reaches the server only through the pinned address.
    return Target("http", "receiver.invalid", port, path)


def test_the_sender_posts_to_the_pinned_address_with_the_urls_host(server: int) -> None:
    status = PinnedSender().post(_target(server, "/in?x=1"), "127.0.0.1", {"webhook-id": "msg_1"}, b"{}", 5)
    assert status == 204
    assert Recorder.seen == [("/in?x=1", f"receiver.invalid:{server}", b"{}")]


def test_redirects_are_answers_not_followed(server: int) -> None:
    assert PinnedSender().post(_target(server, "/moved"), "127.0.0.1", {}, b"{}", 5) == 302
    assert [path for path, _, _ in Recorder.seen] == ["/moved"]


def test_a_slow_receiver_times_out_and_a_closed_port_fails(server: int) -> None:
    with pytest.raises(DeliveryFailed, match="No answer within 1 s"):
        PinnedSender().post(_target(server, "/slow"), "127.0.0.1", {}, b"{}", 1)
    with pytest.raises(DeliveryFailed, match="Connection failed"):
        PinnedSender().post(Target("http", "receiver.invalid", 1, "/"), "127.0.0.1", {}, b"{}", 1)


def test_https_checks_the_certificate_against_the_urls_host(server: int) -> None:
    # A plain-HTTP server behind an https url: the TLS handshake fails, nothing is sent in clear.
    with pytest.raises(DeliveryFailed):
        PinnedSender().post(Target("https", "receiver.invalid", server, "/"), "127.0.0.1", {}, b"secret-body", 2)
    assert all(body != b"secret-body" for _, _, body in Recorder.seen)
