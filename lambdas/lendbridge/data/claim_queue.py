"""The claim worker's queue: one message per confirmed sign-up.

A message names the user and the SHA-256 digest of their email, which is how the main table
files invitations to unregistered emails; the address itself never enters the queue. This side
only writes the four fields it computed (with the standard library: the post-confirmation
trigger would otherwise load pydantic, about 55 ms of its cold start, for this alone); the worker
checks each message it reads (``lendbridge.data.claim_messages``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from lendbridge.data import keys
from lendbridge.domain.claims import ClaimRequest


class SqsClaimQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        request = ClaimRequest(
            user_id=user_id, email_digest=keys.email_digest(email), full_name=full_name, request_id=request_id
        )
        body = json.dumps(asdict(request), separators=(",", ":"), ensure_ascii=False)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)
