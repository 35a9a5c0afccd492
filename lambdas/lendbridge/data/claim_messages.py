"""The claim worker's side of its queue: each message checked before it is acted on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lendbridge.domain.claims import ClaimRequest


class ClaimMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1)
    email_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    full_name: str
    request_id: str


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
