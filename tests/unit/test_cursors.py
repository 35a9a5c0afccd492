"""Pagination tokens are opaque, tamper-evident, and bound to their caller and list."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from lendbridge.data.cursors import SignedCursors
from lendbridge.errors import ValidationFailed

NOW = datetime(2026, 5, 1, tzinfo=UTC)
POSITION = {"pk": "LOAN#abc", "ik": "2026-05-01T00:00:00.000000Z#abc"}


def cursors(key: bytes = b"k" * 32, now: datetime = NOW) -> SignedCursors:
    return SignedCursors(lambda: key, lambda: now)


def test_round_trip_for_the_same_caller_and_list() -> None:
    token = cursors().encode("my-loans", "alice", POSITION)
    assert token is not None
    assert "LOAN#abc" not in token
    assert "alice" not in token
    assert cursors().decode("my-loans", "alice", token) == POSITION


def test_no_position_means_no_token() -> None:
    assert cursors().encode("my-loans", "alice", None) is None
    assert cursors().decode("my-loans", "alice", None) is None


def _tampered(token: str) -> str:
    version, payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["p"]["pk"] = "LOAN#someone-elses"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{mac}"


@pytest.mark.parametrize(
    ("describe", "mutate", "caller", "list_name"),
    [
        ("foreign caller", lambda t: t, "mallory", "my-loans"),
        ("other list", lambda t: t, "alice", "pending"),
        ("truncated", lambda t: t[:-5], "alice", "my-loans"),
        ("tampered payload", _tampered, "alice", "my-loans"),
        ("garbage", lambda t: "not-a-token", "alice", "my-loans"),
        ("raw base64 key", lambda t: base64.b64encode(b'{"PK":"LOAN#x"}').decode(), "alice", "my-loans"),
        ("empty", lambda t: "", "alice", "my-loans"),
        ("wrong version", lambda t: "v0" + t[2:], "alice", "my-loans"),
    ],
)
def test_invalid_tokens_are_refused(describe: str, mutate: object, caller: str, list_name: str) -> None:
    token = cursors().encode("my-loans", "alice", POSITION)
    with pytest.raises(ValidationFailed) as raised:
        cursors().decode(list_name, caller, mutate(token))  # type: ignore[operator]
    assert raised.value.message == "Invalid pagination token", describe
    assert raised.value.field_errors == {"next_token": ["Invalid pagination token"]}


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = cursors(key=b"other-key").encode("my-loans", "alice", POSITION)
    with pytest.raises(ValidationFailed):
        cursors().decode("my-loans", "alice", token)


def test_tokens_expire_after_a_day() -> None:
    token = cursors().encode("my-loans", "alice", POSITION)
    assert cursors(now=NOW + timedelta(hours=23)).decode("my-loans", "alice", token) == POSITION
    with pytest.raises(ValidationFailed):
        cursors(now=NOW + timedelta(hours=25)).decode("my-loans", "alice", token)
