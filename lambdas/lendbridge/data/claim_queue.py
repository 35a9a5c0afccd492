"""The claim worker's queue: one message per confirmed sign-up.

A message names the user and the SHA-256 digest of their email, which is how the main table
files invitations to unregistered emails; the address itself never enters the queue.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lendbridge.data import keys
from lendbridge.domain.claims import ClaimRequest


class ClaimMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1)
    email_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    full_name: str
    request_id: str


class SqsClaimQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        message = ClaimMessage(
            user_id=user_id, email_digest=keys.email_digest(email), full_name=full_name, request_id=request_id
        )
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json())


def claim_request_of(body: str) -> ClaimRequest:
    """The request a queued message carries; a malformed message raises (and is retried, then
    parked on the dead-letter queue)."""
    message = ClaimMessage.model_validate_json(body)
    return ClaimRequest(
        user_id=message.user_id,
        email_digest=message.email_digest,
        full_name=message.full_name,
        request_id=message.request_id,
    )
