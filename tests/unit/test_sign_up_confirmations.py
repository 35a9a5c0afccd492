"""The post-confirmation rule on its own: only a confirmed sign-up with a verified email hands
the claiming on, with the name the user gave (an empty one when they gave none)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lendbridge.domain.claims import CONFIRM_SIGN_UP, SignUpConfirmations

VERIFIED = {"sub": "user-1", "email": "ada@example.com", "email_verified": "true", "name": "Ada"}


@dataclass
class RecordingQueue:
    handed_off: list[tuple[str, str, str, str]] = field(default_factory=list)

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        self.handed_off.append((user_id, email, full_name, request_id))


def test_a_verified_sign_up_is_handed_on_with_its_name() -> None:
    queue = RecordingQueue()
    assert SignUpConfirmations(queue).confirmed(CONFIRM_SIGN_UP, VERIFIED, "req-1") is True
    assert queue.handed_off == [("user-1", "ada@example.com", "Ada", "req-1")]


def test_a_sign_up_without_a_name_is_handed_on_with_an_empty_one() -> None:
    queue = RecordingQueue()
    nameless = {key: value for key, value in VERIFIED.items() if key != "name"}
    assert SignUpConfirmations(queue).confirmed(CONFIRM_SIGN_UP, nameless, "req-1") is True
    assert queue.handed_off == [("user-1", "ada@example.com", "", "req-1")]


def test_an_unverified_email_or_a_password_reset_hands_nothing_on() -> None:
    queue = RecordingQueue()
    confirmations = SignUpConfirmations(queue)
    assert confirmations.confirmed(CONFIRM_SIGN_UP, {**VERIFIED, "email_verified": "false"}, "req-1") is False
    assert confirmations.confirmed("PostConfirmation_ConfirmForgotPassword", VERIFIED, "req-1") is False
    assert queue.handed_off == []
