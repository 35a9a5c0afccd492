"""When a sign-up is confirmed, the invitations sent to its email are claimed by a worker.

Claiming is O(invitations): done inline it would not fit Cognito's trigger budget (about 5 s)
for a user invited to many loans. The confirmation only hands the work on, in constant time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lendbridge.domain.ports import ClaimQueue

# Cognito's trigger source for a confirmed sign-up (ConfirmSignUp or AdminConfirmSignUp); a
# confirmed password reset (PostConfirmation_ConfirmForgotPassword) brings no new email.
CONFIRM_SIGN_UP = "PostConfirmation_ConfirmSignUp"


@dataclass(frozen=True)
class ClaimRequest:
    """A verified user's claim on the invitations sent to their email. The email travels only
    as the digest the store files invitations under, so no queue message or log holds it."""

    user_id: str
    email_digest: str
    full_name: str
    request_id: str


@dataclass
class SignUpConfirmations:
    queue: ClaimQueue

    def confirmed(self, trigger_source: str, attributes: Mapping[str, str], request_id: str) -> bool:
        """Hands the claiming on when a sign-up was confirmed with a verified email: only the
        owner of an address may receive what was sent to it. True if it was handed on."""
        if trigger_source != CONFIRM_SIGN_UP or attributes.get("email_verified") != "true":
            return False
        self.queue.hand_off(attributes["sub"], attributes["email"], attributes.get("name", ""), request_id)
        return True
